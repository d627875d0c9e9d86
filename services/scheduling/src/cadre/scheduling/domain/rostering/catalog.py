"""The shift choices of a problem and who may take each: patterns, break groups and eligibility.

A *pattern* is one concrete shift choice, ``(queue, day, template, start)``. Eligibility is
computed with NumPy per (employee, day) over all patterns of that day, and cached for
employees who share employment type, maximum shift length and availability windows and have
no blocked time or previous-week shift near that day (most of a large roster).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from cadre.scheduling.domain.rostering.problem import MINUTES_PER_DAY, Employee, RosteringProblem

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Pattern:
    index: int
    queue: int  # index into problem.requirements
    day: int
    template: int  # index into problem.templates
    start_minute: int  # wall minute of the start day
    first_slot: int  # horizon interval of the start
    slots: int  # length in intervals
    real_start: int  # real minutes from the horizon's first midnight
    real_end: int
    paid_minutes: int
    unpopular: bool


@dataclass(frozen=True)
class BreakGroup:
    """All patterns of one (queue, day, template) and one of the template's breaks.

    The breaks of these shifts start within ``[first_slot + earliest, first_slot + latest]`` of
    each shift; since every window has the same width, counts per slot can be matched to the
    shifts in start order exactly when the prefix conditions of ``shift_count`` hold.
    """

    queue: int
    day: int
    template: int
    break_index: int
    patterns: tuple[int, ...]  # in start order
    earliest_slots: int
    latest_slots: int
    length_slots: int
    paid: bool


@dataclass
class Catalog:
    problem: RosteringProblem
    patterns: list[Pattern]
    groups: list[BreakGroup]
    # per day: template index and start minute of each "day shape" (pattern without the queue)
    shape_template: list[IntArray]
    shape_start: list[IntArray]
    # (queue, day, shape) -> pattern index
    pattern_of: dict[tuple[int, int, int], int]
    # eligible[e][d]: shape indices employee e may work on day d (any queue of theirs)
    eligible: list[list[IntArray]]
    employee_queues: list[list[int]]
    # consecutive days worked just before the horizon, per employee
    worked_before: list[set[int]]
    # weekly minimum paid minutes per employee and week (see week_minimum)
    minimums: list[list[int]]

    def employee_patterns(self, e: int, d: int) -> list[int]:
        shapes = self.eligible[e][d]
        return [self.pattern_of[(q, d, int(s))] for s in shapes for q in self.employee_queues[e]]

    def eligible_count(self) -> int:
        return sum(
            len(shapes) * len(self.employee_queues[e])
            for e, days in enumerate(self.eligible)
            for shapes in days
        )


def build_catalog(problem: RosteringProblem) -> Catalog:
    horizon = problem.horizon
    step = horizon.interval_minutes
    per_day = horizon.intervals_per_day
    templates = problem.templates
    queue_index = {r.queue_id: i for i, r in enumerate(problem.requirements)}
    fairness = problem.fairness

    shape_template: list[IntArray] = []
    shape_start: list[IntArray] = []
    shape_real_start: list[IntArray] = []
    shape_real_end: list[IntArray] = []
    shape_length: list[IntArray] = []
    for d in range(horizon.days):
        t_idx = [t for t, template in enumerate(templates) for _ in template.starts]
        starts = [s for template in templates for s in template.starts]
        shape_template.append(np.asarray(t_idx, dtype=np.int64))
        shape_start.append(np.asarray(starts, dtype=np.int64))
        real_start = [horizon.real_minutes(horizon.local(d, s)) for s in starts]
        shape_real_start.append(np.asarray(real_start, dtype=np.int64))
        lengths = np.asarray([templates[t].length_minutes for t in t_idx], dtype=np.int64)
        shape_length.append(lengths)
        shape_real_end.append(shape_real_start[-1] + lengths)

    patterns: list[Pattern] = []
    pattern_of: dict[tuple[int, int, int], int] = {}
    for q in range(len(problem.requirements)):
        for d in range(horizon.days):
            weekend = horizon.day(d).weekday() in fairness.weekend_days
            for shape, (t, s) in enumerate(zip(shape_template[d], shape_start[d], strict=True)):
                template = templates[int(t)]
                pattern = Pattern(
                    index=len(patterns),
                    queue=q,
                    day=d,
                    template=int(t),
                    start_minute=int(s),
                    first_slot=d * per_day + int(s) // step,
                    slots=template.length_minutes // step,
                    real_start=int(shape_real_start[d][shape]),
                    real_end=int(shape_real_end[d][shape]),
                    paid_minutes=template.paid_minutes,
                    unpopular=weekend or int(s) >= fairness.late_start_minute,
                )
                pattern_of[(q, d, shape)] = pattern.index
                patterns.append(pattern)

    groups: list[BreakGroup] = []
    by_qdt: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    for p in patterns:
        by_qdt[(p.queue, p.day, p.template)].append(p.index)
    for (q, d, t), indices in by_qdt.items():
        ordered = tuple(sorted(indices, key=lambda i: patterns[i].start_minute))
        for k, rule in enumerate(templates[t].breaks):
            groups.append(
                BreakGroup(
                    queue=q,
                    day=d,
                    template=t,
                    break_index=k,
                    patterns=ordered,
                    earliest_slots=rule.earliest_offset_minutes // step,
                    latest_slots=rule.latest_offset_minutes // step,
                    length_slots=rule.length_minutes // step,
                    paid=rule.paid,
                )
            )

    day_spans = [
        (int(shape_real_start[d].min(initial=0)), int(shape_real_end[d].max(initial=0)))
        for d in range(horizon.days)
    ]
    type_masks: dict[str, BoolArray] = {}
    cache: dict[tuple[object, ...], BoolArray] = {}
    eligible: list[list[IntArray]] = []
    employee_queues: list[list[int]] = []
    worked_before: list[set[int]] = []
    for employee in problem.employees:
        employee_queues.append(sorted(queue_index[q] for q in employee.queues if q in queue_index))
        worked_before.append(_days_worked_before(problem, employee))
        if employee.employment_type not in type_masks:
            type_masks[employee.employment_type] = np.asarray(
                [not t.employment_types or employee.employment_type in t.employment_types for t in templates],
                dtype=np.bool_,
            )
        type_ok = type_masks[employee.employment_type]
        blocked = [(horizon.real_minutes(b.start), _ceil_minutes(problem, b.end)) for b in employee.blocked]
        rest = employee.contract.min_rest_minutes
        previous = [
            (horizon.real_minutes(s.start), horizon.real_minutes(s.end)) for s in employee.previous_shifts
        ]
        days: list[IntArray] = []
        for d in range(horizon.days):
            if not employee_queues[-1]:
                days.append(np.empty(0, dtype=np.int64))
                continue
            windows = employee.windows_on(horizon.day(d))
            day_lo, day_hi = day_spans[d]
            near_blocks = [(a, b) for a, b in blocked if a < day_hi and b > day_lo]
            near_previous = [(a, b) for a, b in previous if b + rest > day_lo and a < day_hi]
            key = (employee.employment_type, employee.contract.max_shift_minutes, windows, d)
            mask = cache.get(key) if not near_blocks and not near_previous else None
            if mask is None:
                shape_starts, lengths = shape_start[d], shape_length[d]
                mask = type_ok[shape_template[d]] & (lengths <= employee.contract.max_shift_minutes)
                within = np.zeros(len(shape_starts), dtype=np.bool_)
                for lo, hi in windows:
                    within |= (shape_starts >= lo) & (shape_starts + lengths <= hi)
                mask &= within
                if not near_blocks and not near_previous:
                    cache[key] = mask
                else:
                    rs, re = shape_real_start[d], shape_real_end[d]
                    for a, b in near_blocks:
                        mask = mask & ~((rs < b) & (re > a))
                    for a, b in near_previous:
                        # no overlap with a previous shift, and the rest after it
                        mask = mask & ~((rs < b + rest) & (re > a))
            days.append(np.flatnonzero(mask).astype(np.int64))
        eligible.append(days)
    return Catalog(
        problem=problem,
        patterns=patterns,
        groups=groups,
        shape_template=shape_template,
        shape_start=shape_start,
        pattern_of=pattern_of,
        eligible=eligible,
        employee_queues=employee_queues,
        worked_before=worked_before,
        minimums=[[week_minimum(problem, e, week) for week in horizon.weeks()] for e in problem.employees],
    )


def _days_worked_before(problem: RosteringProblem, employee: Employee) -> set[int]:
    """Negative day indices (-1 = the day before the horizon) on which a previous shift started."""
    horizon = problem.horizon
    days: set[int] = set()
    for shift in employee.previous_shifts:
        local_day = shift.start.astimezone(horizon.zone).date()
        offset = (local_day - horizon.first_day).days
        if offset < 0:
            days.add(offset)
    return days


def week_minimum(problem: RosteringProblem, employee: Employee, week: range) -> int:
    """The contract's weekly minimum for the days of ``week`` (pro rata when short), less a
    day's share (minimum / working days) for each day wholly blocked by leave, a sick call or
    training: time off that is already accounted for is not owed again."""
    contract = employee.contract
    minimum = contract.min_minutes_per_week
    if len(week) < 7:
        minimum = minimum * len(week) // 7
    if not employee.blocked:
        return minimum
    horizon = problem.horizon
    blocked_days = 0
    for d in week:
        start, end = horizon.local(d, 0), horizon.local(d + 1, 0)
        if any(b.start <= start and b.end >= end for b in employee.blocked):
            blocked_days += 1
    if blocked_days and contract.max_working_days_per_week:
        minimum -= blocked_days * contract.min_minutes_per_week // contract.max_working_days_per_week
    return max(0, minimum)


def _ceil_minutes(problem: RosteringProblem, moment: datetime) -> int:
    seconds = (moment.astimezone(UTC) - problem.horizon.start_utc).total_seconds()
    return math.ceil(seconds / 60)


__all__ = ["MINUTES_PER_DAY", "BreakGroup", "Catalog", "Pattern", "build_catalog", "week_minimum"]
