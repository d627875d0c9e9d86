"""The example site's pay rules, shared by the pay-rule and statement tests."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from cadre.performance.domain.money import Money
from cadre.performance.domain.pay_rules import BaseKind, BonusTier, PayRules, new_pay_rules


def cny(amount: str) -> Money:
    return Money.of(amount, "CNY")


@pytest.fixture
def rules() -> Callable[..., PayRules]:
    """A factory: Shenzhen's rules (monthly 8,700 CNY, three bonus tiers, two error classes,
    minimum wage 2,490 CNY), with whatever the test overrides."""

    def make(**overrides: object) -> PayRules:
        fields = {
            "site": "shenzhen",
            "version": 1,
            "effective_from": date(2026, 1, 1),
            "currency": "CNY",
            "base_kind": BaseKind.MONTHLY,
            "base_amount": cny("8700.00"),
            "standard_monthly_hours": Decimal(174),
            "bonus_tiers": (
                BonusTier("BRONZE", Decimal(60), cny("200.00")),
                BonusTier("SILVER", Decimal(75), cny("500.00")),
                BonusTier("GOLD", Decimal(90), cny("1000.00")),
            ),
            "deduction_per_error": {"MINOR": cny("100.00"), "MAJOR": cny("500.00")},
            "minimum_wage": cny("2490.00"),
            "training_hourly_rate": cny("30.00"),
        }
        fields.update(overrides)
        return new_pay_rules(**fields)

    return make
