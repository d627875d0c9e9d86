"""Roster repositories over SQLAlchemy Core. They never commit: the unit of work does.

A save names the version it read; a row changed meanwhile is ABORTED, never overwritten
(RELIABILITY R11).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, exists, func, insert, or_, select, update

from cadre.authority.policy import Action, Grant, Limits
from cadre.chassis.db import UnitOfWork
from cadre.chassis.errors import aborted
from cadre.roster.adapters import event_mapping
from cadre.roster.adapters.tables import employees, grants, org_units, transfers
from cadre.roster.domain.employee import (
    AvailabilityException,
    AvailabilityWindow,
    Contract,
    Employee,
    EmployeeState,
    EmploymentType,
    OnboardingTask,
    PositionKind,
    Role,
    ScheduledChange,
    Skill,
    VirtualPosition,
)
from cadre.roster.domain.events import RosterEvent
from cadre.roster.domain.org_unit import OrgUnit, OrgUnitKind
from cadre.roster.domain.transfer import Transfer, TransferState


def _path_text(path: Sequence[str]) -> str:
    return "/" + "/".join(path) + "/"


def _path(text: str) -> tuple[str, ...]:
    return tuple(text.strip("/").split("/"))


def _unit_from_row(row: Row) -> OrgUnit:
    return OrgUnit(
        id=row.id,
        display_name=row.display_name,
        kind=OrgUnitKind(row.kind),
        parent_id=row.parent_id,
        time_zone=row.time_zone,
        site=row.site,
        path=_path(row.path),
        created_at=row.created_at,
        version=row.version,
    )


def _windows(items: list[list[int]]) -> tuple[AvailabilityWindow, ...]:
    return tuple(AvailabilityWindow(*item) for item in items)


def _employee_from_row(row: Row) -> Employee:
    return Employee(
        id=row.id,
        display_name=row.display_name,
        org_unit_id=row.org_unit_id,
        role=Role(row.role),
        employment_type=EmploymentType(row.employment_type),
        contract=Contract(
            row.min_weekly_minutes,
            row.max_weekly_minutes,
            row.max_consecutive_days,
            row.min_rest_minutes,
            row.days_off_per_week,
        ),
        skills=tuple(
            Skill(
                s["code"],
                s["level"],
                date.fromisoformat(s["expire"]) if s.get("expire") else None,
                s.get("source", ""),
            )
            for s in json.loads(row.skills)
        ),
        hire_date=row.hire_date,
        state=EmployeeState(row.state),
        employee_number=row.employee_number or "",
        created_at=row.created_at,
        version=row.version,
        availability=_windows(json.loads(row.availability)),
        availability_exceptions=tuple(
            AvailabilityException(date.fromisoformat(e["date"]), _windows(e["windows"]))
            for e in json.loads(row.availability_exceptions)
        ),
        virtual_positions=tuple(
            VirtualPosition(
                PositionKind(p["kind"]),
                Decimal(p["fte"]),
                date.fromisoformat(p["start"]),
                date.fromisoformat(p["end"]) if p.get("end") else None,
            )
            for p in json.loads(row.virtual_positions)
        ),
        seniority_date=row.seniority_date,
        termination_date=row.termination_date,
        onboarding=tuple(OnboardingTask(t["task"], t["done"]) for t in json.loads(row.onboarding)),
        scheduled=ScheduledChange(EmployeeState(row.scheduled_state), row.scheduled_date)
        if row.scheduled_state
        else None,
    )


def _employee_values(employee: Employee) -> dict[str, Any]:
    c = employee.contract
    return {
        "display_name": employee.display_name,
        "org_unit_id": employee.org_unit_id,
        "role": employee.role.value,
        "employment_type": employee.employment_type.value,
        "min_weekly_minutes": c.min_weekly_minutes,
        "max_weekly_minutes": c.max_weekly_minutes,
        "max_consecutive_days": c.max_consecutive_days,
        "min_rest_minutes": c.min_rest_minutes,
        "days_off_per_week": c.days_off_per_week,
        "skills": json.dumps(
            [
                {
                    "code": s.code,
                    "level": s.level,
                    "expire": s.expire_date.isoformat() if s.expire_date else None,
                    "source": s.source,
                }
                for s in employee.skills
            ]
        ),
        "hire_date": employee.hire_date,
        "state": employee.state.value,
        "employee_number": employee.employee_number or None,
        "version": employee.version,
        "availability": json.dumps([[w.day, w.start_minute, w.end_minute] for w in employee.availability]),
        "availability_exceptions": json.dumps(
            [
                {
                    "date": e.on.isoformat(),
                    "windows": [[w.day, w.start_minute, w.end_minute] for w in e.windows],
                }
                for e in employee.availability_exceptions
            ]
        ),
        "virtual_positions": json.dumps(
            [
                {
                    "kind": p.kind.value,
                    "fte": str(p.fte_share),
                    "start": p.start_date.isoformat(),
                    "end": p.end_date.isoformat() if p.end_date else None,
                }
                for p in employee.virtual_positions
            ]
        ),
        "seniority_date": employee.seniority_date,
        "termination_date": employee.termination_date,
        "onboarding": json.dumps([{"task": t.task, "done": t.done} for t in employee.onboarding]),
        "scheduled_state": employee.scheduled.state.value if employee.scheduled else None,
        "scheduled_date": employee.scheduled.effective_date if employee.scheduled else None,
    }


def _save(
    connection: Connection, table: Any, key: str, values: dict[str, Any], expected_version: int
) -> None:
    result = connection.execute(
        update(table).where(table.c.id == key, table.c.version == expected_version).values(**values)
    )
    if result.rowcount != 1:
        raise aborted("CONCURRENT_MODIFICATION", "the record changed meanwhile; read it again", id=key)


class SqlOrgUnits:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, unit_id: str) -> OrgUnit | None:
        row = self._c.execute(select(org_units).where(org_units.c.id == unit_id)).first()
        return _unit_from_row(row) if row else None

    def add(self, unit: OrgUnit) -> None:
        self._c.execute(
            insert(org_units).values(
                id=unit.id,
                display_name=unit.display_name,
                kind=unit.kind.value,
                parent_id=unit.parent_id,
                time_zone=unit.time_zone,
                site=unit.site,
                path=_path_text(unit.path),
                created_at=unit.created_at,
                version=unit.version,
            )
        )

    def save(self, unit: OrgUnit, *, expected_version: int) -> None:
        values = {
            "display_name": unit.display_name,
            "time_zone": unit.time_zone,
            "site": unit.site,
            "parent_id": unit.parent_id,
            "path": _path_text(unit.path),
            "version": unit.version,
        }
        _save(self._c, org_units, unit.id, values, expected_version)

    def move_subtree(self, *, old_path: tuple[str, ...], new_path: tuple[str, ...]) -> None:
        """Every path below the moved unit, and every grant scoped there, follows it."""
        old, new = _path_text(old_path), _path_text(new_path)
        for table, column in ((org_units, org_units.c.path), (grants, grants.c.scope_path)):
            rows = self._c.execute(select(table.c.id, column).where(column.startswith(old))).all()
            for row in rows:
                values: dict[str, Any] = {column.name: new + row[1][len(old) :]}
                if table is grants:
                    values["change_seq"] = _change_seq()
                self._c.execute(update(table).where(table.c.id == row[0]).values(**values))

    def list(self, *, parent_id: str | None, after: str | None, limit: int) -> Sequence[OrgUnit]:
        query = select(org_units).order_by(org_units.c.id).limit(limit)
        if parent_id:
            query = query.where(org_units.c.parent_id == parent_id)
        if after:
            query = query.where(org_units.c.id > after)
        return [_unit_from_row(row) for row in self._c.execute(query)]


class SqlEmployees:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, employee_id: str) -> Employee | None:
        row = self._c.execute(select(employees).where(employees.c.id == employee_id)).first()
        return _employee_from_row(row) if row else None

    def number_taken(self, employee_number: str, *, other_than: str = "") -> bool:
        condition = employees.c.employee_number == employee_number
        if other_than:
            condition = condition & (employees.c.id != other_than)
        return bool(self._c.execute(select(exists().where(condition))).scalar())

    def onboarding_due(self, *, limit: int) -> Sequence[Employee]:
        # Hire dates are compared in each team's time zone by the caller; a day of slack here.
        horizon = date.fromordinal(datetime.now(UTC).date().toordinal() + 1)
        query = (
            select(employees)
            .where(employees.c.state == EmployeeState.ONBOARDING.value, employees.c.hire_date <= horizon)
            # People still waiting on a checklist task are not due (the JSON is ours: json.dumps).
            .where(employees.c.onboarding.not_like('%"done": false%'))
            .order_by(employees.c.hire_date, employees.c.id)
            .limit(limit)
        )
        return [_employee_from_row(row) for row in self._c.execute(query)]

    def scheduled_due(self, *, limit: int) -> Sequence[Employee]:
        horizon = date.fromordinal(datetime.now(UTC).date().toordinal() + 1)
        query = (
            select(employees)
            .where(employees.c.scheduled_date.is_not(None), employees.c.scheduled_date <= horizon)
            .order_by(employees.c.scheduled_date, employees.c.id)
            .limit(limit)
        )
        return [_employee_from_row(row) for row in self._c.execute(query)]

    def add(self, employee: Employee) -> None:
        self._c.execute(
            insert(employees).values(
                id=employee.id, created_at=employee.created_at, **_employee_values(employee)
            )
        )

    def save(self, employee: Employee, *, expected_version: int) -> None:
        _save(self._c, employees, employee.id, _employee_values(employee), expected_version)

    def list(
        self,
        *,
        within: OrgUnit | None,
        visible: list[tuple[str, ...]] | None,
        after: str | None,
        limit: int,
    ) -> Sequence[Employee]:
        query = select(employees).order_by(employees.c.id).limit(limit)
        prefixes = [within.path] if within is not None else []
        if visible is not None:
            if not visible:
                return []
            prefixes = prefixes or visible
        if prefixes:
            # Scoped to subtrees: the teams whose path starts with one of the prefixes.
            teams = select(org_units.c.id).where(
                or_(*(org_units.c.path.startswith(_path_text(p)) for p in prefixes))
            )
            query = query.where(employees.c.org_unit_id.in_(teams))
        if after:
            query = query.where(employees.c.id > after)
        return [_employee_from_row(row) for row in self._c.execute(query)]


def _transfer_from_row(row: Row) -> Transfer:
    return Transfer(
        id=row.id,
        employee_id=row.employee_id,
        from_org_unit_id=row.from_org_unit_id,
        to_org_unit_id=row.to_org_unit_id,
        effective_date=row.effective_date,
        reason=row.reason,
        state=TransferState(row.state),
        requested_by=row.requested_by,
        created_at=row.created_at,
        decided_by=row.decided_by,
        rejection_reason=row.rejection_reason,
        completed_at=row.completed_at,
        version=row.version,
    )


def _transfer_values(transfer: Transfer) -> dict[str, Any]:
    return {
        "state": transfer.state.value,
        "decided_by": transfer.decided_by,
        "rejection_reason": transfer.rejection_reason,
        "completed_at": transfer.completed_at,
        "version": transfer.version,
    }


class SqlTransfers:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, transfer_id: str) -> Transfer | None:
        row = self._c.execute(select(transfers).where(transfers.c.id == transfer_id)).first()
        return _transfer_from_row(row) if row else None

    def add(self, transfer: Transfer) -> None:
        self._c.execute(
            insert(transfers).values(
                id=transfer.id,
                employee_id=transfer.employee_id,
                from_org_unit_id=transfer.from_org_unit_id,
                to_org_unit_id=transfer.to_org_unit_id,
                effective_date=transfer.effective_date,
                reason=transfer.reason,
                requested_by=transfer.requested_by,
                created_at=transfer.created_at,
                **_transfer_values(transfer),
            )
        )

    def save(self, transfer: Transfer, *, expected_version: int) -> None:
        _save(self._c, transfers, transfer.id, _transfer_values(transfer), expected_version)

    def due(self, *, limit: int) -> Sequence[Transfer]:
        # Dates are compared in each new team's time zone by the caller; a day of slack here.
        horizon = datetime.now(UTC).date().toordinal() + 1
        query = (
            select(transfers)
            .where(transfers.c.state == TransferState.SCHEDULED.value)
            .where(transfers.c.effective_date <= date.fromordinal(horizon))
            .order_by(transfers.c.effective_date, transfers.c.id)
            .limit(limit)
        )
        return [_transfer_from_row(row) for row in self._c.execute(query)]

    def list(
        self, *, employee_id: str | None, state: TransferState | None, after: str | None, limit: int
    ) -> Sequence[Transfer]:
        query = select(transfers).order_by(transfers.c.id).limit(limit)
        if employee_id:
            query = query.where(transfers.c.employee_id == employee_id)
        if state is not None:
            query = query.where(transfers.c.state == state.value)
        if after:
            query = query.where(transfers.c.id > after)
        return [_transfer_from_row(row) for row in self._c.execute(query)]


def grant_from_row(row: Row) -> Grant:
    return Grant(
        id=row.id,
        grantee=row.grantee,
        action=Action(row.action),
        scope_path=_path(row.scope_path),
        limits=Limits(row.max_days, row.max_minutes, row.max_amount_minor),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        parent_id=row.parent_id,
        depth=row.depth,
        granted_by=row.granted_by,
        reason=row.reason,
        revoked_at=row.revoked_at,
    )


def _change_seq() -> int:
    # Monotonic across processes (nanoseconds): readers reload when the maximum moves.
    return time.time_ns()


class SqlGrants:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, grant_id: str) -> Grant | None:
        row = self._c.execute(select(grants).where(grants.c.id == grant_id)).first()
        return grant_from_row(row) if row else None

    def chain_of(self, grant_id: str) -> list[Grant]:
        """The grant and every grant above it (a few rows: depth is bounded)."""
        chain: list[Grant] = []
        next_id: str | None = grant_id
        while next_id is not None and len(chain) < 16:
            grant = self.get(next_id)
            if grant is None:
                break
            chain.append(grant)
            next_id = grant.parent_id
        return chain

    def add(self, grant: Grant) -> None:
        self._c.execute(
            insert(grants).values(
                id=grant.id,
                grantee=grant.grantee,
                action=grant.action.value,
                scope_path=_path_text(grant.scope_path),
                max_days=grant.limits.max_days,
                max_minutes=grant.limits.max_minutes,
                max_amount_minor=grant.limits.max_amount_minor,
                valid_from=grant.valid_from,
                valid_until=grant.valid_until,
                parent_id=grant.parent_id,
                depth=grant.depth,
                granted_by=grant.granted_by,
                reason=grant.reason,
                revoked_at=grant.revoked_at,
                created_at=datetime.now(UTC),
                change_seq=_change_seq(),
            )
        )

    def save(self, grant: Grant) -> None:
        # Only revocation changes a grant.
        self._c.execute(
            update(grants)
            .where(grants.c.id == grant.id)
            .values(revoked_at=grant.revoked_at, change_seq=_change_seq())
        )

    def list(
        self, *, grantee: str | None, related_to: str | None, after: str | None, limit: int
    ) -> Sequence[Grant]:
        query = select(grants).order_by(grants.c.id).limit(limit)
        if grantee:
            query = query.where(grants.c.grantee == grantee)
        if related_to:
            query = query.where(or_(grants.c.grantee == related_to, grants.c.granted_by == related_to))
        if after:
            query = query.where(grants.c.id > after)
        return [grant_from_row(row) for row in self._c.execute(query)]


def grant_book_version(connection: Connection) -> tuple[int, int]:
    row = connection.execute(select(func.count(), func.max(grants.c.change_seq)).select_from(grants)).one()
    return int(row[0]), int(row[1] or 0)


def all_grants(connection: Connection) -> list[Grant]:
    return [grant_from_row(row) for row in connection.execute(select(grants))]


class SqlRosterUnit:
    """The roster's view of one chassis unit of work."""

    def __init__(self, unit: UnitOfWork) -> None:
        self._unit = unit
        self.org_units = SqlOrgUnits(unit.connection)
        self.employees = SqlEmployees(unit.connection)
        self.transfers = SqlTransfers(unit.connection)
        self.grants = SqlGrants(unit.connection)

    def record(self, event: RosterEvent, *, acting_under: str = "") -> None:
        for publication in event_mapping.publications(event):
            self._unit.publish(
                event_type=publication.event_type, entity=publication.entity, payload=publication.payload
            )
        for entry in event_mapping.audit_entries(event):
            self._unit.audit(
                action=entry.action,
                entity=entry.entity,
                before=entry.before,
                after=entry.after,
                acting_under=acting_under,
            )


class SqlRosterReader:
    """Read-only repositories over a plain connection (no unit of work, nothing recorded)."""

    def __init__(self, connection: Connection) -> None:
        self.org_units = SqlOrgUnits(connection)
        self.employees = SqlEmployees(connection)
        self.transfers = SqlTransfers(connection)
        self.grants = SqlGrants(connection)

    def record(self, event: RosterEvent, *, acting_under: str = "") -> None:
        raise RuntimeError("a read-only view records nothing")
