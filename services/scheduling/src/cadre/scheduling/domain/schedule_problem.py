"""From scheduling's facts to the rostering engine's problem, and from its answer to shifts.

The engine (`domain/rostering`) works on its own plain types; this module is the one place
that translates: roster people (contract, skills, availability), the team's shift templates,
each queue's newest requirement laid on the engine's 15-minute wall-clock grid, approved leave
and training as blocked time, and the previous published week for rest and consecutive days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cadre.scheduling.domain.queue import Queue
from cadre.scheduling.domain.rostering import problem as p
from cadre.scheduling.domain.schedule import Activity, ActivityKind, Shift
from cadre.scheduling.domain.shift_templates import BreakKind, ShiftTemplate
from cadre.scheduling.domain.staffing import Requirement
from cadre.scheduling.domain.team import Person
from cadre.staffing.erlang import QueueTargets

GRID_MINUTES = 15
EMPLOYMENT_TYPES = {1: "FULL_TIME", 2: "PART_TIME", 3: "FLEXIBLE"}


@dataclass(frozen=True)
class Blocked:
    employee_id: str
    start: datetime
    end: datetime
    kind: p.BlockKind
    reference: str


def may_work(person: Person, queue: Queue, day: date) -> bool:
    """A person works a queue when a valid skill names it: its resource name, id or display name."""
    names = {f"queues/{queue.id}".lower(), queue.id.lower(), queue.settings.display_name.strip().lower()}
    return any(s.skill.strip().lower() in names and s.valid_on(day) for s in person.skills)


def _contract(person: Person) -> p.Contract:
    c = person.contract
    default = p.Contract()
    return p.Contract(
        min_minutes_per_week=c.min_weekly_minutes,
        max_minutes_per_week=c.max_weekly_minutes or default.max_minutes_per_week,
        max_working_days_per_week=7 - c.days_off_per_week
        if c.days_off_per_week
        else default.max_working_days_per_week,
        max_consecutive_days=c.max_consecutive_days or default.max_consecutive_days,
        min_rest_minutes=c.min_rest_minutes or default.min_rest_minutes,
    )


def _requirement_on_grid(horizon: p.Horizon, requirement: Requirement, queue: Queue) -> p.QueueRequirement:
    starts = requirement.interval_starts
    minutes = int((starts[1] - starts[0]).total_seconds() // 60) if len(starts) > 1 else 30
    index = {t: i for i, t in enumerate(starts)}
    step = timedelta(minutes=minutes)
    required, volume, aht = [], [], []
    s = requirement.staffing
    for k in range(horizon.intervals):
        moment = (
            horizon.interval_start(k).astimezone(starts[0].tzinfo) if starts else horizon.interval_start(k)
        )
        # The requirement interval holding this grid interval (its grid is aligned to `minutes`).
        offset = (moment - starts[0]) % step if starts else timedelta(0)
        j = index.get(moment - offset)
        if j is None:
            required.append(0)
            volume.append(0.0)
            aht.append(max(float(s.aht_seconds.mean()) if len(s.aht_seconds) else 1.0, 1.0))
            continue
        required.append(int(s.scheduled_agents[j]))
        volume.append(float(s.volumes[j]) * GRID_MINUTES / minutes)
        aht.append(max(float(s.aht_seconds[j]), 1.0))
    load = p.QueueLoad(
        volume=tuple(volume),
        aht_seconds=tuple(aht),
        targets=QueueTargets(
            service_level=requirement.targets.service_level, answer_seconds=requirement.targets.answer_seconds
        ),
        shrinkage=requirement.targets.shrinkage,
    )
    return p.QueueRequirement(queue_id=queue.id, required=tuple(required), load=load)


def _template(t: ShiftTemplate) -> p.ShiftTemplate:
    s = t.settings
    return p.ShiftTemplate(
        id=t.id,
        earliest_start_minute=s.earliest_start_minute,
        latest_start_minute=s.latest_start_minute,
        start_step_minutes=s.start_step_minutes,
        length_minutes=s.length_minutes,
        breaks=tuple(
            p.BreakRule(
                kind=p.ActivityKind.LUNCH if b.kind is BreakKind.LUNCH else p.ActivityKind.BREAK,
                length_minutes=b.length_minutes,
                earliest_offset_minutes=b.earliest_offset_minutes,
                latest_offset_minutes=b.latest_offset_minutes,
                paid=b.paid,
            )
            for b in sorted(s.breaks, key=lambda b: b.earliest_offset_minutes)
        ),
        employment_types=frozenset(EMPLOYMENT_TYPES[e] for e in s.employment_types if e in EMPLOYMENT_TYPES),
    )


def existing_assignments(shifts: Iterable[Shift], time_zone: str) -> tuple[p.ExistingAssignment, ...]:
    zone = ZoneInfo(time_zone)
    found = []
    for s in shifts:
        local = s.start.astimezone(zone)
        found.append(
            p.ExistingAssignment(
                employee_id=s.employee_id,
                day=local.date(),
                template_id=s.template_id,
                start_minute=local.hour * 60 + local.minute,
                queue_id=s.queue_id,
            )
        )
    return tuple(found)


def pinned_days(
    *,
    first_day: date,
    days: int,
    time_zone: str,
    people: Sequence[Person],
    base_shifts: Sequence[Shift],
    blocked: Sequence[Blocked],
) -> dict[str, tuple[p.AvailabilityException, ...]]:
    """Re-optimizing changes only what it must: the days the change touches (a day where
    someone's published shift now meets blocked time) are planned again; on every other day
    each person keeps exactly the published hours (a day off stays off), through availability
    exceptions the engine honours as hard rules."""
    zone = ZoneInfo(time_zone)
    touched = {
        s.start.astimezone(zone).date()
        for s in base_shifts
        for b in blocked
        if b.employee_id == s.employee_id and b.start < s.end and s.start < b.end
    }
    hours: dict[tuple[str, date], tuple[int, int]] = {}
    for s in base_shifts:
        local = s.start.astimezone(zone)
        start = local.hour * 60 + local.minute
        hours[(s.employee_id, local.date())] = (start, start + int((s.end - s.start).total_seconds() // 60))
    pinned: dict[str, tuple[p.AvailabilityException, ...]] = {}
    for person in people:
        exceptions = []
        for i in range(days):
            day = first_day + timedelta(days=i)
            if day in touched:
                continue
            window = hours.get((person.id, day))
            exceptions.append(p.AvailabilityException(day, (window,) if window else ()))
        pinned[person.id] = tuple(exceptions)
    return pinned


def _exceptions(
    person: Person, pinned: tuple[p.AvailabilityException, ...]
) -> tuple[p.AvailabilityException, ...]:
    """The person's own dated exceptions, except on days a re-optimization pins."""
    days = {e.day for e in pinned}
    own = tuple(
        p.AvailabilityException(day, windows)
        for day, windows in person.availability_exceptions
        if day not in days
    )
    return own + pinned


def build_problem(
    *,
    first_day: date,
    days: int,
    time_zone: str,
    people: Sequence[Person],
    queues: Sequence[Queue],
    requirements: Sequence[Requirement],
    templates: Sequence[ShiftTemplate],
    blocked: Sequence[Blocked],
    previous_shifts: Sequence[Shift],
    base_shifts: Sequence[Shift] | None,
) -> p.RosteringProblem:
    horizon = p.Horizon(first_day=first_day, days=days, time_zone=time_zone, interval_minutes=GRID_MINUTES)
    by_queue = {r.queue_id: r for r in requirements}
    pinned = (
        pinned_days(
            first_day=first_day,
            days=days,
            time_zone=time_zone,
            people=people,
            base_shifts=base_shifts,
            blocked=blocked,
        )
        if base_shifts is not None
        else {}
    )
    employees = []
    for person in people:
        mine = [b for b in blocked if b.employee_id == person.id]
        previous = [s for s in previous_shifts if s.employee_id == person.id]
        windows = (
            tuple(
                p.AvailabilityWindow(w.weekday - 1, w.start_minute, w.end_minute) for w in person.availability
            )
            if person.availability
            else None
        )
        employees.append(
            p.Employee(
                id=person.id,
                employment_type=EMPLOYMENT_TYPES.get(person.employment_type, "FULL_TIME"),
                contract=_contract(person),
                queues=frozenset(q.id for q in queues if may_work(person, q, first_day)),
                availability=windows,
                availability_exceptions=_exceptions(person, pinned.get(person.id, ())),
                blocked=tuple(p.BlockedTime(b.start, b.end, b.kind, b.reference) for b in mine),
                previous_shifts=tuple(p.PreviousShift(s.start, s.end) for s in previous),
            )
        )
    existing = (
        p.ExistingSchedule(existing_assignments(base_shifts, time_zone), lexicographic=True)
        if base_shifts is not None
        else None
    )
    return p.RosteringProblem(
        horizon=horizon,
        requirements=tuple(_requirement_on_grid(horizon, by_queue[q.id], q) for q in queues),
        templates=tuple(_template(t) for t in templates),
        employees=tuple(employees),
        existing=existing,
    )


def shifts_of(result: p.ScheduleResult) -> tuple[Shift, ...]:
    return tuple(
        Shift(
            employee_id=a.employee_id,
            queue_id=a.queue_id,
            template_id=a.template_id,
            start=a.start,
            end=a.end,
            activities=tuple(
                Activity(
                    ActivityKind.LUNCH if x.kind is p.ActivityKind.LUNCH else ActivityKind.BREAK,
                    x.start,
                    x.end,
                    x.paid,
                )
                for x in a.activities
            ),
        )
        for a in sorted(result.assignments, key=lambda a: (a.start, a.employee_id))
    )


def result_of(problem: p.RosteringProblem, shifts: Sequence[Shift]) -> p.ScheduleResult:
    """A stored schedule as the engine's result again, for its independent validator."""
    zone = problem.horizon.zone
    assignments = []
    for s in shifts:
        local = s.start.astimezone(zone)
        unpaid = sum(int((a.end - a.start).total_seconds() // 60) for a in s.activities if not a.paid)
        assignments.append(
            p.Assignment(
                employee_id=s.employee_id,
                day=local.date(),
                template_id=s.template_id,
                queue_id=s.queue_id,
                start_minute=local.hour * 60 + local.minute,
                start=s.start,
                end=s.end,
                paid_minutes=int((s.end - s.start).total_seconds() // 60) - unpaid,
                activities=tuple(
                    p.PlacedActivity(
                        p.ActivityKind.LUNCH if a.kind is ActivityKind.LUNCH else p.ActivityKind.BREAK,
                        a.start,
                        a.end,
                        a.paid,
                    )
                    for a in s.activities
                ),
            )
        )
    from cadre.scheduling.domain.rostering import coverage_report

    coverage, short = coverage_report(problem, assignments)
    return p.ScheduleResult(
        status=p.SolveStatus.FEASIBLE,
        method=p.Method.AUTO,
        assignments=tuple(assignments),
        coverage=coverage,
        short_intervals=short,
        objective=0,
        lower_bound=0,
    )


def unmet_rules(result: p.ScheduleResult, *, limit: int = 200) -> tuple[str, ...]:
    """What could not be met, named: rule breaches first, then the intervals left short."""
    found = []
    for b in result.breaches:
        week = f" week of {b.week_start}" if b.week_start else ""
        found.append(f"{b.rule.value}: employees/{b.employee_id}{week}: {b.detail}")
    found.extend(
        f"UNDER_COVERAGE: queues/{s.queue_id} at {s.start.isoformat()}: {s.scheduled} of {s.required}"
        for s in result.short_intervals
    )
    return tuple(found[:limit])
