"""Idempotent commands: a retried create with the same `request_id` returns the first answer.

The ledger row commits in the same transaction as the command's effect, so a command is
either done and remembered, or neither. The same id with a different request is
INVALID_ARGUMENT (RELIABILITY R10).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from cadre.chassis.db import Database, UnitOfWork
from cadre.chassis.errors import invalid_field
from cadre.chassis.tables import request_ledger

R = TypeVar("R", bound=Message)

_ATTEMPTS = 3


def fingerprint(request: Message) -> str:
    """A digest of the request without its request id: what "the same request" means."""
    stripped = type(request)()
    stripped.CopyFrom(request)
    if "request_id" in stripped.DESCRIPTOR.fields_by_name:
        stripped.ClearField("request_id")  # type: ignore[arg-type]
    return hashlib.sha256(stripped.SerializeToString(deterministic=True)).hexdigest()


def validate_request_id(request_id: str) -> None:
    try:
        uuid.UUID(request_id)
    except ValueError:
        raise invalid_field("request_id", "REQUEST_ID_MALFORMED", "must be a UUID") from None


def _remembered(
    connection: Connection, method: str, request_id: str, digest: str, response_type: type[R]
) -> R | None:
    row = connection.execute(
        select(request_ledger.c.fingerprint, request_ledger.c.response).where(
            request_ledger.c.method == method, request_ledger.c.request_id == request_id
        )
    ).first()
    if row is None:
        return None
    if row.fingerprint != digest:
        raise invalid_field("request_id", "REQUEST_ID_REUSED", "was already used for a different request")
    return response_type.FromString(row.response)


def run_idempotent(
    db: Database,
    *,
    method: str,
    request: Message,
    request_id: str,
    response_type: type[R],
    work: Callable[[UnitOfWork], R],
) -> R:
    """Runs `work` in one transaction, at most once per (method, request_id)."""
    if not request_id:
        with db.transaction() as unit:
            return work(unit)
    validate_request_id(request_id)
    digest = fingerprint(request)
    for attempt in range(_ATTEMPTS):
        try:
            with db.transaction() as unit:
                earlier = _remembered(unit.connection, method, request_id, digest, response_type)
                if earlier is not None:
                    return earlier
                response = work(unit)
                unit.connection.execute(
                    insert(request_ledger).values(
                        method=method,
                        request_id=request_id,
                        fingerprint=digest,
                        response=response.SerializeToString(),
                        created_at=datetime.now(UTC),
                    )
                )
                return response
        except IntegrityError:
            # A concurrent twin committed first (PostgreSQL lets both start): answer as it did.
            with db.reader() as connection:
                earlier = _remembered(connection, method, request_id, digest, response_type)
            if earlier is not None:
                return earlier
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")
