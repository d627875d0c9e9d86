"""A service's local copy of roster's authority facts, kept from roster's events.

Services that decide on delegated authority (leave approval, overtime, pay adjustments,
enrollment) run this projection in their own database through a durable consumer on
`CADRE_ROSTER` and call `LocalAuthority.authorize`, which evaluates the same policy as
roster's `Authorize` on the same grants: no call to roster, and it keeps working when
roster is down.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf.message import Message
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from cadre.authority.policy import Action, Amount, Decision, Grant, GrantBook, Limits
from cadre.chassis.consumer import NotYetKnown
from cadre.chassis.db import UnitOfWork, insert_if_absent
from cadre.chassis.tables import UtcDateTime
from cadre.events.v1 import envelope_pb2

MIGRATIONS = Path(__file__).parent / "migrations"
SUBJECTS = [
    "cadre.roster.v1.org_unit.created",
    "cadre.roster.v1.org_unit.moved",
    "cadre.roster.v1.employee.hired",
    "cadre.roster.v1.employee.updated",
    "cadre.roster.v1.employee.transferred",
    "cadre.roster.v1.employee.state_changed",
    "cadre.roster.v1.grant.created",
    "cadre.roster.v1.grant.revoked",
]
EMPLOYEE_HIRED = "cadre.roster.v1.employee.hired"
# Events that open an entity in a copy (only if absent): a consumer of roster's events passes
# them through a held event of the same entity, which may be waiting for exactly them. Every
# service applying `apply` gives these to its roster consumer (`add_consumer(opening_types=)`).
OPENING_TYPES = (EMPLOYEE_HIRED,)

metadata = MetaData()
org_paths = Table(
    "authority_org_units",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("path", String(200), nullable=False),
)
people = Table(
    "authority_employees",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_unit_id", String(36), nullable=False),
    Column("role", Integer, nullable=False),
    Column("state", Integer, nullable=False),
    # Roster's version of the record (the hire is 1): an older `employee.updated` arriving late
    # changes nothing (authority_0003).
    Column("version", Integer, nullable=False, server_default="1"),
)
grant_rows = Table(
    "authority_grants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("grantee", String(200), nullable=False),
    Column("action", Integer, nullable=False),
    Column("scope_path", String(200), nullable=False),
    Column("max_days", Integer, nullable=True),
    Column("max_minutes", Integer, nullable=True),
    Column("max_amount_minor", BigInteger, nullable=True),
    Column("valid_from", UtcDateTime(), nullable=False),
    Column("valid_until", UtcDateTime(), nullable=True),
    Column("parent_id", String(36), nullable=True),
    Column("depth", Integer, nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
)

# One row counting changes, so readers rebuild their in-memory snapshot only when it moved.
versions = Table(
    "authority_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", BigInteger, nullable=False),
)

ROLE_ADMIN = 8  # cadre.roster.v1.Employee.ROLE_ADMIN
STATE_TERMINATED = 4  # cadre.roster.v1.Employee.STATE_TERMINATED


def _id(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _upsert(connection: Connection, table: Table, values: dict[str, Any]) -> None:
    """Insert or replace by primary key: a redelivered or replayed event changes nothing."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    key = [c.name for c in table.primary_key.columns]
    statement = statement.on_conflict_do_update(
        index_elements=key, set_={k: v for k, v in values.items() if k not in key}
    )
    connection.execute(statement)


def require_person(connection: Connection, employee: str) -> None:
    """Raises `NotYetKnown` unless the copy holds the person (`employees/{id}`): a change to
    them arriving before their hire (the hire lost by the broker and re-published after it,
    R2, or re-published by reconciliation, R20) is retried until the hire is in, instead of
    changing nothing and counting as applied. Services that keep their own roster tables
    call `apply` first in the same transaction, so this one check covers their rows too (the
    hire writes both)."""
    if connection.execute(select(people.c.id).where(people.c.id == _id(employee))).first() is None:
        raise NotYetKnown(employee, EMPLOYEE_HIRED)


