"""Worked examples a person can check with a calculator.

The site's rules: a monthly wage of 8700.00 CNY over 174 standard hours = 50.00 an hour;
overtime 150% / 200% / 300%; deductions capped at 20% of the month's wage and never below
the 2490.00 minimum wage.
"""

from datetime import date
from decimal import Decimal

import pytest

from cadre.chassis.errors import DomainError
from cadre.performance.domain.money import Money
from cadre.performance.domain.pay_rules import BaseKind, DayClass
from cadre.performance.domain.statement import (
    CAP_RATIO,
    MINIMUM_WAGE,
    Employment,
    ErrorFact,
    LineKind,
    OvertimeWorked,
    PayPeriod,
    PeriodScore,
    TrainingTime,
    WorkedTime,
    calculate_statement,
    prorate,
)

FEB = PayPeriod(date(2026, 2, 1), date(2026, 2, 28))
MAR = PayPeriod(date(2026, 3, 1), date(2026, 3, 31))
ALWAYS = Employment("e1", date(2020, 1, 1))


def cny(amount: str) -> Money:
    return Money.of(amount, "CNY")


def errors(error_class, count, day=date(2026, 2, 10)):
    return [ErrorFact(f"{error_class}-{i}", day, error_class) for i in range(count)]


def line(statement, kind, detail=None):
    found = [x for x in statement.lines if x.kind is kind and (detail is None or x.detail == detail)]
    assert len(found) == 1, found
    return found[0]


def test_overtime_by_day_class(rules):
    statement = calculate_statement(
        employment=ALWAYS,
        period=FEB,
        rules=rules(version=3),
        overtime=[
            OvertimeWorked("ot-1", date(2026, 2, 3), DayClass.WORK_DAY, 90),
            OvertimeWorked("ot-2", date(2026, 2, 4), DayClass.WORK_DAY, 90),
            OvertimeWorked("ot-3", date(2026, 2, 7), DayClass.REST_DAY, 480),
            OvertimeWorked("ot-4", date(2026, 2, 17), DayClass.STATUTORY_HOLIDAY, 240),
        ],
    )
    work = line(statement, LineKind.OVERTIME, "WORK_DAY")
    # 3 h × 50.00 × 150% = 225.00
    assert (work.quantity, work.rate, work.amount) == (Decimal(3), Decimal(75), cny("225.00"))
    assert work.fact_ids == ("ot-1", "ot-2")
    assert work.rule_version == 3
    # 8 h × 50.00 × 200% = 800.00; 4 h × 50.00 × 300% = 600.00
    assert line(statement, LineKind.OVERTIME, "REST_DAY").amount == cny("800.00")
    assert line(statement, LineKind.OVERTIME, "STATUTORY_HOLIDAY").amount == cny("600.00")
    assert line(statement, LineKind.BASE).amount == cny("8700.00")
    assert statement.total == cny("10325.00")


def test_a_line_is_rounded_once_not_per_fact(rules):
    # 5000.00 / 174 h = 28.7356…/h; ×150% = 43.1034…/h. Three 20-minute facts make 1 h:
    # one line of 43.10, where rounding each fact (14.37 × 3) would give 43.11.
    statement = calculate_statement(
        employment=ALWAYS,
        period=FEB,
        rules=rules(base_amount=cny("5000.00")),
        overtime=[OvertimeWorked(f"ot-{i}", date(2026, 2, 3 + i), DayClass.WORK_DAY, 20) for i in range(3)],
    )
    assert line(statement, LineKind.OVERTIME).amount == cny("43.10")
    assert statement.total == cny("5043.10")


def test_hourly_base_and_paid_training(rules):
    statement = calculate_statement(
        employment=ALWAYS,
        period=FEB,
        rules=rules(base_kind=BaseKind.HOURLY, base_amount=cny("25.50")),
        worked=[WorkedTime("w-1", date(2026, 2, 2), 450), WorkedTime("w-2", date(2026, 2, 3), 480)],
        training=[TrainingTime("t-1", date(2026, 2, 5), 150)],
    )
    base = line(statement, LineKind.BASE)
    # 15.5 h × 25.50 = 395.25; training 2.5 h × 30.00 = 75.00
    assert (base.quantity, base.amount, base.fact_ids) == (Decimal("15.5"), cny("395.25"), ("w-1", "w-2"))
    assert line(statement, LineKind.TRAINING).amount == cny("75.00")
    assert statement.total == cny("470.25")


