"""Building and reading `cadre.events.v1.Envelope`, and the trace context it carries."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf import any_pb2, symbol_database
from google.protobuf.message import DecodeError, Message
from opentelemetry import propagate
from opentelemetry.context import Context

from cadre.events.v1 import envelope_pb2


@dataclass(frozen=True)
class PendingEvent:
    """An event raised inside a unit of work, written to the outbox when it commits."""

    event_type: str
    entity: str
    envelope: bytes
    event_id: str
    occurred_at: datetime


def build_event(*, source: str, event_type: str, entity: str, payload: Message) -> PendingEvent:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    occurred_at = datetime.now(UTC)
    packed = any_pb2.Any()
    packed.Pack(payload)
    event_id = str(uuid.uuid4())
    envelope = envelope_pb2.Envelope(
        id=event_id,
        type=event_type,
        source=source,
        subject=entity,
        trace_context=carrier,
        payload=packed,
    )
    envelope.occurred_at.FromDatetime(occurred_at)
    return PendingEvent(event_type, entity, envelope.SerializeToString(), event_id, occurred_at)


class MalformedEvent(ValueError):
    """A message on the bus that is not a readable Cadre event; it gets parked."""


def parse_envelope(data: bytes) -> envelope_pb2.Envelope:
    envelope = envelope_pb2.Envelope()
    try:
        envelope.ParseFromString(data)
    except DecodeError as error:
        raise MalformedEvent(f"not a cadre.events.v1.Envelope: {error}") from None
    if not envelope.id or not envelope.type or not envelope.payload.type_url:
        raise MalformedEvent("envelope lacks id, type or payload")
    return envelope


def unpack_payload(envelope: envelope_pb2.Envelope) -> Message:
    """The payload as its generated message class (the contracts must be imported)."""
    full_name = envelope.payload.type_url.rsplit("/", 1)[-1]
    message_class = _payload_class(full_name)
    message = message_class()
    if not envelope.payload.Unpack(message):
        raise MalformedEvent(f"payload does not decode as {full_name}")
    return message


def _payload_class(full_name: str) -> type[Message]:
    """The class of `cadre.<svc>.v1.<Name>`, importing that package's events module on first use."""
    database = symbol_database.Default()
    try:
        return database.GetSymbol(full_name)  # type: ignore[no-any-return]
    except KeyError:
        pass
    package = full_name.rsplit(".", 1)[0]
    if package.startswith("cadre."):
        try:
            importlib.import_module(f"{package}.events_pb2")
            return database.GetSymbol(full_name)  # type: ignore[no-any-return]
        except (ImportError, KeyError):
            pass
    raise MalformedEvent(f"unknown payload type {full_name}")


def trace_context_of(envelope: envelope_pb2.Envelope) -> Context:
    return propagate.extract(dict(envelope.trace_context))


def subject_matches(filters: Sequence[str], subject: str) -> bool:
    """Whether a NATS subject matches any of the filters (`*` one token, `>` the rest); no
    filters match everything."""
    if not filters:
        return True
    tokens = subject.split(".")
    for pattern in filters:
        parts = pattern.split(".")
        for index, part in enumerate(parts):
            if part == ">":
                if len(tokens) > index:
                    return True
                break
            if index >= len(tokens) or (part != "*" and part != tokens[index]):
                break
        else:
            if len(parts) == len(tokens):
                return True
    return False
