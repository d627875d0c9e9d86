"""A service's local copy of roster's authority facts, kept from roster's events.

Services that decide on delegated authority (leave approval, overtime, pay adjustments,
enrollment) run this projection in their own database through a durable consumer on
`CADRE_ROSTER` and call `LocalAuthority.authorize`, which evaluates the same policy as
roster's `Authorize` on the same grants: no call to roster, and it keeps working when
roster is down.

Roster's events reach the copy in any order a broker outage, a replay or reconciliation brings
(R6): creations (`OPENING_TYPES`) only insert what is absent, so a late copy of a grant cannot
put a revoked grant back in force nor a unit back where it was before a move; a change before
its entity's creation raises `NotYetKnown` and waits for it; paths follow the copy's own tree.
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
ORG_UNIT_CREATED = "cadre.roster.v1.org_unit.created"
GRANT_CREATED = "cadre.roster.v1.grant.created"
ORG_UNIT_MOVED = "cadre.roster.v1.org_unit.moved"
# Events that open an entity in a copy (only if absent): a consumer of roster's events passes
# them through a held event of the same entity, which may be waiting for exactly them. Every
# service applying `apply` gives these to its roster consumer (`add_consumer(opening_types=)`).
OPENING_TYPES = (EMPLOYEE_HIRED, ORG_UNIT_CREATED, GRANT_CREATED)

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


def require_person(connection: Connection, employee: str) -> None:
    """Raises `NotYetKnown` unless the copy holds the person (`employees/{id}`): a change to
    them arriving before their hire (the hire lost by the broker and re-published after it,
    R2, or re-published by reconciliation, R20) is retried until the hire is in, instead of
    changing nothing and counting as applied. Services that keep their own roster tables
    call `apply` first in the same transaction, so this one check covers their rows too (the
    hire writes both)."""
    if connection.execute(select(people.c.id).where(people.c.id == _id(employee))).first() is None:
        raise NotYetKnown(employee, EMPLOYEE_HIRED)


def require_org_unit(connection: Connection, org_unit: str) -> None:
    """Raises `NotYetKnown` unless the copy holds the unit (`orgUnits/{id}`): a move or a change
    of it arriving before its creation waits for it instead of changing nothing (the services'
    own copies of the unit, written in the same transaction, are covered by this check too)."""
    if connection.execute(select(org_paths.c.id).where(org_paths.c.id == _id(org_unit))).first() is None:
        raise NotYetKnown(org_unit, ORG_UNIT_CREATED)


def require_grant(connection: Connection, grant: str) -> None:
    """Raises `NotYetKnown` unless the copy holds the grant (`grants/{id}`): a revocation arriving
    before the grant's creation must not count as applied, or the creation would then put the
    grant in force (R16)."""
    if connection.execute(select(grant_rows.c.id).where(grant_rows.c.id == _id(grant))).first() is None:
        raise NotYetKnown(grant, GRANT_CREATED)


def require_earlier_moves(connection: Connection, moved: Any) -> None:
    """Raises `NotYetKnown` unless the copy holds the unit (of an `OrgUnitMovedEvent`) under the
    parent the move takes it from: otherwise an earlier move of the unit is still to come (lost
    by the broker and re-published after this one, R2, R20), and applying this one first would
    leave the unit where the earlier one takes it. Moves of its ancestors (other entities) do
    not change its parent, so they do not stop it."""
    if len(moved.old_path) < 2:
        return
    held = unit_path(connection, moved.org_unit.name)
    parent = _id(moved.old_path[-2])
    if held is not None and held.strip("/").split("/")[-2:-1] != [parent]:
        raise NotYetKnown(
            moved.org_unit.name, f"{ORG_UNIT_MOVED} to orgUnits/{parent}, published before this one"
        )


def unit_path(connection: Connection, org_unit: str) -> str | None:
    """The copy's path of a unit (`orgUnits/{id}`), as moved since: None when not held."""
    if not org_unit:
        return None
    return connection.execute(select(org_paths.c.path).where(org_paths.c.id == _id(org_unit))).scalar()


def _rewrite_subtree(connection: Connection, column: Column[str], old: str, new: str) -> None:
    """Every path in `column` beginning with `old` begins with `new` instead."""
    table = column.table
    for row in connection.execute(select(table.c.id, column).where(column.startswith(old))).all():
        connection.execute(
            update(table).where(table.c.id == row[0]).values({column.name: new + row[1][len(old) :]})
        )


