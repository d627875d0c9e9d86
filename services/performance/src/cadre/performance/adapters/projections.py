"""Consumer handlers: what performance keeps from roster, scheduling and training events.

Each runs inside the chassis consumer's transaction with the inbox row, so an event
redelivered or replayed changes nothing twice (RELIABILITY R3, R4). Attendance keeps the
highest revision per (employee, day) whatever order the revisions arrive in.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from google.protobuf.message import Message
from sqlalchemy import Connection, Table, and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cadre.authority import projection
from cadre.chassis.db import UnitOfWork, insert_if_absent
from cadre.chassis.errors import DomainError
from cadre.events.v1 import envelope_pb2
from cadre.performance.adapters import facts
from cadre.performance.adapters.tables import (
    accepted_overtime,
    attendance,
    employees,
    leave_days,
    org_units,
    scheduled_days,
    stints,
    training_time,
)

ROSTER_SUBJECTS = [*projection.SUBJECTS, "cadre.roster.v1.org_unit.updated"]
# A change to a person arriving before the hire is retried (`projection.apply` raises
# `NotYetKnown`); the hire passes it (R6).
ROSTER_OPENING_TYPES = projection.OPENING_TYPES
SCHEDULING_SUBJECTS = [
    "cadre.scheduling.v1.attendance.recorded",
    "cadre.scheduling.v1.leave.approved",
    "cadre.scheduling.v1.leave.cancelled",
    "cadre.scheduling.v1.overtime.accepted",
    "cadre.scheduling.v1.schedule.published",
]
TRAINING_SUBJECTS = ["cadre.training.v1.training_time.recorded"]
FACT_SUBJECTS = ["cadre.facts.v1.batch.published"]
STATE_TERMINATED = 4  # cadre.roster.v1.Employee.STATE_TERMINATED
DAY_KIND_REST_DAY = 2  # cadre.scheduling.v1.DayKind.DAY_KIND_REST_DAY


def _id(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _date(value: Any) -> date:
    return date(value.year, value.month, value.day)


def _upsert(connection: Connection, table: Table, values: dict[str, Any]) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    key = [c.name for c in table.primary_key.columns]
    statement = dialect.insert(table).values(**values)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=key, set_={k: v for k, v in values.items() if k not in key}
        )
    )


# --- roster: the org view, effective-dated ---


def apply_roster(unit: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    projection.apply(unit, envelope, payload)  # the grants, for decisions under authority
    c = unit.connection
    kind = envelope.type.removeprefix("cadre.roster.v1.")
    p: Any = payload
    if kind.startswith("org_unit."):
        # Created only if absent, paths in step with the authority copy's (R6).
        o = p.org_unit
        projection.copy_org_unit(c, kind, p, org_units, {"site": o.site, "time_zone": o.time_zone or "UTC"})
    elif kind == "employee.hired":
        # The hire is the person's first version: a copy arriving after a role change, a
        # transfer or a termination (re-published by reconciliation, replayed) changes
        # nothing, rather than reopening the first stint or clearing the termination (R6).
        employee_id, hired = _id(p.employee), _date(p.hire_date)
        if insert_if_absent(
            c,
            employees,
            {"id": employee_id, "role": p.role, "hire_date": hired, "termination_date": None, "version": 1},
        ):
            insert_if_absent(
                c,
                stints,
                {
                    "employee_id": employee_id,
                    "start_date": hired,
                    "org_unit_id": _id(p.org_unit),
                    "end_date": None,
                },
            )
    elif kind == "employee.updated":
        # An older or the same version arriving late changes nothing (R6).
        c.execute(
            update(employees)
            .where(employees.c.id == _id(p.employee), employees.c.version < p.version)
            .values(role=p.role, version=p.version)
        )
    elif kind == "employee.transferred":
        _transfer(c, _id(p.employee), _id(p.to_org_unit), _date(p.effective_date))
    elif kind == "employee.state_changed" and p.state == STATE_TERMINATED:
        employee_id, last_day = _id(p.employee), _date(p.effective_date) - timedelta(days=1)
        c.execute(update(employees).where(employees.c.id == employee_id).values(termination_date=last_day))
        c.execute(
            update(stints)
            .where(stints.c.employee_id == employee_id, stints.c.end_date.is_(None))
            .values(end_date=last_day)
        )


def _transfer(c: Connection, employee_id: str, to_unit: str, effective: date) -> None:
    """The stint covering `effective` ends the day before; the new team's starts that day."""
    earlier = c.execute(
        select(stints.c.start_date, stints.c.end_date)
        .where(stints.c.employee_id == employee_id, stints.c.start_date < effective)
        .order_by(stints.c.start_date.desc())
        .limit(1)
    ).first()
    later = c.execute(
        select(stints.c.start_date)
        .where(stints.c.employee_id == employee_id, stints.c.start_date > effective)
        .order_by(stints.c.start_date)
        .limit(1)
    ).first()
    if earlier is not None and (earlier.end_date is None or earlier.end_date >= effective):
        c.execute(
            update(stints)
            .where(stints.c.employee_id == employee_id, stints.c.start_date == earlier.start_date)
            .values(end_date=effective - timedelta(days=1))
        )
    end = None if later is None else later.start_date - timedelta(days=1)
    _upsert(
        c,
        stints,
        {"employee_id": employee_id, "start_date": effective, "org_unit_id": to_unit, "end_date": end},
    )


