"""KPIs from raw facts, the same rule at every level, and the weighted scorecard score.

A KPI is a **ratio of sums**: `scale × Σ numerator / Σ denominator` over the raw facts of
whoever is being measured. A team, department or center is measured by **pooling its
members' fact sums** (adding them measure by measure) and applying the same ratio — never
by averaging the members' KPIs, which would weight a person who took 3 calls the same as
one who took 300.

Fact sums are named measures, e.g. `offered`, `answered`, `handled`, `handle_seconds`,
`csat_points`, `csat_surveys`, `quality_points`, `quality_evaluations`, `errors`,
`scheduled_minutes`, `adherent_minutes`. A metric names its numerator and denominator.

Scoring a metric: `floor` is the value worth 0 points and `ceiling` the value worth 100;
points are linear in between and clamped outside. For `HIGHER_IS_BETTER` the floor is
below the ceiling; for `LOWER_IS_BETTER` (handle time, errors) it is above. `target` is
the goal the value is reported against (met or not); it must lie between floor and
ceiling. The scorecard score is `Σ weight × points / Σ weight` over the metrics that have
data (a zero denominator means no data: the metric is left out and listed), rounded
half-even to 2 decimals, so always 0–100.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from cadre.chassis.errors import Violations
from cadre.performance.domain.money import EXACT

HUNDRED = Decimal(100)
SCORE_QUANTUM = Decimal("0.01")


class Direction(enum.Enum):
    HIGHER_IS_BETTER = "HIGHER_IS_BETTER"
    LOWER_IS_BETTER = "LOWER_IS_BETTER"


@dataclass(frozen=True)
class FactSums:
    """Sums of raw facts by measure; adding two pools their facts."""

    values: Mapping[str, Decimal] = field(default_factory=dict)

    @classmethod
    def of(cls, **measures: int | Decimal) -> FactSums:
        return cls({name: Decimal(value) for name, value in measures.items()})

    def get(self, measure: str) -> Decimal:
        return self.values.get(measure, Decimal(0))

    def __add__(self, other: FactSums) -> FactSums:
        merged = dict(self.values)
        for name, value in other.values.items():
            merged[name] = merged.get(name, Decimal(0)) + value
        return FactSums(merged)


def pool(members: Iterable[FactSums]) -> FactSums:
    """The fact sums of a group: its members' sums added measure by measure."""
    result = FactSums()
    for member in members:
        result = result + member
    return result


@dataclass(frozen=True)
class Metric:
    code: str
    numerator: str
    denominator: str
    direction: Direction
    target: Decimal
    floor: Decimal
    ceiling: Decimal
    weight: Decimal
    scale: Decimal = Decimal(1)  # 100 for a percentage

    def value(self, sums: FactSums) -> Decimal | None:
        """`scale × Σ numerator / Σ denominator`; None when there is nothing to divide by."""
        denominator = sums.get(self.denominator)
        if denominator == 0:
            return None
        with localcontext(EXACT):
            return self.scale * sums.get(self.numerator) / denominator

    def points(self, value: Decimal) -> Decimal:
        """0 at the floor, 100 at the ceiling, linear between, clamped outside."""
        with localcontext(EXACT):
            raw = HUNDRED * (value - self.floor) / (self.ceiling - self.floor)
        return min(HUNDRED, max(Decimal(0), raw))

    def met(self, value: Decimal) -> bool:
        if self.direction is Direction.HIGHER_IS_BETTER:
            return value >= self.target
        return value <= self.target


def new_metric(
    *,
    code: str,
    numerator: str,
    denominator: str,
    direction: Direction,
    target: Decimal,
    floor: Decimal,
    ceiling: Decimal,
    weight: Decimal,
    scale: Decimal = Decimal(1),
    field_path: str = "metric",
) -> Metric:
    violations = Violations()
    _check_metric(
        code, numerator, denominator, direction, target, floor, ceiling, weight, scale, field_path, violations
    )
    violations.raise_if_any()
    return Metric(code, numerator, denominator, direction, target, floor, ceiling, weight, scale)


