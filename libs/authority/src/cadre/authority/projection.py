"""A service's local copy of roster's authority facts, kept from roster's events.

Services that decide on delegated authority (leave approval, overtime, pay adjustments,
enrollment) run this projection in their own database through a durable consumer on
`CADRE_ROSTER` and call `LocalAuthority.authorize`, which evaluates the same policy as
roster's `Authorize` on the same grants: no call to roster, and it keeps working when
roster is down.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf.message import Message
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from cadre.authority.policy import Action, Amount, Decision, Grant, GrantBook, Limits
from cadre.chassis.db import UnitOfWork
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
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=True),
    Column("parent_id", String(36), nullable=True),
    Column("depth", Integer, nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
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


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def apply(unit: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """The consumer handler: one roster event into the local copy."""
    c = unit.connection
    kind = envelope.type.removeprefix("cadre.roster.v1.")
    p: Any = payload
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
        _upsert(
            c, people, {"id": _id(p.employee), "org_unit_id": _id(p.org_unit), "role": p.role, "state": 2}
        )
    elif kind == "employee.updated":
        c.execute(update(people).where(people.c.id == _id(p.employee)).values(role=p.role))
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


class LocalAuthority:
    """Decides from the local copy with the policy roster uses."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def _book(self) -> GrantBook:
        return GrantBook(
            Grant(
                id=row.id,
                grantee=row.grantee,
                action=_ACTIONS[row.action],
                scope_path=tuple(row.scope_path.strip("/").split("/")),
                limits=Limits(row.max_days, row.max_minutes, row.max_amount_minor),
                valid_from=_aware(row.valid_from),  # type: ignore[arg-type]
                valid_until=_aware(row.valid_until),
                parent_id=row.parent_id,
                depth=row.depth,
                granted_by="",
                reason="",
                revoked_at=_aware(row.revoked_at),
            )
            for row in self._c.execute(select(grant_rows))
        )

    def path_of(self, target: str) -> Sequence[str] | None:
        """An org unit's or an employee's team's path, by resource name."""
        unit_id = _id(target)
        if target.startswith("employees/"):
            row = self._c.execute(select(people.c.org_unit_id).where(people.c.id == unit_id)).first()
            if row is None:
                return None
            unit_id = row.org_unit_id
        path = self._c.execute(select(org_paths.c.path).where(org_paths.c.id == unit_id)).scalar()
        return tuple(path.strip("/").split("/")) if path else None

    def authorize(
        self, *, actor: str, action: Action, target: str, amount: Amount, moment: datetime
    ) -> Decision | None:
        """None when the target is not known here (yet)."""
        path = self.path_of(target)
        if path is None:
            return None
        person = self._c.execute(select(people).where(people.c.id == _id(actor))).first()
        is_admin = person is not None and person.role == ROLE_ADMIN and person.state != STATE_TERMINATED
        return self._book().authorize(
            actor=actor,
            action=action,
            target_path=path,
            amount=amount,
            moment=moment,
            is_administrator=is_admin,
        )