def copy_org_unit(
    connection: Connection, kind: str, payload: Any, table: Table, values: dict[str, Any]
) -> None:
    """A service's own copy of roster's org units (`table` with `id` and `path`, plus `values`
    from the event), kept after `apply` in the same transaction and in step with its paths:
    the creation inserts only if absent (a late copy after a move or a change puts nothing old
    back, R6), a change (`org_unit.updated`) writes `values`, a move takes the unit's subtree
    from where this table holds it to where the authority copy now does. `kind` is the event
    type without `cadre.roster.v1.`; other kinds change nothing here."""
    if kind not in ("org_unit.created", "org_unit.updated", "org_unit.moved"):
        return
    unit_id = _id(payload.org_unit.name)
    path = (
        unit_path(connection, payload.org_unit.name)
        or "/" + "/".join(_id(n) for n in payload.org_unit.path) + "/"
    )
    if kind == "org_unit.created":
        insert_if_absent(connection, table, {"id": unit_id, "path": path, **values})
    elif kind == "org_unit.updated":
        # Ordered after the unit's creation (same entity, R6) and held until it is here.
        if not connection.execute(update(table).where(table.c.id == unit_id).values(values)).rowcount:
            insert_if_absent(connection, table, {"id": unit_id, "path": path, **values})
    else:
        held = connection.execute(select(table.c.path).where(table.c.id == unit_id)).scalar()
        old = held or "/" + "/".join(_id(n) for n in payload.old_path) + "/"
        _rewrite_subtree(connection, table.c.path, old, path)


def apply(unit: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """The consumer handler: one roster event into the local copy."""
    c = unit.connection
    kind = envelope.type.removeprefix("cadre.roster.v1.")
    p: Any = payload
    if kind in ("employee.updated", "employee.transferred", "employee.state_changed"):
        require_person(c, p.employee)
    elif kind in ("org_unit.moved", "org_unit.updated"):  # `updated`: the services' copies of the unit
        require_org_unit(c, p.org_unit.name)
        if kind == "org_unit.moved":
            require_earlier_moves(c, p)
    elif kind == "grant.revoked":
        require_grant(c, p.grant)
    if (
        c.execute(update(versions).where(versions.c.id == 1).values(version=versions.c.version + 1)).rowcount
        == 0
    ):
        c.execute(versions.insert().values(id=1, version=1))
    if kind == "org_unit.created":
        # The unit's first version, only if absent: a copy arriving after a move must not put
        # the old path back (R6). Under a parent the copy holds, the path is the parent's path
        # here (moves applied since included) rather than the one the event was published with:
        # a creation arriving after a move of an ancestor (another entity, so in no fixed order
        # with it) still lands where the ancestor now is, and a move not applied yet still finds
        # it by the old prefix.
        unit_id = _id(p.org_unit.name)
        parent = unit_path(c, p.org_unit.parent)
        path = (
            parent + unit_id + "/"
            if parent is not None
            else "/" + "/".join(_id(n) for n in p.org_unit.path) + "/"
        )
        insert_if_absent(c, org_paths, {"id": unit_id, "path": path})
    elif kind == "org_unit.moved":
        # The unit and its subtree, with the grants scoped in it, from where the copy holds the
        # unit to under where it holds the new parent: moves of different units (different
        # entities, in no fixed order) then leave the tree roster has once all are applied.
        # The event's own paths stand in for a parent the copy does not hold.
        unit_id = _id(p.org_unit.name)
        old = unit_path(c, p.org_unit.name) or "/" + "/".join(_id(n) for n in p.old_path) + "/"
        parent = unit_path(c, p.org_unit.parent)
        new = (
            parent + unit_id + "/" if parent is not None else "/" + "/".join(_id(n) for n in p.new_path) + "/"
        )
        for column in (org_paths.c.path, grant_rows.c.scope_path):
            _rewrite_subtree(c, column, old, new)
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
        # The grant's first version, only if absent: a copy arriving after its revocation must
        # not put it back in force (R16), nor one arriving after a move the old scope path (R6).
        # The scope's path is the copy's own when it holds the unit, for the reason a unit's is.
        g = p.grant
        scope_path = unit_path(c, g.scope) or "/" + "/".join(_id(n) for n in p.scope_path) + "/"
        insert_if_absent(
            c,
            grant_rows,
            {
                "id": _id(g.name),
                "grantee": g.grantee,
                "action": g.action,
                "scope_path": scope_path,
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
        # Only the first revocation counts: a grant is revoked once, from then on.
        c.execute(
            update(grant_rows)
            .where(grant_rows.c.id == _id(p.grant), grant_rows.c.revoked_at.is_(None))
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
    paths = {row.id: tuple(row.path.strip("/").split("/")) for row in connection.execute(select(org_paths))}

    def scope(stored: str) -> tuple[str, ...]:
        # The scope unit's path as the copy holds it now; the stored one only while the unit
        # is not here (a grant copied before its unit): both follow the same moves.
        held = tuple(stored.strip("/").split("/"))
        return paths.get(held[-1], held)

    book = GrantBook(
        Grant(
            id=row.id,
            grantee=row.grantee,
            action=_ACTIONS[row.action],
            scope_path=scope(row.scope_path),
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
