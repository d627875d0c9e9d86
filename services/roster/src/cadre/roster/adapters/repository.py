"""Roster repositories over SQLAlchemy Core. They never commit: the unit of work does."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Row, exists, insert, select

from cadre.chassis.db import UnitOfWork
from cadre.roster.adapters import event_mapping
from cadre.roster.adapters.tables import employees, org_units
from cadre.roster.domain.employee import (
    Contract,
    Employee,
    EmployeeState,
    EmploymentType,
    Role,
    Skill,
)
from cadre.roster.domain.events import RosterEvent
from cadre.roster.domain.org_unit import OrgUnit, OrgUnitKind


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _unit_from_row(row: Row) -> OrgUnit:
    return OrgUnit(
        id=row.id,
        display_name=row.display_name,
        kind=OrgUnitKind(row.kind),
        parent_id=row.parent_id,
        time_zone=row.time_zone,
        site=row.site,
        path=tuple(row.path.strip("/").split("/")),
        created_at=_aware(row.created_at),
        version=row.version,
    )


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
            Skill(s["code"], s["level"], date.fromisoformat(s["expire"]) if s.get("expire") else None)
            for s in json.loads(row.skills)
        ),
        hire_date=row.hire_date,
        state=EmployeeState(row.state),
        employee_number=row.employee_number or "",
        created_at=_aware(row.created_at),
        version=row.version,
    )


def _path_text(path: tuple[str, ...]) -> str:
    return "/" + "/".join(path) + "/"


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

    def number_taken(self, employee_number: str) -> bool:
        return bool(
            self._c.execute(select(exists().where(employees.c.employee_number == employee_number))).scalar()
        )

    def add(self, employee: Employee) -> None:
        c = employee.contract
        self._c.execute(
            insert(employees).values(
                id=employee.id,
                display_name=employee.display_name,
                org_unit_id=employee.org_unit_id,
                role=employee.role.value,
                employment_type=employee.employment_type.value,
                min_weekly_minutes=c.min_weekly_minutes,
                max_weekly_minutes=c.max_weekly_minutes,
                max_consecutive_days=c.max_consecutive_days,
                min_rest_minutes=c.min_rest_minutes,
                days_off_per_week=c.days_off_per_week,
                skills=json.dumps(
                    [
                        {
                            "code": s.code,
                            "level": s.level,
                            "expire": s.expire_date.isoformat() if s.expire_date else None,
                        }
                        for s in employee.skills
                    ]
                ),
                hire_date=employee.hire_date,
                state=employee.state.value,
                employee_number=employee.employee_number or None,
                created_at=employee.created_at,
                version=employee.version,
            )
        )

    def list(self, *, within: OrgUnit | None, after: str | None, limit: int) -> Sequence[Employee]:
        query = select(employees).order_by(employees.c.id).limit(limit)
        if within is not None:
            subtree = select(org_units.c.id).where(org_units.c.path.startswith(_path_text(within.path)))
            query = query.where(employees.c.org_unit_id.in_(subtree))
        if after:
            query = query.where(employees.c.id > after)
        return [_employee_from_row(row) for row in self._c.execute(query)]


class SqlRosterUnit:
    """The roster's view of one chassis unit of work."""

    def __init__(self, unit: UnitOfWork) -> None:
        self._unit = unit
        self.org_units = SqlOrgUnits(unit.connection)
        self.employees = SqlEmployees(unit.connection)

    def record(self, event: RosterEvent) -> None:
        event_type, entity, payload = event_mapping.to_message(event)
        self._unit.publish(event_type=event_type, entity=entity, payload=payload)
        self._unit.audit(action=event_type, entity=entity, before=None, after=event_mapping.audit_view(event))
