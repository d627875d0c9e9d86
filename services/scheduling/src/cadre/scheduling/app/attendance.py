"""Agent states in, adherence and attendance out.

States are stored keyed by (agent, moment), so a state sent again is not a second state.
Each change recomputes the local days it can touch (its day and the next, since a state lasts
until the next change); a day whose figures moved gets a higher revision and an
`attendance.recorded` event, and a day whose figures did not move publishes nothing. A
publication (a new version, a swap, accepted overtime) changes what was scheduled: the days
its changed shifts touch are recomputed the same way, in its unit of work.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cadre.chassis.errors import Violations
from cadre.scheduling.app.workforce_ports import Workforce
from cadre.scheduling.domain.access import Caller
from cadre.scheduling.domain.attendance import DayFigures, StateChange, day_bounds, figures_for_day
from cadre.scheduling.domain.events import AttendanceRecorded
from cadre.scheduling.domain.schedule import Shift, changed_days

MAX_CHANGES = 10_000
MAX_DAYS = 63


def check_changes(changes: Sequence[StateChange], now: datetime) -> None:
    violations = Violations()
    if not changes:
        violations.add("changes", "REQUIRED", "send at least one change")
    if len(changes) > MAX_CHANGES:
        violations.add("changes", "TOO_MANY", f"at most {MAX_CHANGES} per call")
    for i, c in enumerate(changes[:MAX_CHANGES]):
        if c.time > now + timedelta(minutes=5):
            violations.add(f"changes[{i}].time", "IN_THE_FUTURE", "states are reported after they begin")
    violations.raise_if_any()


def record_states(
    w: Workforce, caller: Caller | None, changes: Sequence[StateChange], *, now: datetime
) -> tuple[int, int]:
    """(new, already known). `caller` None: from the bus, trusted like a service."""
    check_changes(changes, now)
    by_person: dict[str, list[StateChange]] = defaultdict(list)
    for c in changes:
        by_person[c.employee_id].append(c)
    teams = {}
    for employee_id in sorted(by_person):
        team_id = w.team_id_at(employee_id, now)
        team = w.team(team_id) if team_id else None
        if caller is not None:
            caller.require_person(employee_id, team.path if team else None)
        teams[employee_id] = team
    unique = list({(c.employee_id, c.time): c for c in changes}.values())
    new = w.attendance.record_states(unique)
    for employee_id, mine in by_person.items():
        team = teams[employee_id]
        zone = team.time_zone if team else "UTC"
        days = set()
        for c in mine:
            local = c.time.astimezone(ZoneInfo(zone)).date()
            days.update({local, local + timedelta(days=1)})
        for day in sorted(days):
            refresh_day(w, employee_id=employee_id, day=day, now=now)
    return new, len(changes) - new


def _day_shifts(w: Workforce, team_id: str, employee_id: str, start: datetime, end: datetime) -> list:  # type: ignore[type-arg]
    first, last = start.date() - timedelta(days=1), end.date() + timedelta(days=1)
    return [
        s
        for schedule in w.schedules.published_overlapping(team_id, first, last)
        for s in schedule.shifts
        if s.employee_id == employee_id and s.start < end and start < s.end
    ]


def refresh_day(w: Workforce, *, employee_id: str, day: date, now: datetime) -> DayFigures | None:
    team_id = w.team_id_of(employee_id, day)
    team = w.team(team_id) if team_id else None
    zone = team.time_zone if team else "UTC"
    start, end = day_bounds(day, zone)
    if start > now:
        return None
    changes = w.attendance.states(employee_id, start, end)
    shifts = _day_shifts(w, team_id, employee_id, start, end) if team_id else []
    if not changes and not shifts:
        return None
    figures = figures_for_day(
        employee_id=employee_id, day=day, time_zone=zone, changes=changes, shifts=shifts, now=now
    )
    stored = w.attendance.day(employee_id, day)
    if stored is not None and stored[0] == figures:
        return figures
    revision = stored[2] + 1 if stored else 1
    w.attendance.put_day(figures, org_unit_id=team_id or "", revision=revision)
    if figures.worked_minutes or stored is not None:
        w.record(AttendanceRecorded(figures, team_id or "", revision))
    return figures


def refresh_published(
    w: Workforce, *, org_unit_id: str, before: Iterable[Shift], after: Iterable[Shift], now: datetime
) -> None:
    """After `after` replaced `before` as the team's published shifts: every (person, local day)
    a changed shift touches and whose attendance is recorded already is computed again (a new
    revision and `attendance.recorded` only where the figures moved). A day with no states
    yet is left alone; its first state computes it against the schedule then published."""
    team = w.team(org_unit_id)
    days: dict[str, set[date]] = defaultdict(set)
    for employee_id, day in changed_days(before, after, team.time_zone if team else "UTC"):
        days[employee_id].add(day)
    for employee_id, touched in sorted(days.items()):
        recorded = {figures.day for figures, _ in w.attendance.days(employee_id, min(touched), max(touched))}
        for day in sorted(touched & recorded):
            refresh_day(w, employee_id=employee_id, day=day, now=now)


def list_days(
    w: Workforce, *, employee_id: str, first: date, last: date, now: datetime
) -> list[tuple[DayFigures, int]]:
    violations = Violations()
    if last < first:
        violations.add("end_date", "RANGE_EMPTY", "must not be before start_date")
    elif (last - first).days > MAX_DAYS:
        violations.add("end_date", "RANGE_TOO_LONG", f"at most {MAX_DAYS} days after start_date")
    violations.raise_if_any()
    caller = w.caller(now)
    team_id = w.team_id_at(employee_id, now)
    team = w.team(team_id) if team_id else None
    caller.require_person(employee_id, team.path if team else None)
    found: list[tuple[DayFigures, int]] = w.attendance.days(employee_id, first, last)
    return found
