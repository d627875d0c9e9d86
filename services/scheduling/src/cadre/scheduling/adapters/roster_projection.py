"""The roster projection: roster's events into scheduling's own tables.

One durable consumer on `CADRE_ROSTER` applies each event twice over in one transaction: into
the authority projection (`cadre.authority.projection`, grants and the policy roster uses)
and into the tables here (teams with time zone and path, people with contract, skills,
availability, virtual positions, and dated team memberships). Every write is an upsert or
keyed by the event's own facts, so a redelivered event changes nothing.

The hire is the person's first version and only ever inserts; `employee.updated` applies only
a version newer than the one held; a change arriving before the hire is retried until the hire
is in (`authority.apply` raises `NotYetKnown`, and the hire passes it: `OPENING_TYPES`) (R6).
Teams likewise: the creation only inserts, a change or a move before it waits for it, and paths
follow the authority copy's tree (`authority.copy_org_unit`).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from google.protobuf.message import Message
from sqlalchemy import Connection, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cadre.authority import projection as authority
from cadre.chassis.db import UnitOfWork, insert_if_absent
from cadre.events.v1 import envelope_pb2
from cadre.scheduling.adapters.workforce_tables import memberships, people, teams
from cadre.scheduling.domain.team import (
    Availability,
    Contract,
    Person,
    PersonState,
    Role,
    Skill,
    Team,
)

PREFIX = "cadre.roster.v1."
SUBJECTS = sorted({*authority.SUBJECTS, f"{PREFIX}org_unit.updated"})
OPENING_TYPES = authority.OPENING_TYPES


def _id(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def _date(value: Any) -> date | None:
    return date(value.year, value.month, value.day) if value.year else None


def _contract(c: Any) -> str:
    return json.dumps(
        {
            "min_weekly_minutes": c.min_weekly_minutes,
            "max_weekly_minutes": c.max_weekly_minutes,
            "max_consecutive_days": c.max_consecutive_days,
            "min_rest_minutes": c.min_rest_minutes,
            "days_off_per_week": c.days_off_per_week,
        }
    )


def _skills(skills: Any) -> str:
    def expiry(s: Any) -> str | None:
        day = _date(s.expire_date)
        return day.isoformat() if day else None

    return json.dumps([[s.skill, s.level, expiry(s)] for s in skills])


def _windows(windows: Any) -> list[list[int]]:
    # google.type.DayOfWeek numbers Monday 1 … Sunday 7, like ISO weekdays.
    return [
        [w.day, w.start.hours * 60 + w.start.minutes, (w.end.hours * 60 + w.end.minutes) or 1440]
        for w in windows
    ]


def _availability(windows: Any, exceptions: Any = ()) -> str:
    dated = []
    for e in exceptions:
        day = _date(e.date)
        if day is not None:
            dated.append([day.isoformat(), [w[1:] for w in _windows(e.windows)]])
    return json.dumps({"weekly": _windows(windows), "exceptions": dated})


def upsert(connection: Connection, table: Table, values: dict[str, Any]) -> None:
    """Insert or replace by primary key: a redelivered event writes the same row again."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**values)
    key = [c.name for c in table.primary_key.columns]
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=key, set_={k: v for k, v in values.items() if k not in key}
        )
    )