def _check_metric(
    code: str,
    numerator: str,
    denominator: str,
    direction: Direction,
    target: Decimal,
    floor: Decimal,
    ceiling: Decimal,
    weight: Decimal,
    scale: Decimal,
    path: str,
    violations: Violations,
) -> None:
    if not code:
        violations.add(f"{path}.code", "REQUIRED_FIELD_MISSING", "must be set")
    if not numerator or not denominator:
        violations.add(f"{path}.numerator", "REQUIRED_FIELD_MISSING", "numerator and denominator must be set")
    if weight <= 0:
        violations.add(f"{path}.weight", "OUT_OF_RANGE", "must be positive")
    if scale <= 0:
        violations.add(f"{path}.scale", "OUT_OF_RANGE", "must be positive")
    if direction is Direction.HIGHER_IS_BETTER and not floor < ceiling:
        violations.add(
            f"{path}.ceiling", "FLOOR_CEILING_ORDER", "higher is better: floor must be below ceiling"
        )
    if direction is Direction.LOWER_IS_BETTER and not floor > ceiling:
        violations.add(
            f"{path}.ceiling", "FLOOR_CEILING_ORDER", "lower is better: floor must be above ceiling"
        )
    if not min(floor, ceiling) <= target <= max(floor, ceiling):
        violations.add(f"{path}.target", "OUT_OF_RANGE", "must lie between floor and ceiling")


@dataclass(frozen=True)
class Scorecard:
    version: int
    metrics: tuple[Metric, ...]


def new_scorecard(*, version: int, metrics: Iterable[Metric]) -> Scorecard:
    violations = Violations()
    items = tuple(metrics)
    if version < 1:
        violations.add("scorecard.version", "OUT_OF_RANGE", "must be at least 1")
    if not items:
        violations.add("scorecard.metrics", "REQUIRED_FIELD_MISSING", "at least one metric")
    codes = [m.code for m in items]
    if len(set(codes)) != len(codes):
        violations.add("scorecard.metrics", "DUPLICATE_METRIC", "metric codes must be unique")
    for i, m in enumerate(items):
        _check_metric(
            m.code, m.numerator, m.denominator, m.direction, m.target, m.floor, m.ceiling, m.weight, m.scale,
            f"scorecard.metrics[{i}]", violations,
        )  # fmt: skip
    violations.raise_if_any()
    return Scorecard(version, items)


@dataclass(frozen=True)
class MetricResult:
    code: str
    value: Decimal | None
    points: Decimal | None
    met: bool | None
    weight: Decimal


@dataclass(frozen=True)
class ScoreResult:
    scorecard_version: int
    score: Decimal | None  # None when no metric has data
    metrics: tuple[MetricResult, ...]

    @property
    def without_data(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.metrics if m.value is None)


def score(scorecard: Scorecard, sums: FactSums) -> ScoreResult:
    """The weighted score 0–100 of whoever `sums` pools (one agent, a team, a center)."""
    results: list[MetricResult] = []
    weighted = Decimal(0)
    weights = Decimal(0)
    for metric in scorecard.metrics:
        value = metric.value(sums)
        if value is None:
            results.append(MetricResult(metric.code, None, None, None, metric.weight))
            continue
        points = metric.points(value)
        results.append(MetricResult(metric.code, value, points, metric.met(value), metric.weight))
        with localcontext(EXACT):
            weighted += metric.weight * points
            weights += metric.weight
    if weights == 0:
        return ScoreResult(scorecard.version, None, tuple(results))
    with localcontext(EXACT):
        total = (weighted / weights).quantize(SCORE_QUANTUM, rounding=ROUND_HALF_EVEN)
    return ScoreResult(scorecard.version, total, tuple(results))
