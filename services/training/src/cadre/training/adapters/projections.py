"""Training's copies of roster's and scheduling's facts, kept from their events.

Each handler runs inside the chassis consumer's transaction (effect + inbox row together),
and applying an event twice leaves the same rows: upserts by key, replacements by range.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from google.protobuf.message import Message
from sqlalchemy import Connection, Table, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cadre.authority import projection as authority
from cadre.chassis.db import UnitOfWork, insert_if_absent
from cadre.events.v1 import envelope_pb2
from cadre.roster.v1 import employee_pb2
from cadre.scheduling.v1 import shift_pb2
from cadre.training.adapters.tables import (
    approved_leave,
    known_people,
    known_teams,
    published_requirements,
    published_schedules,
    published_shifts,
)

ROSTER_SUBJECTS = sorted({*authority.SUBJECTS, "cadre.roster.v1.org_unit.updated"})
# A change to a person arriving before the hire is retried (`authority.apply` raises
# `NotYetKnown`); the hire passes it (R6).
ROSTER_OPENING_TYPES = authority.OPENING_TYPES
SCHEDULING_SUBJECTS = [
    "cadre.scheduling.v1.requirement.published",
    "cadre.scheduling.v1.schedule.published",
    "cadre.scheduling.v1.leave.approved",
    "cadre.scheduling.v1.leave.cancelled",
]
_ROLE = {v: k.removeprefix("ROLE_") for k, v in employee_pb2.Employee.Role.items()}
_STATE = {v: k.removeprefix("STATE_") for k, v in employee_pb2.Employee.State.items()}
_ACTIVITY = {v: k.removeprefix("ACTIVITY_KIND_") for k, v in shift_pb2.ActivityKind.items()}
_TRAINER = employee_pb2.VirtualPosition.KIND_PART_TIME_TRAINER


def _id(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _upsert(connection: Connection, table: Table, values: dict[str, Any]) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    key = [c.name for c in table.primary_key.columns]
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=key, set_={k: v for k, v in values.items() if k not in key}
        )
    )


def _date(value: Any) -> date | None:
    if value.year == 0:
        return None
    return date(value.year, value.month, value.day)


def _iso(value: Any) -> str | None:
    day = _date(value)
    return day.isoformat() if day else None


def _skills(skills: Any) -> str:
    return json.dumps({s.skill: [s.level, _iso(s.expire_date)] for s in skills})


def _positions(positions: Any) -> str:
    return json.dumps(
        [
            [_iso(p.start_date), _iso(p.end_date)]
            for p in positions
            if p.kind == _TRAINER and _date(p.start_date)
        ]
    )


def apply_roster(unit: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    authority.apply(unit, envelope, payload)  # the grants and org paths enrollment decides with
    c = unit.connection
    kind = envelope.type.removeprefix("cadre.roster.v1.")
    p: Any = payload
    if kind.startswith("org_unit."):
        # Created only if absent, paths in step with the authority copy's (R6).
        authority.copy_org_unit(c, kind, p, known_teams, {"time_zone": p.org_unit.time_zone or "UTC"})
    elif kind == "employee.hired":
        # The hire is the record's first version (roster's version 1): a copy arriving after
        # later events of the person (re-published by reconciliation, replayed) changes
        # nothing, as an older `employee.updated` changes nothing (R6).
        insert_if_absent(
            c,
            known_people,
            {
                "id": _id(p.employee),
                "team_id": _id(p.org_unit),
                "role": _ROLE.get(p.role, "AGENT"),
                "state": "ACTIVE",
                "skills": _skills(p.skills),
                "trainer_positions": "[]",
                "version": 1,
            },
        )
    elif kind == "employee.updated":
        # Older versions arriving late change nothing (R6).
        c.execute(
            update(known_people)
            .where(known_people.c.id == _id(p.employee), known_people.c.version <= p.version)
            .values(
                role=_ROLE.get(p.role, "AGENT"),
                skills=_skills(p.skills),
                trainer_positions=_positions(p.virtual_positions),
                version=p.version,
            )
        )
    elif kind == "employee.transferred":
        c.execute(
            update(known_people)
            .where(known_people.c.id == _id(p.employee))
            .values(team_id=_id(p.to_org_unit))
        )
    elif kind == "employee.state_changed":
        c.execute(
            update(known_people)
            .where(known_people.c.id == _id(p.employee))
            .values(state=_STATE.get(p.state, "ACTIVE"))
        )


def _zone_of(connection: Connection, team_id: str) -> ZoneInfo:
    zone = connection.execute(select(known_teams.c.time_zone).where(known_teams.c.id == team_id)).scalar()
    return ZoneInfo(zone or "UTC")


def apply_scheduling(unit: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    c = unit.connection
    kind = envelope.type.removeprefix("cadre.scheduling.v1.")
    p: Any = payload
    if kind == "requirement.published":
        _upsert(
            c,
            published_requirements,
            {
                "queue": p.queue,
                "requirement": p.requirement,
                "start_time": p.start_time.ToDatetime(tzinfo=UTC),
                "interval_minutes": p.interval_minutes or 15,
                "volumes": json.dumps(list(p.volumes)),
                "aht_seconds": json.dumps(list(p.aht_seconds)),
                "agents": json.dumps(list(p.agents)),
                "service_level": p.service_level,
                "answer_seconds": p.answer_seconds,
                "shrinkage": p.shrinkage,
                "patience_seconds": p.patience_seconds,
                "received_at": datetime.now(UTC),
            },
        )
    elif kind == "schedule.published":
        _replace_schedule(c, p)
    elif kind == "leave.approved":
        days = sorted({d.isoformat() for d in (_date(day.date) for day in p.days) if d})
        _upsert(
            c,
            approved_leave,
            {"leave_request": p.leave_request, "employee_id": _id(p.employee), "days": json.dumps(days)},
        )
    elif kind == "leave.cancelled":
        c.execute(delete(approved_leave).where(approved_leave.c.leave_request == p.leave_request))


def _replace_schedule(c: Connection, p: Any) -> None:
    """The team's shifts over the schedule's days become this version's (a later version of
    the same schedule replaces; an older one arriving late changes nothing)."""
    known = c.execute(
        select(published_schedules.c.version).where(published_schedules.c.schedule == p.schedule)
    ).scalar()
    if known is not None and known >= p.version:
        return
    team_id = _id(p.org_unit)
    first = _date(p.start_date) or datetime.now(UTC).date()
    zone = _zone_of(c, team_id)
    range_start = datetime.combine(first, time(), zone).astimezone(UTC)
    range_end = datetime.combine(first + timedelta(days=p.days), time(), zone).astimezone(UTC)
    _upsert(
        c,
        published_schedules,
        {
            "schedule": p.schedule,
            "org_unit_id": team_id,
            "start_date": first,
            "days": p.days,
            "version": p.version,
        },
    )
    members = {_id(s.employee) for s in p.shifts} | set(
        c.execute(select(known_people.c.id).where(known_people.c.team_id == team_id)).scalars()
    )
    c.execute(
        delete(published_shifts).where(
            published_shifts.c.employee_id.in_(sorted(members)),
            published_shifts.c.start_time >= range_start,
            published_shifts.c.start_time < range_end,
        )
    )
    rows = [
        {
            "schedule": p.schedule,
            "employee_id": _id(s.employee),
            "queue": s.queue,
            "start_time": s.start_time.ToDatetime(tzinfo=UTC),
            "end_time": s.end_time.ToDatetime(tzinfo=UTC),
            "activities": json.dumps(
                [
                    [
                        _ACTIVITY.get(a.kind, "WORK"),
                        a.start_time.ToDatetime(tzinfo=UTC).isoformat(),
                        a.end_time.ToDatetime(tzinfo=UTC).isoformat(),
                    ]
                    for a in s.activities
                ]
            ),
        }
        for s in p.shifts
    ]
    if rows:
        c.execute(insert(published_shifts), rows)
