"""An independent check of every hard rule on a finished schedule.

Written from the problem's definitions, not from the optimizer's model: it reads only the
:class:`ScheduleResult`'s assignments (datetimes, activities) and the
:class:`RosteringProblem`, works in real time for rest, blocked time and lengths and in the
employee's local calendar for days, and counts the previous published week for rest and
consecutive days. An empty list means every rule holds.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date, datetime, timedelta

from cadre.scheduling.domain.rostering.problem import (
    MINUTES_PER_DAY,
    Assignment,
    Employee,
    RosteringProblem,
    Rule,
    ScheduleResult,
    Violation,
)


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60.0


def validate(problem: RosteringProblem, result: ScheduleResult) -> list[Violation]:
    violations: list[Violation] = []
    horizon = problem.horizon
    zone = horizon.zone
    last_day = horizon.first_day + timedelta(days=horizon.days - 1)
    templates = {t.id: t for t in problem.templates}
    employees = {e.id: e for e in problem.employees}
    by_employee: dict[str, list[Assignment]] = defaultdict(list)

    for a in result.assignments:
        employee = employees.get(a.employee_id)
        template = templates.get(a.template_id)
        if employee is None:
            violations.append(Violation(Rule.UNKNOWN_EMPLOYEE, a.employee_id, "not in the problem", a.day))
            continue
        if template is None:
            violations.append(
                Violation(Rule.UNKNOWN_TEMPLATE, a.employee_id, f"template {a.template_id}", a.day)
            )
            continue
        by_employee[a.employee_id].append(a)

        def flag(rule: Rule, detail: str, a: Assignment = a) -> None:
            violations.append(Violation(rule, a.employee_id, detail, a.day))

        if not horizon.first_day <= a.day <= last_day:
            flag(Rule.OUTSIDE_HORIZON, f"{a.day} is outside the horizon")
        local_start = a.start.astimezone(zone)
        if local_start.date() != a.day or local_start.hour * 60 + local_start.minute != a.start_minute:
            flag(Rule.START_WINDOW, "start time does not match the day and start minute")
        if a.start_minute not in template.starts:
            flag(Rule.START_WINDOW, f"start minute {a.start_minute} is not an allowed start of {template.id}")
        length = _minutes(a.start, a.end)
        if length != template.length_minutes:
            flag(Rule.SHIFT_LENGTH, f"lasts {length:.0f} min, template says {template.length_minutes}")
        if a.queue_id not in employee.queues:
            flag(Rule.SKILL, f"not skilled for {a.queue_id}")
        if template.employment_types and employee.employment_type not in template.employment_types:
            flag(Rule.EMPLOYMENT_TYPE, f"{employee.employment_type} may not work {template.id}")
        if template.length_minutes > employee.contract.max_shift_minutes:
            flag(
                Rule.MAX_SHIFT_LENGTH,
                f"{template.length_minutes} min > {employee.contract.max_shift_minutes}",
            )
        windows = employee.windows_on(a.day)
        if not any(
            lo <= a.start_minute and a.start_minute + template.length_minutes <= hi for lo, hi in windows
        ):
            flag(Rule.AVAILABILITY, f"{a.start_minute}+{template.length_minutes} min is outside {windows}")
        for blocked in employee.blocked:
            if a.start < blocked.end and blocked.start < a.end:
                flag(Rule.BLOCKED_TIME, f"overlaps {blocked.kind.value} {blocked.start.isoformat()}")
        # breaks: each rule of the template exactly once, in its window, inside the shift, apart
        if len(a.activities) != len(template.breaks):
            flag(Rule.BREAK_PLACEMENT, f"{len(a.activities)} activities, template has {len(template.breaks)}")
        else:
            previous_end = a.start
            for activity, rule in zip(a.activities, template.breaks, strict=True):
                offset = _minutes(a.start, activity.start)
                if (
                    activity.kind is not rule.kind
                    or activity.paid != rule.paid
                    or _minutes(activity.start, activity.end) != rule.length_minutes
                    or not rule.earliest_offset_minutes <= offset <= rule.latest_offset_minutes
                    or activity.start < previous_end
                    or activity.end > a.end
                    or offset % horizon.interval_minutes
                ):
                    flag(Rule.BREAK_PLACEMENT, f"{rule.kind.value} at +{offset:.0f} min breaks its rule")
                previous_end = activity.end
        paid = template.length_minutes - sum(b.length_minutes for b in template.breaks if not b.paid)
        if a.paid_minutes != paid:
            flag(Rule.SHIFT_LENGTH, f"paid minutes {a.paid_minutes}, template gives {paid}")

    for employee in problem.employees:
        violations.extend(
            _per_employee(problem, employee, sorted(by_employee.get(employee.id, []), key=lambda a: a.start))
        )
    violations.extend(_coverage(problem, result))
    return violations


def _per_employee(problem: RosteringProblem, employee: Employee, shifts: list[Assignment]) -> list[Violation]:
    horizon = problem.horizon
    zone = horizon.zone
    contract = employee.contract
    out: list[Violation] = []
    days = [a.day for a in shifts]
    for day in {d for d in days if days.count(d) > 1}:
        out.append(Violation(Rule.ONE_SHIFT_PER_DAY, employee.id, f"{days.count(day)} shifts", day))

    # rest and overlap, the previous week's shifts included
    timeline = sorted(
        [(s.start, s.end, None) for s in employee.previous_shifts]
        + [(a.start, a.end, a.day) for a in shifts],
        key=lambda item: item[0],
    )
    for (_s1, e1, _d1), (s2, _e2, d2) in itertools.pairwise(timeline):
        if d2 is None:
            continue
        gap = _minutes(e1, s2)
        if gap < 0:
            out.append(Violation(Rule.OVERLAP, employee.id, "shifts overlap", d2))
        elif gap < contract.min_rest_minutes:
            out.append(
                Violation(Rule.MIN_REST, employee.id, f"{gap:.0f} min rest < {contract.min_rest_minutes}", d2)
            )

    # consecutive working days, counting local days of the previous week's shifts
    worked: set[date] = {s.start.astimezone(zone).date() for s in employee.previous_shifts} | set(days)
    for day in sorted(set(days)):
        run = 0
        cursor = day
        while cursor in worked:
            run += 1
            cursor -= timedelta(days=1)
        if run > contract.max_consecutive_days:
            out.append(
                Violation(
                    Rule.MAX_CONSECUTIVE_DAYS,
                    employee.id,
                    f"{run} days in a row > {contract.max_consecutive_days}",
                    day,
                )
            )

    for week in horizon.weeks():
        first = horizon.day(week[0])
        in_week = [a for a in shifts if 0 <= (a.day - first).days < len(week)]
        working_days = len({a.day for a in in_week})
        if working_days > contract.max_working_days_per_week:
            out.append(
                Violation(
                    Rule.MAX_WORKING_DAYS,
                    employee.id,
                    f"{working_days} days > {contract.max_working_days_per_week}",
                    first,
                )
            )
        minutes = sum(a.paid_minutes for a in in_week)
        if minutes > contract.max_minutes_per_week:
            out.append(
                Violation(
                    Rule.MAX_WEEKLY_MINUTES,
                    employee.id,
                    f"{minutes} > {contract.max_minutes_per_week}",
                    first,
                )
            )
        minimum = (
            contract.min_minutes_per_week
            if len(week) >= 7
            else contract.min_minutes_per_week * len(week) // 7
        )
        whole_days_off = sum(
            1
            for k in range(len(week))
            if any(
                b.start <= _midnight(problem, first + timedelta(days=k))
                and b.end >= _midnight(problem, first + timedelta(days=k + 1))
                for b in employee.blocked
            )
        )
        if whole_days_off and contract.max_working_days_per_week:
            minimum -= whole_days_off * contract.min_minutes_per_week // contract.max_working_days_per_week
        minimum = max(0, minimum)
        if minutes < minimum:
            out.append(Violation(Rule.MIN_WEEKLY_MINUTES, employee.id, f"{minutes} < {minimum}", first))
    return out


def _midnight(problem: RosteringProblem, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=problem.horizon.zone)


def _coverage(problem: RosteringProblem, result: ScheduleResult) -> list[Violation]:
    """The reported coverage must be what the shifts and their breaks give (counted here anew)."""
    horizon = problem.horizon
    step = horizon.interval_minutes
    per_day = MINUTES_PER_DAY // step
    n = horizon.intervals
    counted: dict[str, list[int]] = {r.queue_id: [0] * n for r in problem.requirements}
    for a in result.assignments:
        if a.queue_id not in counted:
            continue
        first = (a.day - horizon.first_day).days * per_day + a.start_minute // step
        on_break: set[int] = set()
        for activity in a.activities:
            offset = int(_minutes(a.start, activity.start)) // step
            on_break.update(range(offset, offset + int(_minutes(activity.start, activity.end)) // step))
        for k in range(int(_minutes(a.start, a.end)) // step):
            if k not in on_break and 0 <= first + k < n:
                counted[a.queue_id][first + k] += 1
    out: list[Violation] = []
    reported = {c.queue_id: c for c in result.coverage}
    for requirement in problem.requirements:
        coverage = reported.get(requirement.queue_id)
        if coverage is None or list(coverage.scheduled) != counted[requirement.queue_id]:
            out.append(
                Violation(
                    Rule.COVERAGE_REPORT, None, f"scheduled agents of {requirement.queue_id} misreported"
                )
            )
        elif tuple(coverage.required) != requirement.required:
            out.append(
                Violation(
                    Rule.COVERAGE_REPORT, None, f"required agents of {requirement.queue_id} misreported"
                )
            )
    return out


__all__ = ["validate"]
