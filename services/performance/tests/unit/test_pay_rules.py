from datetime import date
from decimal import Decimal

import pytest

from cadre.chassis.errors import DomainError, ErrorKind
from cadre.performance.domain.money import Money
from cadre.performance.domain.pay_rules import (
    BaseKind,
    BonusTier,
    DayClass,
    PayRuleHistory,
)


def cny(amount: str) -> Money:
    return Money.of(amount, "CNY")


def test_money_is_exact_and_rounds_half_even_once():
    assert Money.of("12.34", "USD").minor == 1234
    assert Money.of("1500", "JPY").minor == 1500
    assert Money.of("1.234", "KWD").minor == 1234
    with pytest.raises(DomainError) as raised:
        Money.of("12.345", "USD")
    assert raised.value.reason == "NOT_EXACT"
    # Half-even: ties go to the even cent.
    assert Money.rounded(Decimal("50.005"), "USD") == Money.of("50.00", "USD")
    assert Money.rounded(Decimal("50.015"), "USD") == Money.of("50.02", "USD")
    assert Money.rounded(Decimal("-0.125"), "USD") == Money.of("-0.12", "USD")
    assert Money.of("0.10", "USD") + Money.of("0.20", "USD") == Money.of("0.30", "USD")
    with pytest.raises(DomainError) as mismatch:
        Money.of("1", "USD") + Money.of("1", "EUR")
    assert mismatch.value.reason == "CURRENCY_MISMATCH"
    with pytest.raises(TypeError):
        Money(1.5, "USD")  # type: ignore[arg-type]


def test_overtime_rates_by_day_class_from_a_monthly_wage(rules):
    # 8700.00 / 174 h = 50.00 an hour; 150% / 200% / 300%.
    r = rules()
    assert r.hourly_rate == Decimal(50)
    assert r.overtime_rate(DayClass.WORK_DAY) == Decimal(75)
    assert r.overtime_rate(DayClass.REST_DAY) == Decimal(100)
    assert r.overtime_rate(DayClass.STATUTORY_HOLIDAY) == Decimal(150)


def test_hourly_base_uses_its_own_rate(rules):
    r = rules(base_kind=BaseKind.HOURLY, base_amount=cny("25.50"))
    assert r.hourly_rate == Decimal("25.50")
    assert r.overtime_rate(DayClass.REST_DAY) == Decimal("51.00")


@pytest.mark.parametrize(
    ("score", "tier"),
    [
        ("0", None),
        ("59.99", None),
        ("60", "BRONZE"),
        ("74.99", "BRONZE"),
        ("75.00", "SILVER"),
        ("89.99", "SILVER"),
        ("90", "GOLD"),
        ("100", "GOLD"),
    ],
)
def test_bonus_tier_boundaries_are_inclusive_at_the_threshold(score, tier, rules):
    found = rules().bonus_tier(Decimal(score))
    assert (found.name if found else None) == tier


def test_unknown_error_class_is_a_failed_precondition(rules):
    with pytest.raises(DomainError) as raised:
        rules().deduction("TYPO")
    assert raised.value.kind is ErrorKind.FAILED_PRECONDITION
    assert raised.value.reason == "UNKNOWN_ERROR_CLASS"


def test_every_bad_field_is_reported_at_once(rules):
    with pytest.raises(DomainError) as raised:
        rules(
            site="",
            version=0,
            base_amount=cny("0"),
            minimum_wage=Money.of("2490", "USD"),
            overtime_multipliers={DayClass.WORK_DAY: Decimal("0.5")},
            bonus_tiers=(
                BonusTier("A", Decimal(80), cny("1")),
                BonusTier("B", Decimal(70), cny("1")),
            ),
            deduction_cap_ratio=Decimal("1.5"),
        )
    fields = {v.field for v in raised.value.violations}
    assert fields == {
        "pay_rules.site",
        "pay_rules.version",
        "pay_rules.base_amount",
        "pay_rules.minimum_wage",
        "pay_rules.overtime_multipliers",
        "pay_rules.overtime_multipliers[WORK_DAY]",
        "pay_rules.bonus_tiers",
        "pay_rules.deduction_cap_ratio",
    }


def test_history_picks_the_version_in_effect_and_only_appends(rules):
    v1 = rules()
    v2 = rules(version=2, effective_from=date(2026, 7, 1), base_amount=cny("9000.00"))
    history = PayRuleHistory("shenzhen").add(v1).add(v2)
    assert history.in_effect(date(2026, 6, 30)).version == 1
    assert history.in_effect(date(2026, 7, 1)).version == 2
    with pytest.raises(DomainError) as none:
        history.in_effect(date(2025, 12, 31))
    assert none.value.reason == "NO_PAY_RULES"
    with pytest.raises(DomainError) as skipped:
        history.add(rules(version=4, effective_from=date(2027, 1, 1)))
    assert skipped.value.reason == "VERSION_NOT_NEXT"
    with pytest.raises(DomainError) as backdated:
        history.add(rules(version=3, effective_from=date(2026, 7, 1)))
    assert backdated.value.reason == "EFFECTIVE_DATE_NOT_AFTER"
