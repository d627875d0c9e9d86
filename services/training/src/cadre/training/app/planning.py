"""Proposing session slots: the published facts laid on a grid for the planning domain."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np

from cadre.chassis.errors import Violations, failed_precondition
from cadre.training.app.access import CATALOGUE_ROLES, Caller
from cadre.training.app.catalog import require_course
from cadre.training.app.ports import TrainingUnit
from cadre.training.domain.people import Person
from cadre.training.domain.planning import Candidate, PlanningProblem, PlanningResult, QueueLoad, propose
from cadre.training.domain.schedule import OFF_THE_PHONES_UNPAID, WORK, Shift

STEP_MINUTES = 15
MAX_HORIZON = timedelta(days=42)
MAX_TEAM_CANDIDATES = 500


def _steps_of(start: datetime, end: datetime, grid_start: datetime, steps: int) -> slice:
    """Steps whose midpoint lies in [start, end)."""
    step = STEP_MINUTES * 60
    first = math.ceil(((start - grid_start).total_seconds() - step / 2) / step)
    last = math.ceil(((end - grid_start).total_seconds() - step / 2) / step)
    return slice(max(first, 0), min(max(last, 0), steps))


def _working_mask(shift: Shift, grid_start: datetime, steps: int) -> np.ndarray:
    """Steps of the shift on the phones (work time, not a break, lunch, meeting or training)."""
    mask = np.zeros(steps, dtype=bool)
    mask[_steps_of(shift.start, shift.end, grid_start, steps)] = True
    for activity in shift.activities:
        if activity.kind != WORK:
            mask[_steps_of(activity.start, activity.end, grid_start, steps)] = False
    return mask


def _trainable_mask(shift: Shift, grid_start: datetime, steps: int) -> np.ndarray:
    """Steps of the shift a session may take: working time, breaks and lunch excluded."""
    mask = np.zeros(steps, dtype=bool)
    mask[_steps_of(shift.start, shift.end, grid_start, steps)] = True
    for activity in shift.activities:
        if activity.kind in OFF_THE_PHONES_UNPAID:
            mask[_steps_of(activity.start, activity.end, grid_start, steps)] = False
    return mask


def _blocked(
    unit: TrainingUnit, person: Person, grid_start: datetime, steps: int, end: datetime
) -> np.ndarray:
    """Steps the person cannot train: approved leave days and other sessions."""
    blocked = np.zeros(steps, dtype=bool)
    team = unit.facts.team(person.team_id)
    zone = team.zone if team else UTC
    leave_days: set[date] = {d for leave in unit.facts.leave(person.id) for d in leave.days}
    if leave_days:
        moments = [grid_start + timedelta(minutes=STEP_MINUTES * t) for t in range(steps)]
        blocked |= np.array([m.astimezone(zone).date() in leave_days for m in moments])
    for _, state, session in unit.enrollments.booked(person.id, start=grid_start, end=end):
        if state in ("ENROLLED", "WAITLISTED"):
            for meeting in session.spec.meetings:
                blocked[_steps_of(meeting.start, meeting.end, grid_start, steps)] = True
    for session in unit.sessions.trainer_sessions(person.id, start=grid_start, end=end):
        for meeting in session.spec.meetings:
            blocked[_steps_of(meeting.start, meeting.end, grid_start, steps)] = True
    return blocked


def _queue_load(
    unit: TrainingUnit, queue: str, grid_start: datetime, steps: int, on_phones: np.ndarray
) -> QueueLoad:
    requirement = unit.facts.requirement(queue)
    volumes = np.zeros(steps)
    aht = np.full(steps, 300.0)
    answer, patience = 20.0, 0.0
    if requirement is not None and requirement.volumes:
        answer, patience = requirement.answer_seconds, requirement.patience_seconds
        moments = np.arange(steps) * STEP_MINUTES * 60 + (grid_start - requirement.start).total_seconds()
        index = np.floor(moments / (requirement.interval_minutes * 60)).astype(np.int64)
        inside = (index >= 0) & (index < len(requirement.volumes))
        share = STEP_MINUTES / requirement.interval_minutes
        volumes[inside] = np.asarray(requirement.volumes)[index[inside]] * share
        aht[inside] = np.asarray(requirement.aht_seconds)[index[inside]]
    return QueueLoad(queue, volumes, aht, on_phones.astype(np.float64), answer, patience)


def propose_slots(
    unit: TrainingUnit,
    caller: Caller,
    *,
    course_id: str,
    participant_ids: Sequence[str],
    team_id: str,
    participant_count: int,
    trainer_id: str,
    start: datetime,
    end: datetime,
    floor: float,
    max_proposals: int,
) -> tuple[PlanningResult, datetime]:
    v = Violations()
    if end <= start:
        v.add("end_time", "ENDS_BEFORE_START", "must be after start_time")
    elif end - start > MAX_HORIZON:
        v.add("end_time", "HORIZON_TOO_LONG", "at most 42 days after start_time")
    if not 0 <= floor <= 1:
        v.add("service_level_floor", "OUT_OF_RANGE", "must be 0–1")
    if not 0 <= max_proposals <= 20:
        v.add("max_proposals", "OUT_OF_RANGE", "must be 0–20")
    if participant_ids and team_id:
        v.add("team", "ONE_OF", "give participants or a team, not both")
    if not participant_ids and not team_id:
        v.add("participants", "REQUIRED_FIELD_MISSING", "give participants, or a team and a count")
    if team_id and not 1 <= participant_count <= 500:
        v.add("participant_count", "OUT_OF_RANGE", "must be 1–500")
    if len(set(participant_ids)) != len(participant_ids) or len(participant_ids) > 500:
        v.add("participants", "DUPLICATE", "each person once, at most 500")
    v.raise_if_any()
    course = require_course(unit.courses, course_id)
    if team_id:
        if unit.facts.team(team_id) is None:
            raise caller.missing("TEAM_NOT_FOUND", "no such team", team=team_id)
        people = [p for p in unit.facts.members([team_id]) if p.current][:MAX_TEAM_CANDIDATES]
        pick = participant_count
    else:
        people = []
        for employee_id in participant_ids:
            person = unit.facts.person(employee_id)
            if person is None or not person.current:
                raise caller.missing("EMPLOYEE_NOT_FOUND", "no such current employee", employee=employee_id)
            people.append(person)
        pick = len(people)
    if caller.role not in CATALOGUE_ROLES:
        # Planning for people is for who may enroll them.
        for person in people:
            caller.enroll_decision(person.id, course.spec.duration_minutes)
    if len(people) < pick:
        raise failed_precondition("TOO_FEW_MEMBERS", f"the team has {len(people)} current members")
    step = timedelta(minutes=STEP_MINUTES)
    grid_start = datetime.fromtimestamp(
        math.floor(start.timestamp() / step.total_seconds()) * step.total_seconds(), tz=UTC
    )
    steps = math.ceil((end - grid_start) / step)
    shifts = unit.facts.shifts([p.id for p in people], start=grid_start, end=end)
    queues = sorted({s.queue for s in shifts if s.queue})
    queue_index = {q: i for i, q in enumerate(queues)}
    on_phones = np.zeros((len(queues), steps))
    for shift in unit.facts.shifts_on_queues(queues, start=grid_start, end=end):
        on_phones[queue_index[shift.queue]] += _working_mask(shift, grid_start, steps)
    loads = tuple(_queue_load(unit, q, grid_start, steps, on_phones[i]) for i, q in enumerate(queues))
    candidates = []
    for person in people:
        queue_at = np.full(steps, -1, dtype=np.int64)
        available = np.zeros(steps, dtype=bool)
        for shift in (s for s in shifts if s.employee_id == person.id):
            if shift.queue in queue_index:
                queue_at[_working_mask(shift, grid_start, steps)] = queue_index[shift.queue]
            available |= _trainable_mask(shift, grid_start, steps)
        available &= ~_blocked(unit, person, grid_start, steps, end)
        candidates.append(Candidate(f"employees/{person.id}", queue_at, available))
    trainer_free = np.ones(steps, dtype=bool)
    if trainer_id:
        trainer = unit.facts.person(trainer_id)
        if trainer is None or not trainer.current:
            raise failed_precondition("TRAINER_UNKNOWN", "trainer: not a current employee known to training")
        trainer_team = unit.facts.team(trainer.team_id)
        zone = trainer_team.zone if trainer_team else UTC
        covered = unit.facts.covered_days(trainer.team_id, first=grid_start.date(), last=end.date())
        if covered:
            # On days a published schedule covers, the trainer trains only in their working time.
            days = [(grid_start + step * t).astimezone(zone).date() for t in range(steps)]
            trainer_free = ~np.array([day in covered for day in days])
            for shift in unit.facts.shifts([trainer_id], start=grid_start, end=end):
                trainer_free |= _trainable_mask(shift, grid_start, steps)
        trainer_free &= ~_blocked(unit, trainer, grid_start, steps, end)
    before_horizon = math.ceil((start - grid_start) / step)  # the grid starts on a step boundary
    for candidate in candidates:
        candidate.available[:before_horizon] = False
    problem = PlanningProblem(
        start=grid_start,
        step_minutes=STEP_MINUTES,
        queues=loads,
        candidates=tuple(candidates),
        pick=pick,
        trainer_available=trainer_free,
        duration_steps=math.ceil(course.spec.duration_minutes / STEP_MINUTES),
        floor=floor,
        max_proposals=max_proposals or 3,
    )
    return propose(problem), grid_start