@pytest.mark.parametrize(
    ("score", "tier", "bonus"),
    [
        ("59.99", None, None),
        ("60.00", "BRONZE", "200.00"),
        ("75.00", "SILVER", "500.00"),
        ("90", "GOLD", "1000.00"),
    ],
)
def test_bonus_tier_on_the_statement(score, tier, bonus, rules):
    statement = calculate_statement(
        employment=ALWAYS,
        period=FEB,
        rules=rules(),
        score=PeriodScore(Decimal(score), scorecard_version=2, fact_ids=("kpi-e1-2026-02",)),
    )
    bonuses = [x for x in statement.lines if x.kind is LineKind.PERFORMANCE_BONUS]
    if tier is None:
        assert bonuses == []
        assert statement.total == cny("8700.00")
    else:
        (only,) = bonuses
        assert only.detail.startswith(tier)
        assert only.amount == cny(bonus)
        assert only.fact_ids == ("kpi-e1-2026-02",)
        assert statement.total == cny("8700.00") + cny(bonus)


def test_deductions_under_the_cap_are_taken_in_full(rules):
    # 3 MINOR = 300.00, well under 20% of 8700.00 = 1740.00.
    statement = calculate_statement(employment=ALWAYS, period=FEB, rules=rules(), errors=errors("MINOR", 3))
    minor = line(statement, LineKind.DEDUCTION, "MINOR")
    assert (minor.quantity, minor.amount) == (Decimal(3), cny("-300.00"))
    assert [x.kind for x in statement.lines].count(LineKind.DEDUCTION_LIMIT) == 0
    assert statement.total == cny("8400.00")


def test_deduction_cap_of_20_percent_binds(rules):
    # Wage 8700.00: 20% = 1740.00; above the minimum wage: 8700 − 2490 = 6210.00. The cap binds.
    # Errors 4 × 500.00 + 1 × 100.00 = 2100.00 → 360.00 given back → net −1740.00.
    statement = calculate_statement(
        employment=ALWAYS, period=FEB, rules=rules(), errors=errors("MAJOR", 4) + errors("MINOR", 1)
    )
    assert line(statement, LineKind.DEDUCTION, "MAJOR").amount == cny("-2000.00")
    assert line(statement, LineKind.DEDUCTION, "MINOR").amount == cny("-100.00")
    limit = line(statement, LineKind.DEDUCTION_LIMIT)
    assert (limit.detail, limit.amount) == (CAP_RATIO, cny("360.00"))
    assert len(limit.fact_ids) == 5
    assert statement.deductions == cny("-1740.00")
    assert statement.total == cny("6960.00")


def test_minimum_wage_floor_binds(rules):
    # Wage 3000.00: 20% = 600.00, but only 3000 − 2490 = 510.00 is above the minimum wage.
    # Errors 2 × 500.00 = 1000.00 → 490.00 given back → the person keeps exactly 2490.00.
    statement = calculate_statement(
        employment=ALWAYS, period=FEB, rules=rules(base_amount=cny("3000.00")), errors=errors("MAJOR", 2)
    )
    limit = line(statement, LineKind.DEDUCTION_LIMIT)
    assert (limit.detail, limit.amount) == (MINIMUM_WAGE, cny("490.00"))
    assert statement.deductions == cny("-510.00")
    assert statement.total == cny("2490.00")


def test_cap_and_floor_both_binding_at_the_same_amount(rules):
    # Wage 3112.50: 20% = 622.50 and 3112.50 − 2490.00 = 622.50 — both limits give the same.
    statement = calculate_statement(
        employment=ALWAYS, period=FEB, rules=rules(base_amount=cny("3112.50")), errors=errors("MAJOR", 2)
    )
    limit = line(statement, LineKind.DEDUCTION_LIMIT)
    assert (limit.detail, limit.amount) == (CAP_RATIO, cny("377.50"))
    assert statement.deductions == cny("-622.50")
    assert statement.total == cny("2490.00")


