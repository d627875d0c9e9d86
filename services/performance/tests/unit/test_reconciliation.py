"""Reconciliation of one day: every difference between scheduled, worked and paid is named."""

from __future__ import annotations

from cadre.performance.domain.reconciliation import (
    ACCEPTED_OVERTIME_NOT_WORKED,
    NO_ATTENDANCE,
    NOT_EMPLOYED,
    OVERTIME_NOT_ACCEPTED,
    WORKED_BEYOND_SCHEDULE_UNPAID,
    WORKED_LESS_THAN_SCHEDULED,
    DayFacts,
    reconcile_day,
)


def codes(facts: DayFacts) -> dict[str, int]:
    return {d.code: d.minutes for d in reconcile_day(facts).discrepancies}


def test_a_day_worked_as_scheduled_has_nothing_to_explain() -> None:
    day = reconcile_day(DayFacts(scheduled=480, worked=480, has_attendance=True))
    assert (day.paid, day.discrepancies) == (480, ())


def test_a_short_day_is_flagged_unless_leave_or_training_covers_it() -> None:
    assert codes(DayFacts(scheduled=480, worked=420, has_attendance=True)) == {WORKED_LESS_THAN_SCHEDULED: 60}
    covered = DayFacts(scheduled=480, worked=420, paid_leave=30, training=30, has_attendance=True)
    assert codes(covered) == {}
    # A monthly wage pays the schedule; paid leave and training are paid on top of the work.
    assert reconcile_day(covered).paid == 480 + 30 + 30


def test_an_hourly_wage_pays_what_was_worked() -> None:
    day = reconcile_day(DayFacts(scheduled=480, worked=420, has_attendance=True, hourly=True))
    assert day.paid == 420
    assert "hourly wage pays only the worked time" in day.discrepancies[0].explanation


def test_overtime_paid_as_recorded_and_compared_with_what_was_accepted() -> None:
    facts = DayFacts(scheduled=480, worked=600, overtime=120, accepted_overtime=60, has_attendance=True)
    assert codes(facts) == {OVERTIME_NOT_ACCEPTED: 60}
    assert reconcile_day(facts).paid == 480 + 120
    assert codes(DayFacts(scheduled=480, worked=480, accepted_overtime=60, has_attendance=True)) == {
        ACCEPTED_OVERTIME_NOT_WORKED: 60
    }


def test_extra_time_outside_overtime_is_not_paid_by_a_monthly_wage() -> None:
    facts = DayFacts(scheduled=480, worked=510, has_attendance=True)
    assert codes(facts) == {WORKED_BEYOND_SCHEDULE_UNPAID: 30}
    assert reconcile_day(facts).paid == 480


def test_missing_attendance_and_days_outside_employment() -> None:
    assert codes(DayFacts(scheduled=480)) == {NO_ATTENDANCE: 480}
    day = reconcile_day(DayFacts(scheduled=0, worked=60, has_attendance=True, employed=False))
    assert (day.paid, [d.code for d in day.discrepancies]) == (0, [NOT_EMPLOYED])
