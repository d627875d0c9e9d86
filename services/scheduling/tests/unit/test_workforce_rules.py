"""The day-to-day rules without I/O: leave days, attendance minutes, swap rules, versions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cadre.chassis.errors import DomainError
from cadre.scheduling.domain import swap
from cadre.scheduling.domain.attendance import AgentState, StateChange, figures_for_day
from cadre.scheduling.domain.leave import day_minutes
from cadre.scheduling.domain.schedule import (
    Activity,
    ActivityKind,
    Shift,
    changed_assignments,
    changed_employees,
)
from cadre.scheduling.domain.team import Contract, Person, PersonState, Role, Skill

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


DAY = date(2026, 12, 7)


def shift(employee: str, start: datetime, hours: float = 8.5, lunch_at: float | None = 4.0) -> Shift:
    end = start + timedelta(hours=hours)
    activities = ()
    if lunch_at is not None:
        lunch = start + timedelta(hours=lunch_at)
        activities = (Activity(ActivityKind.LUNCH, lunch, lunch + timedelta(minutes=30), paid=False),)
    return Shift(employee, "billing", "day", start, end, activities)


def person(
    employee: str, *, rest: int = 660, weekly: int = 2400, skills: tuple[str, ...] = ("billing",)
) -> Person:
    return Person(
        id=employee,
        role=Role.AGENT,
        state=PersonState.ACTIVE,
        employment_type=1,
        contract=Contract(max_weekly_minutes=weekly, min_rest_minutes=rest),
        skills=tuple(Skill(s, 3) for s in skills),
        availability=(),
        virtual_positions=(),
        hire_date=None,
    )


def test_leave_is_counted_per_local_day_and_capped_at_a_working_day() -> None:
    # Across the October DST change: local days, not 24-hour blocks.
    start = at(date(2026, 10, 24), 9)
    end = at(date(2026, 10, 26), 12)
    assert day_minutes(start, end, "Europe/Berlin") == (
        (date(2026, 10, 24), 480),
        (date(2026, 10, 25), 480),
        (date(2026, 10, 26), 480),
    )
    assert day_minutes(at(DAY, 13), at(DAY, 15, 30), "Europe/Berlin") == ((DAY, 150),)


def test_worked_and_adherent_minutes_follow_the_states() -> None:
    planned = shift("ana", at(DAY, 8))  # 08:00–16:30, lunch 12:00–12:30 unpaid
    changes = [
        StateChange("ana", at(DAY, 8, 10), AgentState.READY),  # ten minutes late
        StateChange("ana", at(DAY, 12), AgentState.LUNCH),
        StateChange("ana", at(DAY, 12, 45), AgentState.ON_CONTACT),  # fifteen minutes long lunch
        StateChange("ana", at(DAY, 16, 30), AgentState.OFFLINE),
    ]
    figures = figures_for_day(
        employee_id="ana",
        day=DAY,
        time_zone="Europe/Berlin",
        changes=changes,
        shifts=[planned],
        now=at(DAY + timedelta(days=1), 0),
    )
    assert figures.scheduled_minutes == 480
    assert figures.worked_minutes == 8 * 60 + 20
    assert figures.adherent_minutes == 480 - 10 - 15
    assert figures.work_day and round(figures.adherence, 4) == round(455 / 480, 4)


def test_a_day_without_states_or_shifts_counts_nothing_after_the_last_state() -> None:
    changes = [StateChange("ana", at(DAY, 23), AgentState.READY)]
    figures = figures_for_day(
        employee_id="ana",
        day=DAY,
        time_zone="Europe/Berlin",
        changes=changes,
        shifts=[],
        now=at(DAY, 23, 30),
    )
    assert figures.worked_minutes == 30 and not figures.work_day and figures.conformance == 0.0


def test_changed_employees_and_assignments() -> None:
    a, b = shift("ana", at(DAY, 8)), shift("ben", at(DAY, 10))
    moved_break = Shift("ben", "billing", "day", b.start, b.end, ())
    assert changed_employees([a, b], [a, moved_break]) == ["ben"]
    assert changed_assignments([a, b], [a, moved_break]) == 0
    assert changed_assignments([a, b], [a]) == 1


def _check(p: Person, taken: Shift, after: list[Shift]) -> None:
    swap.check_person(
        p,
        taken=taken,
        after=after,
        time_zone="Europe/Berlin",
        may_work_queue=lambda who, q, d: any(s.skill == q for s in who.skills),
        template_types=(),
        blocked=[],
    )


def _rule(error: pytest.ExceptionInfo[DomainError]) -> str:
    return error.value.reason


def test_a_swap_that_cuts_rest_names_the_rule() -> None:
    late = shift("ben", at(DAY, 13, 30))  # ends 22:00
    early_next = shift("ana", at(DAY + timedelta(days=1), 7))
    after = [Shift("ana", late.queue_id, late.template_id, late.start, late.end, late.activities), early_next]
    with pytest.raises(DomainError) as broken:
        _check(person("ana"), after[0], after)
    assert _rule(broken) == "MIN_REST" and broken.value.metadata["employee"] == "employees/ana"
    _check(person("ana", rest=540), after[0], after)  # nine hours of rest are enough for this contract


def test_a_swap_needs_the_skill_and_the_hours() -> None:
    taken = shift("ana", at(DAY, 8))
    with pytest.raises(DomainError) as unskilled:
        _check(person("ana", skills=("sales",)), taken, [taken])
    assert _rule(unskilled) == "SKILL"
    week = [shift("ana", at(DAY + timedelta(days=i), 8)) for i in range(5)]
    with pytest.raises(DomainError) as too_much:
        _check(person("ana", weekly=4 * 480), week[0], week)
    assert _rule(too_much) == "MAX_WEEKLY_MINUTES"
    with pytest.raises(DomainError) as late_notice:
        swap.check_notice([taken], taken.start - timedelta(hours=2))
    assert _rule(late_notice) == "NOTICE_PERIOD"