# --- scheduling: attendance, leave, overtime, schedules ---


def _zone_of_team(c: Connection, unit_id: str) -> ZoneInfo:
    zone = c.execute(select(org_units.c.time_zone).where(org_units.c.id == unit_id)).scalar()
    return ZoneInfo(zone or "UTC")


def _zone_of_employee(c: Connection, employee_id: str) -> ZoneInfo:
    unit = c.execute(
        select(stints.c.org_unit_id)
        .where(stints.c.employee_id == employee_id)
        .order_by(stints.c.start_date.desc())
        .limit(1)
    ).scalar()
    return _zone_of_team(c, unit) if unit else ZoneInfo("UTC")


def apply_scheduling(unit: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    c = unit.connection
    kind = envelope.type.removeprefix("cadre.scheduling.v1.")
    p: Any = payload
    if kind == "attendance.recorded":
        employee_id, day = _id(p.employee), _date(p.work_date)
        held = c.execute(
            select(attendance.c.revision).where(
                attendance.c.employee_id == employee_id, attendance.c.work_date == day
            )
        ).scalar()
        if held is not None and held >= p.revision:
            return  # an older or the same recording of the day: the newer one stands
        _upsert(
            c,
            attendance,
            {
                "employee_id": employee_id,
                "work_date": day,
                "org_unit_id": _id(p.org_unit),
                "rest_day": p.day_kind == DAY_KIND_REST_DAY,
                "scheduled_minutes": p.scheduled_minutes,
                "worked_minutes": p.worked_minutes,
                "overtime_minutes": p.overtime_minutes,
                "revision": p.revision,
            },
        )
    elif kind == "leave.approved":
        for d in p.days:
            _upsert(
                c,
                leave_days,
                {
                    "leave_request": p.leave_request,
                    "work_date": _date(d.date),
                    "employee_id": _id(p.employee),
                    "minutes": d.minutes,
                    "paid": p.paid,
                },
            )
    elif kind == "leave.cancelled":
        c.execute(delete(leave_days).where(leave_days.c.leave_request == p.leave_request))
    elif kind == "overtime.accepted":
        employee_id = _id(p.employee)
        zone = _zone_of_employee(c, employee_id)
        day = p.start_time.ToDatetime(tzinfo=UTC).astimezone(zone).date()
        _upsert(
            c,
            accepted_overtime,
            {"offer": p.overtime_offer, "employee_id": employee_id, "work_date": day, "minutes": p.minutes},
        )
    elif kind == "schedule.published":
        _schedule(c, p)


def _schedule(c: Connection, p: Any) -> None:
    """Replaces the team's scheduled minutes over the published range (an older version that
    arrives late changes nothing)."""
    team = _id(p.org_unit)
    first = _date(p.start_date)
    last = first + timedelta(days=max(p.days, 1) - 1)
    in_range = and_(
        scheduled_days.c.org_unit_id == team,
        scheduled_days.c.work_date >= first,
        scheduled_days.c.work_date <= last,
    )
    newest = c.execute(
        select(scheduled_days.c.schedule_version)
        .where(in_range)
        .order_by(scheduled_days.c.schedule_version.desc())
        .limit(1)
    ).scalar()
    if newest is not None and newest > p.version:
        return
    c.execute(delete(scheduled_days).where(in_range))
    zone = _zone_of_team(c, team)
    minutes: dict[tuple[str, date], int] = {}
    for shift in p.shifts:
        start = shift.start_time.ToDatetime(tzinfo=UTC)
        length = (shift.end_time.ToDatetime(tzinfo=UTC) - start).total_seconds() / 60
        unpaid = sum(
            (a.end_time.ToDatetime(tzinfo=UTC) - a.start_time.ToDatetime(tzinfo=UTC)).total_seconds() / 60
            for a in shift.activities
            if not a.paid
        )
        key = (_id(shift.employee), start.astimezone(zone).date())
        minutes[key] = minutes.get(key, 0) + int(length - unpaid)
    rows = [
        {
            "employee_id": e,
            "work_date": d,
            "org_unit_id": team,
            "scheduled_minutes": m,
            "schedule_version": p.version,
        }
        for (e, d), m in minutes.items()
        if first <= d <= last
    ]
    if rows:
        c.execute(scheduled_days.insert(), rows)


# --- training and the fact stream ---


def apply_training(unit: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    p: Any = payload
    employee_id, day = _id(p.employee), _date(p.work_date)
    _upsert(
        unit.connection,
        training_time,
        {
            "fact_id": f"{p.session}/{employee_id}/{day.isoformat()}",
            "employee_id": employee_id,
            "work_date": day,
            "minutes": p.minutes,
            "paid": p.paid,
        },
    )


def fact_handler(max_facts: int) -> Any:
    def apply_facts(unit: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        p: Any = payload
        c = unit.connection
        try:
            rows = facts.fact_rows(
                p.facts, max_facts=max_facts, zones=lambda ids: facts.team_time_zones(c, ids)
            )
        except DomainError as error:
            # A bad batch is parked whole with its field errors (R5), never half applied.
            raise ValueError(f"fact batch {envelope.id} rejected: {error}") from error
        accepted, duplicates = facts.insert_new(c, rows)
        unit.audit(
            action="IngestFacts",
            entity=f"events/{envelope.id}",
            before=None,
            after={"accepted": accepted, "duplicates": duplicates},
            actor=f"events/{envelope.source}",
        )

    return apply_facts