def test_nothing_is_deducted_from_a_wage_below_the_minimum(rules):
    statement = calculate_statement(
        employment=ALWAYS,
        period=FEB,
        rules=rules(base_kind=BaseKind.HOURLY, base_amount=cny("25.00")),
        worked=[WorkedTime("w", date(2026, 2, 2), 480)],
        errors=errors("MINOR", 1),
    )
    assert line(statement, LineKind.DEDUCTION_LIMIT).amount == cny("100.00")
    assert statement.total == cny("200.00")


def test_mid_period_hire_is_prorated_by_calendar_days(rules):
    # Hired 10 Feb: 19 of February's 28 days. 8700.00 × 19 / 28 = 5903.5714… → 5903.57.
    statement = calculate_statement(employment=Employment("e2", date(2026, 2, 10)), period=FEB, rules=rules())
    base = line(statement, LineKind.BASE)
    assert base.detail == "PRORATED_19_OF_28_DAYS"
    assert base.amount == cny("5903.57")
    assert statement.total == cny("5903.57")


def test_termination_is_prorated_by_calendar_days(rules):
    # Last day 20 March: 20 of 31 days. 8700.00 × 20 / 31 = 5612.9032… → 5612.90.
    statement = calculate_statement(
        employment=Employment("e3", date(2024, 5, 1), termination_date=date(2026, 3, 20)),
        period=MAR,
        rules=rules(),
    )
    assert line(statement, LineKind.BASE).amount == cny("5612.90")


def test_hire_and_termination_in_one_period_prorate_the_minimum_wage_too(rules):
    # Employed 10–19 Feb: 10 of 28 days. Base 8700 × 10/28 = 3107.142857… → 3107.14.
    # Minimum wage 2490 × 10/28 = 889.2857… → 889.29; 20% of 3107.14 = 621.428 → 621.43.
    # 3107.14 − 889.29 = 2217.85 is above the cap, so the cap binds: 3 MAJOR = 1500 → −621.43.
    statement = calculate_statement(
        employment=Employment("e4", date(2026, 2, 10), termination_date=date(2026, 2, 19)),
        period=FEB,
        rules=rules(),
        errors=errors("MAJOR", 3, day=date(2026, 2, 12)),
    )
    assert line(statement, LineKind.BASE).amount == cny("3107.14")
    assert line(statement, LineKind.DEDUCTION_LIMIT).detail == CAP_RATIO
    assert statement.deductions == cny("-621.43")
    assert statement.total == cny("2485.71")


def test_proration_rounds_half_even():
    june = 30
    assert prorate(Money.of("100.01", "USD"), 15, june) == Money.of("50.00", "USD")  # 50.005
    assert prorate(Money.of("100.03", "USD"), 15, june) == Money.of("50.02", "USD")  # 50.015


def test_facts_outside_the_period_or_employment_or_counted_twice_are_refused(rules):
    with pytest.raises(DomainError) as raised:
        calculate_statement(
            employment=Employment("e5", date(2026, 2, 10)),
            period=FEB,
            rules=rules(),
            overtime=[
                OvertimeWorked("a", date(2026, 3, 1), DayClass.WORK_DAY, 60),
                OvertimeWorked("b", date(2026, 2, 9), DayClass.WORK_DAY, 60),
                OvertimeWorked("c", date(2026, 2, 11), DayClass.WORK_DAY, 60),
                OvertimeWorked("c", date(2026, 2, 12), DayClass.WORK_DAY, 60),
            ],
        )
    assert [v.reason for v in raised.value.violations] == [
        "OUTSIDE_PERIOD",
        "OUTSIDE_EMPLOYMENT",
        "DUPLICATE_FACT",
    ]


def test_not_employed_in_the_period(rules):
    with pytest.raises(DomainError) as raised:
        calculate_statement(employment=Employment("e6", date(2026, 3, 2)), period=FEB, rules=rules())
    assert raised.value.reason == "NOT_EMPLOYED_IN_PERIOD"


def test_the_same_facts_give_the_same_statement(rules):
    facts = {
        "overtime": [OvertimeWorked("ot", date(2026, 2, 3), DayClass.REST_DAY, 61)],
        "errors": errors("MINOR", 2),
    }
    first = calculate_statement(employment=ALWAYS, period=FEB, rules=rules(), **facts)
    again = calculate_statement(employment=ALWAYS, period=FEB, rules=rules(), **facts)
    assert first == again
    assert first.total == sum((x.amount for x in first.lines), Money.zero("CNY"))
