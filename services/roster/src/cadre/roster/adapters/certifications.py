"""Training's certifications as skills on the person's record.

`certification.granted` adds the skill (or renews it: new level and expiry) with the
certification's resource name as its source; `certification.expired` removes the skill that
certification gave. A skill held at a higher level from another source is left alone: a
certification never lowers what someone already has. The change goes through roster's own
rules and is published as `employee.updated`, like any other change to the record.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from google.protobuf.message import Message

from cadre.chassis.db import UnitOfWork
from cadre.events.v1 import envelope_pb2
from cadre.roster.adapters.repository import SqlRosterUnit
from cadre.roster.domain import employee as rules
from cadre.roster.domain.employee import EmployeeState, Skill
from cadre.roster.domain.events import EmployeeUpdated
from cadre.training.v1 import events_pb2

GRANTED = "cadre.training.v1.certification.granted"
EXPIRED = "cadre.training.v1.certification.expired"
SUBJECTS = [GRANTED, EXPIRED]


def skills_after_grant(
    skills: tuple[Skill, ...], *, code: str, level: int, expire_date: date | None, source: str
) -> tuple[Skill, ...]:
    held = next((s for s in skills if s.code == code), None)
    if held is not None and held.source != source and held.level > level:
        return skills
    granted = Skill(code=code, level=level, expire_date=expire_date, source=source)
    if held is None:
        return (*skills, granted)
    return tuple(granted if s.code == code else s for s in skills)


def skills_after_expiry(skills: tuple[Skill, ...], *, code: str, source: str) -> tuple[Skill, ...]:
    return tuple(s for s in skills if not (s.code == code and s.source == source))


def apply(unit: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """The consumer handler for training's certification events."""
    roster = SqlRosterUnit(unit)
    p = payload
    if isinstance(p, events_pb2.CertificationGrantedEvent):
        employee_id = p.employee.removeprefix("employees/")
        expire = p.expire_date
        current = roster.employees.get(employee_id)
        if current is None:
            return
        skills = skills_after_grant(
            current.skills,
            code=p.skill,
            level=p.level,
            expire_date=date(expire.year, expire.month, expire.day) if expire.year else None,
            source=p.certification,
        )
    elif isinstance(p, events_pb2.CertificationExpiredEvent):
        employee_id = p.employee.removeprefix("employees/")
        current = roster.employees.get(employee_id)
        if current is None:
            return
        skills = skills_after_expiry(current.skills, code=p.skill, source=p.certification)
    else:
        return
    if current.state is EmployeeState.TERMINATED or skills == current.skills:
        return  # a former employee's record no longer changes; or nothing to change
    changed = rules.update(current, replace(current, skills=skills), frozenset({"skills"}))
    roster.employees.save(changed, expected_version=current.version)
    roster.record(EmployeeUpdated(current, changed), acting_under=p.certification)