def apply(unit: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """The consumer handler: one roster event into the local copy."""
    c = unit.connection
    kind = envelope.type.removeprefix("cadre.roster.v1.")
    p: Any = payload
    if kind in ("employee.updated", "employee.transferred", "employee.state_changed"):
        require_person(c, p.employee)
    if (
        c.execute(update(versions).where(versions.c.id == 1).values(version=versions.c.version + 1)).rowcount
        == 0
    ):
        c.execute(versions.insert().values(id=1, version=1))
    if kind == "org_unit.created":
        path = "/" + "/".join(_id(n) for n in p.org_unit.path) + "/"
        _upsert(c, org_paths, {"id": _id(p.org_unit.name), "path": path})
    elif kind == "org_unit.moved":
        old = "/" + "/".join(_id(n) for n in p.old_path) + "/"
        new = "/" + "/".join(_id(n) for n in p.new_path) + "/"
        for table, column in ((org_paths, org_paths.c.path), (grant_rows, grant_rows.c.scope_path)):
            for row in c.execute(select(table.c.id, column).where(column.startswith(old))).all():
                c.execute(
                    update(table).where(table.c.id == row[0]).values({column.name: new + row[1][len(old) :]})
                )
    elif kind == "employee.hired":
        # The first version of the person: a copy arriving after a transfer, a role change or
        # a termination must not put the person back where the hire left them (R6, R16).
        insert_if_absent(
            c,
            people,
            {"id": _id(p.employee), "org_unit_id": _id(p.org_unit), "role": p.role, "state": 2, "version": 1},
        )
    elif kind == "employee.updated":
        # An older or the same version arriving late (re-published by reconciliation) changes
        # nothing: it would put back a role the person no longer has (R6, R16).
        c.execute(
            update(people)
            .where(people.c.id == _id(p.employee), people.c.version < p.version)
            .values(role=p.role, version=p.version)
        )
    elif kind == "employee.transferred":
        c.execute(update(people).where(people.c.id == _id(p.employee)).values(org_unit_id=_id(p.to_org_unit)))
    elif kind == "employee.state_changed":
        c.execute(update(people).where(people.c.id == _id(p.employee)).values(state=p.state))
    elif kind == "grant.created":
        g = p.grant
        _upsert(
            c,
            grant_rows,
            {
                "id": _id(g.name),
                "grantee": g.grantee,
                "action": g.action,
                "scope_path": "/" + "/".join(_id(n) for n in p.scope_path) + "/",
                "max_days": g.limits.max_days if g.limits.HasField("max_days") else None,
                "max_minutes": g.limits.max_minutes if g.limits.HasField("max_minutes") else None,
                "max_amount_minor": g.limits.max_amount_minor
                if g.limits.HasField("max_amount_minor")
                else None,
                "valid_from": g.valid_from.ToDatetime(tzinfo=UTC),
                "valid_until": g.valid_until.ToDatetime(tzinfo=UTC) if g.HasField("valid_until") else None,
                "parent_id": _id(g.parent_grant) if g.parent_grant else None,
                "depth": g.depth,
                "revoked_at": g.revoke_time.ToDatetime(tzinfo=UTC) if g.HasField("revoke_time") else None,
            },
        )
    elif kind == "grant.revoked":
        c.execute(
            update(grant_rows)
            .where(grant_rows.c.id == _id(p.grant))
            .values(revoked_at=p.revoke_time.ToDatetime(tzinfo=UTC))
        )


# Proto enum numbers of cadre.roster.v1.Action, in the policy's terms.
_ACTIONS = {index + 1: action for index, action in enumerate(Action)}


@dataclass(frozen=True)
class AuthoritySnapshot:
    """Everything a decision needs, in memory: grants, unit paths, people."""

    book: GrantBook
    unit_paths: dict[str, tuple[str, ...]]
    people: dict[str, tuple[str, int, int]]  # id -> (team id, role, state)
    version: int

    def path_of(self, target: str) -> tuple[str, ...] | None:
        """An org unit's or an employee's team's path, by resource name."""
        unit_id = _id(target)
        if target.startswith("employees/"):
            person = self.people.get(unit_id)
            if person is None:
                return None
            unit_id = person[0]
        return self.unit_paths.get(unit_id)

    def authorize(
        self, *, actor: str, action: Action, target: str, amount: Amount, moment: datetime
    ) -> Decision | None:
        """None when the target is not known here (yet)."""
        path = self.path_of(target)
        if path is None:
            return None
        person = self.people.get(_id(actor))
        is_admin = person is not None and person[1] == ROLE_ADMIN and person[2] != STATE_TERMINATED
        return self.book.authorize(
            actor=actor,
            action=action,
            target_path=path,
            amount=amount,
            moment=moment,
            is_administrator=is_admin,
        )


def _version(connection: Connection) -> int:
    return int(connection.execute(select(versions.c.version).where(versions.c.id == 1)).scalar() or 0)


def load_snapshot(connection: Connection) -> AuthoritySnapshot:
    book = GrantBook(
        Grant(
            id=row.id,
            grantee=row.grantee,
            action=_ACTIONS[row.action],
            scope_path=tuple(row.scope_path.strip("/").split("/")),
            limits=Limits(row.max_days, row.max_minutes, row.max_amount_minor),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            parent_id=row.parent_id,
            depth=row.depth,
            granted_by="",
            reason="",
            revoked_at=row.revoked_at,
        )
        for row in connection.execute(select(grant_rows))
    )
    paths = {row.id: tuple(row.path.strip("/").split("/")) for row in connection.execute(select(org_paths))}
    persons = {row.id: (row.org_unit_id, row.role, row.state) for row in connection.execute(select(people))}
    return AuthoritySnapshot(book, paths, persons, _version(connection))


class LocalAuthority:
    """Decides from the local copy with the policy roster uses, reloading only after changes."""

    def __init__(self) -> None:
        self._snapshot: AuthoritySnapshot | None = None
        self._lock = threading.Lock()

    def snapshot(self, connection: Connection) -> AuthoritySnapshot:
        version = _version(connection)
        with self._lock:
            if self._snapshot is None or self._snapshot.version != version:
                self._snapshot = load_snapshot(connection)
            return self._snapshot

    def authorize(
        self,
        connection: Connection,
        *,
        actor: str,
        action: Action,
        target: str,
        amount: Amount,
        moment: datetime,
    ) -> Decision | None:
        return self.snapshot(connection).authorize(
            actor=actor, action=action, target=target, amount=amount, moment=moment
        )