def apply(unit: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """The consumer handler."""
    authority.apply(unit, envelope, payload)
    c = unit.connection
    kind = envelope.type.removeprefix(PREFIX)
    p: Any = payload
    if kind.startswith("org_unit."):
        # Created only if absent, paths in step with the authority copy's (R6).
        authority.copy_org_unit(c, kind, p, teams, {"time_zone": p.org_unit.time_zone or "UTC"})
    elif kind == "employee.hired":
        # Roster's version 1 of the person: a copy arriving after later changes (re-published
        # by reconciliation, replayed) leaves them, rather than putting the person back to
        # onboarding with no availability or virtual positions and the first team (R6).
        employee = _id(p.employee)
        if insert_if_absent(
            c,
            people,
            {
                "id": employee,
                "role": p.role,
                "state": PersonState.ONBOARDING.value,
                "employment_type": p.employment_type,
                "contract": _contract(p.contract),
                "skills": _skills(p.skills),
                "availability": _availability(()),
                "virtual_positions": "[]",
                "hire_date": _date(p.hire_date),
                "version": 1,
            },
        ):
            start = _date(p.hire_date) or date.min
            insert_if_absent(
                c, memberships, {"employee_id": employee, "from_date": start, "org_unit_id": _id(p.org_unit)}
            )
    elif kind == "employee.updated":
        # The whole record as of its version: an older or the same version arriving late
        # changes nothing (R6).
        c.execute(
            update(people)
            .where(people.c.id == _id(p.employee), people.c.version < p.version)
            .values(
                role=p.role,
                employment_type=p.employment_type,
                contract=_contract(p.contract),
                skills=_skills(p.skills),
                availability=_availability(p.availability, p.availability_exceptions),
                virtual_positions=json.dumps(sorted({str(v.kind) for v in p.virtual_positions})),
                version=p.version,
            )
        )
    elif kind == "employee.transferred":
        employee = _id(p.employee)
        start = _date(p.effective_date) or date.min
        # Later memberships recorded before this transfer (none in practice) give way to it.
        c.execute(
            delete(memberships).where(memberships.c.employee_id == employee, memberships.c.from_date > start)
        )
        upsert(
            c, memberships, {"employee_id": employee, "from_date": start, "org_unit_id": _id(p.to_org_unit)}
        )
    elif kind == "employee.state_changed":
        c.execute(update(people).where(people.c.id == _id(p.employee)).values(state=p.state))


# ---------------------------------------------------------------- reads


def team(connection: Connection, team_id: str) -> Team | None:
    row = connection.execute(select(teams).where(teams.c.id == team_id)).first()
    if row is None:
        return None
    return Team(id=row.id, path=tuple(row.path.strip("/").split("/")), time_zone=row.time_zone)


def _person(row: Any) -> Person:
    contract = json.loads(row.contract)
    availability = json.loads(row.availability)
    return Person(
        id=row.id,
        role=Role(row.role) if row.role in Role._value2member_map_ else Role.AGENT,
        state=PersonState(row.state) if row.state in PersonState._value2member_map_ else PersonState.ACTIVE,
        employment_type=row.employment_type,
        contract=Contract(**contract),
        skills=tuple(
            Skill(name, level, date.fromisoformat(expiry) if expiry else None)
            for name, level, expiry in json.loads(row.skills)
        ),
        availability=tuple(Availability(*w) for w in availability["weekly"]),
        availability_exceptions=tuple(
            (date.fromisoformat(day), tuple((a, b) for a, b in windows))
            for day, windows in availability["exceptions"]
        ),
        virtual_positions=tuple(json.loads(row.virtual_positions)),
        hire_date=row.hire_date,
    )


def person(connection: Connection, employee_id: str) -> Person | None:
    row = connection.execute(select(people).where(people.c.id == employee_id)).first()
    return _person(row) if row else None


def team_id_of(connection: Connection, employee_id: str, day: date) -> str | None:
    """The person's team on `day`: the membership in force then (the first one before it)."""
    rows = connection.execute(
        select(memberships.c.from_date, memberships.c.org_unit_id)
        .where(memberships.c.employee_id == employee_id)
        .order_by(memberships.c.from_date)
    ).all()
    if not rows:
        return None
    current = rows[0].org_unit_id
    for row in rows:
        if row.from_date <= day:
            current = row.org_unit_id
    return str(current)


def team_id_at(connection: Connection, employee_id: str, moment: datetime) -> str | None:
    """The person's team at `moment`: a membership counts from its date in that team's zone
    (a transfer effective today in Berlin counts from Berlin's midnight)."""
    rows = connection.execute(
        select(memberships.c.from_date, memberships.c.org_unit_id, teams.c.time_zone)
        .join(teams, teams.c.id == memberships.c.org_unit_id, isouter=True)
        .where(memberships.c.employee_id == employee_id)
        .order_by(memberships.c.from_date)
    ).all()
    if not rows:
        return None
    current = rows[0].org_unit_id
    for row in rows:
        if row.from_date <= moment.astimezone(ZoneInfo(row.time_zone or "UTC")).date():
            current = row.org_unit_id
    return str(current)


def members(connection: Connection, team_id: str, first_day: date, last_day: date) -> list[Person]:
    """Everyone in the team on any day of the range, not terminated."""
    candidates = connection.execute(
        select(memberships.c.employee_id).where(memberships.c.org_unit_id == team_id).distinct()
    ).scalars()
    found = []
    span = (last_day - first_day).days + 1
    for employee_id in sorted(candidates):
        days = (first_day + timedelta(days=i) for i in range(span))
        if not any(team_id_of(connection, employee_id, d) == team_id for d in days):
            continue
        p = person(connection, employee_id)
        if p is not None and p.state is not PersonState.TERMINATED:
            found.append(p)
    return found
