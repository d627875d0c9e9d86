"""Statutory holidays outrank rest days, and hourly staff are paid their approved paid leave."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from cadre.performance.domain.money import Money
from cadre.performance.domain.pay_rules import BaseKind, DayClass, PayRules
from cadre.performance.domain.statement import (
    Employment,
    LineKind,
    PaidLeave,
    PayPeriod,
    WorkedTime,
    calculate_statement,
)

MARCH = PayPeriod(date(2026, 3, 1), date(2026, 3, 31))


def test_a_statutory_holiday_outranks_a_rest_day(rules: Callable[..., PayRules]) -> None:
    site = rules(statutory_holidays=[date(2026, 5, 1)])
    assert site.day_class(date(2026, 5, 1), rest_day=True) is DayClass.STATUTORY_HOLIDAY
    assert site.day_class(date(2026, 5, 2), rest_day=True) is DayClass.REST_DAY
    assert site.day_class(date(2026, 5, 4), rest_day=False) is DayClass.WORK_DAY


def test_hourly_staff_are_paid_paid_leave_at_their_rate(rules: Callable[..., PayRules]) -> None:
    hourly = rules(base_kind=BaseKind.HOURLY, base_amount=Money.of("42.50", "CNY"))
    statement = calculate_statement(
        employment=Employment("e", date(2025, 1, 1)),
        period=MARCH,
        rules=hourly,
        worked=[WorkedTime("w1", date(2026, 3, 2), 450)],
        leave=[PaidLeave("l1", date(2026, 3, 3), 480)],
    )
    lines = {line.kind: line for line in statement.lines}
    # 7.5 h × 42.50 = 318.75; 8 h × 42.50 = 340.00.
    assert lines[LineKind.BASE].amount == Money.of("318.75", "CNY")
    assert (lines[LineKind.PAID_LEAVE].quantity, lines[LineKind.PAID_LEAVE].amount) == (
        Decimal(8),
        Money.of("340.00", "CNY"),
    )
    assert lines[LineKind.PAID_LEAVE].fact_ids == ("l1",)


def test_a_monthly_wage_already_pays_leave(rules: Callable[..., PayRules]) -> None:
    statement = calculate_statement(
        employment=Employment("e", date(2025, 1, 1)),
        period=MARCH,
        rules=rules(),
        leave=[PaidLeave("l1", date(2026, 3, 3), 480)],
    )
    assert [line.kind for line in statement.lines] == [LineKind.BASE]
    assert statement.total == Money.of("8700.00", "CNY")
