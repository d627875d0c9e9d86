"""Comparing two published versions: who changed, and on which local days."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cadre.scheduling.domain.schedule import Activity, ActivityKind, Shift, changed_days, changed_employees

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 12, 7)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def shift(employee: str, start: datetime, hours: float = 8.5) -> Shift:
    lunch = start + timedelta(hours=4)
    return Shift(
        employee,
        "billing",
        "day",
        start,
        start + timedelta(hours=hours),
        (Activity(ActivityKind.LUNCH, lunch, lunch + timedelta(minutes=30), paid=False),),
    )


def test_the_same_shifts_change_no_day() -> None:
    shifts = [shift("ana", at(DAY, 8)), shift("ben", at(DAY, 10))]
    assert changed_days(shifts, list(reversed(shifts)), "Europe/Berlin") == []
    assert changed_employees(iter(shifts), iter(shifts)) == []


def test_a_moved_shift_changes_the_day_it_left_and_the_day_it_went_to() -> None:
    ana, ben = shift("ana", at(DAY, 8)), shift("ben", at(DAY, 10))
    moved = shift("ana", at(DAY + timedelta(days=2), 8))
    assert changed_days([ana, ben], [moved, ben], "Europe/Berlin") == [
        ("ana", DAY),
        ("ana", DAY + timedelta(days=2)),
    ]
    assert changed_employees([ana, ben], [moved, ben]) == ["ana"]


def test_a_break_moved_inside_a_shift_changes_that_day_only() -> None:
    ben = shift("ben", at(DAY, 10))
    moved_break = replace(ben, activities=())
    assert changed_days([ben], [moved_break], "Europe/Berlin") == [("ben", DAY)]


def test_a_night_shift_touches_both_local_days_and_ends_exclusive() -> None:
    night = shift("cai", at(DAY, 22))  # 22:00–06:30 local
    assert changed_days([], [night], "Europe/Berlin") == [("cai", DAY), ("cai", DAY + timedelta(days=1))]
    until_midnight = Shift("cai", "billing", "late", at(DAY, 16), at(DAY + timedelta(days=1), 0))
    assert changed_days([until_midnight], [], "Europe/Berlin") == [("cai", DAY)]
    # Days are the team's local days: 00:30 in Berlin is 23:30 UTC the day before.
    early = Shift("cai", "billing", "early", at(DAY, 0, 30), at(DAY, 8))
    assert changed_days([], [early], "Europe/Berlin") == [("cai", DAY)]
    assert changed_days([], [early], "UTC") == [("cai", DAY - timedelta(days=1)), ("cai", DAY)]
