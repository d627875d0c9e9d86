"""A pay statement: a ledger of lines, each saying what it pays, how it was computed and
which facts it came from.

Decisions (written down once, here):

- **Rounding**: every line's amount is `quantity × rate` computed exactly and rounded
  half-even to the minor unit once (`Money.rounded`). The statement total is the sum of
  the lines, never rounded again.
- **Proration** of a monthly wage for a hire or termination inside the period is by
  **calendar days**: `wage × employed days / days in the period`, both ends inclusive.
  Calendar days need no schedule, do not change when a schedule is edited after the fact,
  and a person can check them with a calendar. The local minimum wage used as the floor
  for deductions is prorated the same way. Hourly pay is paid per worked minute and needs
  no proration.
- **The month's wage** (the base of the 20% deduction cap and of the minimum-wage floor)
  is the sum of the earning lines: base, overtime, paid training and performance bonus.
- **Deductions** are one line per error class (count × amount per error), each listing
  its error facts. When they exceed what may be taken — the smaller of
  `cap ratio × wage` and `wage − minimum wage` (never below zero) — one `DEDUCTION_LIMIT`
  line gives the excess back and names the limit that bound, so the ledger still shows
  every error.
- Overtime is one line per day class; training one line; quantities are hours (minutes /
  60, exact as Decimal).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from cadre.chassis.errors import Violations, failed_precondition
from cadre.performance.domain.money import EXACT, Money
from cadre.performance.domain.pay_rules import MINUTES_PER_HOUR, BaseKind, DayClass, PayRules


class LineKind(enum.Enum):
    BASE = "BASE"
    OVERTIME = "OVERTIME"
    TRAINING = "TRAINING"
    PERFORMANCE_BONUS = "PERFORMANCE_BONUS"
    DEDUCTION = "DEDUCTION"
    DEDUCTION_LIMIT = "DEDUCTION_LIMIT"
    ADJUSTMENT = "ADJUSTMENT"
    PAID_LEAVE = "PAID_LEAVE"


EARNINGS = frozenset(
    {LineKind.BASE, LineKind.OVERTIME, LineKind.TRAINING, LineKind.PERFORMANCE_BONUS, LineKind.PAID_LEAVE}
)

# Why a DEDUCTION_LIMIT line exists.
CAP_RATIO = "CAP_RATIO"
MINIMUM_WAGE = "MINIMUM_WAGE"


@dataclass(frozen=True)
class PayPeriod:
    """Both ends inclusive, e.g. 2026-02-01 … 2026-02-28."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise failed_precondition("PERIOD_ENDS_BEFORE_START", f"{self.end} is before {self.start}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True)
class Employment:
    employee_id: str
    hire_date: date
    termination_date: date | None = None  # the last day employed, inclusive

    def days_in(self, period: PayPeriod) -> int:
        first = max(self.hire_date, period.start)
        last = min(self.termination_date or period.end, period.end)
        return max(0, (last - first).days + 1)

    def employed_on(self, day: date) -> bool:
        return self.hire_date <= day and (self.termination_date is None or day <= self.termination_date)


@dataclass(frozen=True)
class WorkedTime:
    """Regular worked minutes on one day (pays the base of hourly staff)."""

    fact_id: str
    day: date
    minutes: int


@dataclass(frozen=True)
class OvertimeWorked:
    fact_id: str
    day: date
    day_class: DayClass
    minutes: int


@dataclass(frozen=True)
class TrainingTime:
    fact_id: str
    day: date
    minutes: int


@dataclass(frozen=True)
class PaidLeave:
    """Minutes of approved paid leave on one day: paid at the hourly rate to hourly staff (a
    monthly wage already covers them)."""

    fact_id: str
    day: date
    minutes: int


@dataclass(frozen=True)
class ErrorFact:
    fact_id: str
    day: date
    error_class: str


