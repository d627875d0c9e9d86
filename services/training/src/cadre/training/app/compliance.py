"""Compliance: missing required certifications, expiring ones, completion per team."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cadre.training.app.access import Caller, out_of_scope
from cadre.training.app.ports import TrainingUnit
from cadre.training.domain.certification import Certification

# Queues a person counts for: those of their published shifts this long ahead.
QUEUE_LOOKAHEAD = timedelta(days=14)


@dataclass(frozen=True)
class Gap:
    employee_id: str
    queue: str
    course_id: str


@dataclass(frozen=True)
class TeamCompletion:
    team_id: str
    enrolled: int
    assessed: int
    passed: int

    @property
    def rate(self) -> float:
        return self.passed / self.enrolled if self.enrolled else 0.0


@dataclass(frozen=True)
class Report:
    gaps: tuple[Gap, ...]
    expiring: tuple[Certification, ...]
    teams: tuple[TeamCompletion, ...]


def visible_people(unit: TrainingUnit, caller: Caller) -> list[str] | None:
    """Everyone (None) for administrators and services; else oneself and the subtrees the
    caller holds grants over."""
    if caller.sees_everything:
        return None
    ids = {caller.employee_id} if caller.employee_id else set()
    for scope in caller.scopes():
        for team in unit.facts.teams_under(scope[-1]):
            ids.update(p.id for p in unit.facts.members([team.id]))
    return sorted(ids)


def report(
    unit: TrainingUnit, caller: Caller, *, org_unit_id: str, within_days: int, now: datetime
) -> Report:
    unit_team = unit.facts.team(org_unit_id)
    if unit_team is None:
        raise caller.missing("ORG_UNIT_NOT_FOUND", "no such org unit", org_unit=org_unit_id)
    if not caller.can_see(unit_team.path):
        raise out_of_scope()
    teams = unit.facts.teams_under(org_unit_id)
    people = [p for p in unit.facts.members([t.id for t in teams]) if p.current]
    today = now.date()
    gaps: list[Gap] = []
    required = [(q, c.id) for c in unit.courses.requiring_queues() for q in c.spec.required_for_queues]
    if required and people:
        shifts = unit.facts.shifts([p.id for p in people], start=now, end=now + QUEUE_LOOKAHEAD)
        queues_of: dict[str, set[str]] = {}
        for shift in shifts:
            queues_of.setdefault(shift.employee_id, set()).add(shift.queue)
        for person in people:
            queues = queues_of.get(person.id, set())
            if not queues:
                continue
            certified = unit.certifications.current_courses(person.id, on=today)
            gaps.extend(
                Gap(person.id, queue, course_id)
                for queue, course_id in required
                if queue in queues and course_id not in certified
            )
    expiring: Sequence[Certification] = []
    if people:
        expiring = unit.certifications.list(
            employee_ids=[p.id for p in people],
            expiring_by=today + timedelta(days=within_days),
            after=None,
            limit=1000,
        )
    outcomes = unit.enrollments.outcomes_by_team([t.id for t in teams])
    completions = tuple(
        TeamCompletion(t.id, *outcomes.get(t.id, (0, 0, 0))) for t in sorted(teams, key=lambda t: t.id)
    )
    return Report(
        gaps=tuple(sorted(gaps, key=lambda g: (g.employee_id, g.queue, g.course_id))),
        expiring=tuple(sorted(expiring, key=lambda c: (c.expire_date or today, c.id))),
        teams=completions,
    )
