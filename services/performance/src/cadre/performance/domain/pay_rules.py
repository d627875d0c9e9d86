"""A site's pay rules as data, versioned: what each kind of work, score and error is worth.

One `PayRules` is one version for one site, in effect from its date until the next
version's. Rates are Decimal (a derived hourly rate need not be whole cents); amounts are
`Money`. Nothing here rounds: rounding happens once per statement line (see `money`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext
from functools import cached_property

from cadre.chassis.errors import Violations, failed_precondition
from cadre.performance.domain.money import EXACT, Money, check_currency

MINUTES_PER_HOUR = 60


class DayClass(enum.Enum):
    WORK_DAY = "WORK_DAY"
    REST_DAY = "REST_DAY"
    STATUTORY_HOLIDAY = "STATUTORY_HOLIDAY"


class BaseKind(enum.Enum):
    MONTHLY = "MONTHLY"  # a fixed wage per full pay period, prorated for partial employment
    HOURLY = "HOURLY"  # paid per worked minute at the hourly rate


DEFAULT_OVERTIME: Mapping[DayClass, Decimal] = {
    DayClass.WORK_DAY: Decimal("1.5"),
    DayClass.REST_DAY: Decimal("2.0"),
    DayClass.STATUTORY_HOLIDAY: Decimal("3.0"),
}


@dataclass(frozen=True)
class BonusTier:
    """Paid when the period's scorecard score is at least `min_score` (inclusive)."""

    name: str
    min_score: Decimal
    amount: Money


@dataclass(frozen=True)
class PayRules:
    site: str
    version: int
    effective_from: date
    currency: str
    base_kind: BaseKind
    # MONTHLY: the wage for a full period. HOURLY: the rate per hour.
    base_amount: Money
    # Hours in a standard month, to derive the hourly rate of a monthly wage for overtime
    # (e.g. 174 = 21.75 days × 8 h). Unused for HOURLY.
    standard_monthly_hours: Decimal
    overtime_multipliers: Mapping[DayClass, Decimal]
    bonus_tiers: tuple[BonusTier, ...]  # ascending by min_score
    deduction_per_error: Mapping[str, Money]  # error class → amount per error
    deduction_cap_ratio: Decimal  # at most this share of the month's wage (e.g. 0.20)
    minimum_wage: Money  # the local monthly minimum wage; what is left is never below it
    training_hourly_rate: Money
    description: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)
    # Dates whose overtime pays the statutory-holiday multiplier, whatever the schedule said.
    statutory_holidays: frozenset[date] = frozenset()

    def day_class(self, day: date, *, rest_day: bool) -> DayClass:
        """The overtime class of a day: a statutory holiday outranks a rest day."""
        if day in self.statutory_holidays:
            return DayClass.STATUTORY_HOLIDAY
        return DayClass.REST_DAY if rest_day else DayClass.WORK_DAY

    @cached_property
    def hourly_rate(self) -> Decimal:
        """Exact hourly rate in major units: the base rate, or the monthly wage / standard hours."""
        if self.base_kind is BaseKind.HOURLY:
            return self.base_amount.major
        with localcontext(EXACT):
            return self.base_amount.major / self.standard_monthly_hours

    def overtime_rate(self, day_class: DayClass) -> Decimal:
        with localcontext(EXACT):
            return self.hourly_rate * self.overtime_multipliers[day_class]

    def bonus_tier(self, score: Decimal) -> BonusTier | None:
        """The highest tier whose threshold the score reaches; None below the lowest."""
        reached = [tier for tier in self.bonus_tiers if score >= tier.min_score]
        return reached[-1] if reached else None

    def deduction(self, error_class: str) -> Money:
        try:
            return self.deduction_per_error[error_class]
        except KeyError:
            raise failed_precondition(
                "UNKNOWN_ERROR_CLASS",
                f"pay rules {self.site} v{self.version} have no deduction for error class {error_class!r}",
                site=self.site,
                version=str(self.version),
                error_class=error_class,
            ) from None