@dataclass(frozen=True)
class PeriodScore:
    """The period's scorecard score (0–100) and where it came from."""

    score: Decimal
    scorecard_version: int
    fact_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatementLine:
    kind: LineKind
    detail: str  # day class, tier name, error class, limit … — what distinguishes lines of a kind
    quantity: Decimal
    unit: str  # "HOUR", "DAY", "ERROR", "PERIOD"
    rate: Decimal  # major units per unit, exact
    amount: Money
    rule_version: int
    fact_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statement:
    employee_id: str
    period: PayPeriod
    currency: str
    rule_version: int
    lines: tuple[StatementLine, ...]

    def _sum(self, kinds: Iterable[LineKind]) -> Money:
        wanted = frozenset(kinds)
        result = Money.zero(self.currency)
        for line in self.lines:
            if line.kind in wanted:
                result = result + line.amount
        return result

    @property
    def earnings(self) -> Money:
        return self._sum(EARNINGS)

    @property
    def deductions(self) -> Money:
        """Net deductions taken (negative or zero): error lines plus the limit line."""
        return self._sum({LineKind.DEDUCTION, LineKind.DEDUCTION_LIMIT})

    @property
    def total(self) -> Money:
        return self._sum(LineKind)


def prorate(amount: Money, employed_days: int, period_days: int) -> Money:
    """Calendar-day proration, rounded once half-even."""
    if employed_days == period_days:
        return amount
    with localcontext(EXACT):
        return Money.rounded(amount.major * employed_days / period_days, amount.currency)


def _hours(minutes: int) -> Decimal:
    with localcontext(EXACT):
        return Decimal(minutes) / MINUTES_PER_HOUR


def _line(
    kind: LineKind,
    detail: str,
    quantity: Decimal,
    unit: str,
    rate: Decimal,
    rules: PayRules,
    fact_ids: Iterable[str],
) -> StatementLine:
    with localcontext(EXACT):
        amount = Money.rounded(quantity * rate, rules.currency)
    return StatementLine(kind, detail, quantity, unit, rate, amount, rules.version, tuple(fact_ids))


def _check_facts(
    employment: Employment,
    period: PayPeriod,
    facts: Sequence[WorkedTime | OvertimeWorked | TrainingTime | PaidLeave | ErrorFact],
) -> None:
    violations = Violations()
    # One attendance day may pay both regular and overtime minutes: a fact counts once per kind.
    seen: set[tuple[str, str]] = set()
    for index, fact in enumerate(facts):
        path = f"facts[{index}]"
        key = (type(fact).__name__, fact.fact_id)
        if key in seen:
            violations.add(f"{path}.fact_id", "DUPLICATE_FACT", f"{fact.fact_id} counted twice")
        seen.add(key)
        if fact.day not in period:
            violations.add(
                f"{path}.day", "OUTSIDE_PERIOD", f"{fact.day} is outside {period.start}…{period.end}"
            )
        elif not employment.employed_on(fact.day):
            violations.add(
                f"{path}.day", "OUTSIDE_EMPLOYMENT", f"{employment.employee_id} not employed on {fact.day}"
            )
        if isinstance(fact, WorkedTime | OvertimeWorked | TrainingTime | PaidLeave) and fact.minutes < 0:
            violations.add(f"{path}.minutes", "OUT_OF_RANGE", "must not be negative")
    violations.raise_if_any()


def calculate_statement(
    *,
    employment: Employment,
    period: PayPeriod,
    rules: PayRules,
    worked: Sequence[WorkedTime] = (),
    overtime: Sequence[OvertimeWorked] = (),
    training: Sequence[TrainingTime] = (),
    errors: Sequence[ErrorFact] = (),
    score: PeriodScore | None = None,
    leave: Sequence[PaidLeave] = (),
) -> Statement:
    """One employee's statement for one period under one version of the site's rules."""
    _check_facts(employment, period, [*worked, *overtime, *training, *leave, *errors])
    employed_days = employment.days_in(period)
    if employed_days == 0:
        raise failed_precondition(
            "NOT_EMPLOYED_IN_PERIOD",
            f"{employment.employee_id} is not employed between {period.start} and {period.end}",
            employee_id=employment.employee_id,
        )
    lines: list[StatementLine] = []

    # Base.
    if rules.base_kind is BaseKind.MONTHLY:
        with localcontext(EXACT):
            share = Decimal(employed_days) / period.days
        amount = prorate(rules.base_amount, employed_days, period.days)
        detail = (
            "FULL_PERIOD"
            if employed_days == period.days
            else f"PRORATED_{employed_days}_OF_{period.days}_DAYS"
        )
        lines.append(
            StatementLine(
                LineKind.BASE, detail, share, "PERIOD", rules.base_amount.major, amount, rules.version, ()
            )
        )
    else:
        minutes = sum(w.minutes for w in worked)
        lines.append(
            _line(
                LineKind.BASE,
                "HOURLY",
                _hours(minutes),
                "HOUR",
                rules.hourly_rate,
                rules,
                (w.fact_id for w in worked),
            )
        )

    # Overtime, one line per day class.
    for day_class in DayClass:
        facts = [o for o in overtime if o.day_class is day_class]
        if facts:
            minutes = sum(o.minutes for o in facts)
            lines.append(
                _line(
                    LineKind.OVERTIME,
                    day_class.value,
                    _hours(minutes),
                    "HOUR",
                    rules.overtime_rate(day_class),
                    rules,
                    (o.fact_id for o in facts),
                )
            )

    # Paid leave: hourly staff only, a monthly wage already pays for it.
    if leave and rules.base_kind is BaseKind.HOURLY:
        minutes = sum(item.minutes for item in leave)
        lines.append(
            _line(
                LineKind.PAID_LEAVE,
                "PAID_LEAVE",
                _hours(minutes),
                "HOUR",
                rules.hourly_rate,
                rules,
                (item.fact_id for item in leave),
            )
        )

    # Paid training.
    if training:
        minutes = sum(t.minutes for t in training)
        lines.append(
            _line(
                LineKind.TRAINING,
                "TRAINING",
                _hours(minutes),
                "HOUR",
                rules.training_hourly_rate.major,
                rules,
                (t.fact_id for t in training),
            )
        )

    # Performance bonus.
    if score is not None:
        tier = rules.bonus_tier(score.score)
        if tier is not None:
            lines.append(
                StatementLine(
                    LineKind.PERFORMANCE_BONUS,
                    f"{tier.name} (score {score.score} ≥ {tier.min_score}, "
                    f"scorecard v{score.scorecard_version})",
                    Decimal(1),
                    "PERIOD",
                    tier.amount.major,
                    tier.amount,
                    rules.version,
                    score.fact_ids,
                )
            )

    wage = Money.zero(rules.currency)
    for line in lines:
        wage = wage + line.amount

    # Deductions, one line per error class, then the limit.
    by_class: dict[str, list[ErrorFact]] = {}
    for error in errors:
        by_class.setdefault(error.error_class, []).append(error)
    taken = Money.zero(rules.currency)
    for error_class in sorted(by_class):
        class_errors = by_class[error_class]
        per_error = rules.deduction(error_class)
        amount = Money(-per_error.minor * len(class_errors), rules.currency)
        taken = taken + amount
        lines.append(
            StatementLine(
                LineKind.DEDUCTION,
                error_class,
                Decimal(len(class_errors)),
                "ERROR",
                -per_error.major,
                amount,
                rules.version,
                tuple(e.fact_id for e in class_errors),
            )
        )
    if taken.minor < 0:
        allowed, reason = deduction_allowance(wage, rules, employed_days, period.days)
        excess = -taken.minor - allowed.minor
        if excess > 0:
            lines.append(
                StatementLine(
                    LineKind.DEDUCTION_LIMIT,
                    reason,
                    Decimal(1),
                    "PERIOD",
                    Money(excess, rules.currency).major,
                    Money(excess, rules.currency),
                    rules.version,
                    tuple(e.fact_id for e in errors),
                )
            )
    return Statement(employment.employee_id, period, rules.currency, rules.version, tuple(lines))


def deduction_allowance(
    wage: Money, rules: PayRules, employed_days: int, period_days: int
) -> tuple[Money, str]:
    """The most that may be deducted from `wage`, and which limit sets it.

    The smaller of `cap ratio × wage` (rounded half-even once) and `wage − minimum wage`
    (the minimum wage prorated by calendar days like the base); never below zero. When
    both limits give the same amount, the cap ratio is named.
    """
    cap = wage.times(rules.deduction_cap_ratio)
    floor = prorate(rules.minimum_wage, employed_days, period_days)
    above_floor = Money(max(0, (wage - floor).minor), rules.currency)
    if above_floor < cap:
        return above_floor, MINIMUM_WAGE
    return Money(max(0, cap.minor), rules.currency), CAP_RATIO