def new_pay_rules(
    *,
    site: str,
    version: int,
    effective_from: date,
    currency: str,
    base_kind: BaseKind,
    base_amount: Money,
    standard_monthly_hours: Decimal = Decimal(174),
    overtime_multipliers: Mapping[DayClass, Decimal] = DEFAULT_OVERTIME,
    bonus_tiers: Iterable[BonusTier] = (),
    deduction_per_error: Mapping[str, Money] | None = None,
    deduction_cap_ratio: Decimal = Decimal("0.20"),
    minimum_wage: Money,
    training_hourly_rate: Money,
    description: str = "",
    statutory_holidays: Iterable[date] = (),
) -> PayRules:
    """Validate and build one version of a site's rules; every bad field is reported at once."""
    violations = Violations()
    check_currency(currency, "pay_rules.currency")
    if not site:
        violations.add("pay_rules.site", "REQUIRED_FIELD_MISSING", "must be set")
    if version < 1:
        violations.add("pay_rules.version", "OUT_OF_RANGE", "must be at least 1")
    deductions = dict(deduction_per_error or {})
    monies = {
        "pay_rules.base_amount": base_amount,
        "pay_rules.minimum_wage": minimum_wage,
        "pay_rules.training_hourly_rate": training_hourly_rate,
    }
    monies.update({f"pay_rules.deduction_per_error[{code}]": m for code, m in deductions.items()})
    tiers = tuple(bonus_tiers)
    monies.update({f"pay_rules.bonus_tiers[{i}].amount": t.amount for i, t in enumerate(tiers)})
    for path, money in monies.items():
        if money.currency != currency:
            violations.add(path, "CURRENCY_MISMATCH", f"must be in {currency}")
        elif money.minor < 0:
            violations.add(path, "OUT_OF_RANGE", "must not be negative")
    if base_amount.minor <= 0:
        violations.add("pay_rules.base_amount", "OUT_OF_RANGE", "must be positive")
    if base_kind is BaseKind.MONTHLY and standard_monthly_hours <= 0:
        violations.add("pay_rules.standard_monthly_hours", "OUT_OF_RANGE", "must be positive")
    missing = [c.value for c in DayClass if c not in overtime_multipliers]
    if missing:
        violations.add("pay_rules.overtime_multipliers", "REQUIRED_FIELD_MISSING", f"missing {missing}")
    for day_class, multiplier in overtime_multipliers.items():
        if multiplier < 1:
            violations.add(
                f"pay_rules.overtime_multipliers[{day_class.value}]", "OUT_OF_RANGE", "must be at least 1"
            )
    thresholds = [t.min_score for t in tiers]
    if thresholds != sorted(set(thresholds)):
        violations.add("pay_rules.bonus_tiers", "NOT_ASCENDING", "thresholds must be strictly ascending")
    if any(not Decimal(0) <= t <= Decimal(100) for t in thresholds):
        violations.add("pay_rules.bonus_tiers", "OUT_OF_RANGE", "thresholds must be within 0–100")
    if not Decimal(0) <= deduction_cap_ratio <= Decimal(1):
        violations.add("pay_rules.deduction_cap_ratio", "OUT_OF_RANGE", "must be within 0–1")
    violations.raise_if_any()
    return PayRules(
        site=site,
        version=version,
        effective_from=effective_from,
        currency=currency,
        base_kind=base_kind,
        base_amount=base_amount,
        standard_monthly_hours=standard_monthly_hours,
        overtime_multipliers=dict(overtime_multipliers),
        bonus_tiers=tiers,
        deduction_per_error=deductions,
        deduction_cap_ratio=deduction_cap_ratio,
        minimum_wage=minimum_wage,
        training_hourly_rate=training_hourly_rate,
        description=description,
        statutory_holidays=frozenset(statutory_holidays),
    )


@dataclass(frozen=True)
class PayRuleHistory:
    """Every version of one site's rules; a version is never edited, only superseded."""

    site: str
    versions: tuple[PayRules, ...] = ()

    def add(self, rules: PayRules) -> PayRuleHistory:
        if rules.site != self.site:
            raise failed_precondition("WRONG_SITE", f"rules for {rules.site} added to {self.site}")
        if self.versions:
            last = self.versions[-1]
            if rules.version != last.version + 1:
                raise failed_precondition(
                    "VERSION_NOT_NEXT",
                    f"next version of {self.site} is {last.version + 1}, got {rules.version}",
                    site=self.site,
                )
            if rules.effective_from <= last.effective_from:
                raise failed_precondition(
                    "EFFECTIVE_DATE_NOT_AFTER",
                    f"version {rules.version} must take effect after {last.effective_from}",
                    site=self.site,
                )
        return PayRuleHistory(self.site, (*self.versions, rules))

    def in_effect(self, day: date) -> PayRules:
        current = [r for r in self.versions if r.effective_from <= day]
        if not current:
            raise failed_precondition(
                "NO_PAY_RULES", f"no pay rules in effect for {self.site} on {day}", site=self.site
            )
        return current[-1]
