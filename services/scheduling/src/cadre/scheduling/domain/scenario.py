"""What-if: a forecast's staffing under other volume, handle time or targets, or a given plan.

Nothing here is stored: a planner tries a +10% volume week or "what if we only have 40 people
from 14:00", sees the requirement and the service level it buys, and decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from cadre.chassis.errors import Violations, invalid_field
from cadre.scheduling.domain.forecasting import Forecast
from cadre.scheduling.domain.queue import Queue
from cadre.scheduling.domain.staffing import (
    Achieved,
    Staffing,
    StaffingModel,
    achieved_by,
    choose_model,
    open_volumes,
    staffing_for,
    targets_of,
)

# Below target by more than binary rounding (the Erlang search meets targets to 1e-12).
_BELOW_TARGET_SLACK = 1e-9
_REPORTED_PLAN_ENTRIES = 10


@dataclass(frozen=True)
class Scenario:
    """Changes to try; None keeps the forecast's or the queue's value."""

    volume_change: float = 0.0  # relative: 0.1 is +10 %
    aht_seconds: float | None = None
    service_level: float | None = None
    answer_seconds: float | None = None
    planned_agents: tuple[int, ...] | None = None  # net agents per forecast interval
    model: StaffingModel | None = None


@dataclass(frozen=True, eq=False)
class ScenarioOutcome:
    """`staffing` is the requirement under the scenario; `achieved` what the plan (or it) achieves."""

    staffing: Staffing
    achieved: Achieved
    service_level: float  # volume-weighted over the horizon
    intervals_below_target: int
    required_agent_hours: float


def check_scenario(scenario: Scenario, violations: Violations) -> None:
    """Field by field; the plan's length is checked against the forecast by `evaluate_scenario`."""
    if not (math.isfinite(scenario.volume_change) and scenario.volume_change > -1.0):
        violations.add("volume_change", "OUT_OF_RANGE", "must be above -1 (e.g. 0.1 for +10%)")
    if scenario.aht_seconds is not None and not (
        math.isfinite(scenario.aht_seconds) and scenario.aht_seconds > 0
    ):
        violations.add("aht_seconds", "OUT_OF_RANGE", "must be above 0 seconds")
    if scenario.service_level is not None and not (
        math.isfinite(scenario.service_level) and 0.0 < scenario.service_level < 1.0
    ):
        violations.add("service_level.fraction", "OUT_OF_RANGE", "must be above 0 and below 1")
    if scenario.answer_seconds is not None and not (
        math.isfinite(scenario.answer_seconds) and scenario.answer_seconds > 0
    ):
        violations.add("service_level.answer_seconds", "OUT_OF_RANGE", "must be above 0")
    negative = [i for i, agents in enumerate(scenario.planned_agents or ()) if agents < 0]
    # A plan is as long as the forecast (thousands of intervals): name the first few only.
    for i in negative[:_REPORTED_PLAN_ENTRIES]:
        violations.add(f"planned_agents[{i}]", "NEGATIVE_COUNT", "must not be negative")


def evaluate_scenario(*, queue: Queue, forecast: Forecast, scenario: Scenario) -> ScenarioOutcome:
    """The scenario's requirement per interval and the service it (or the given plan) achieves."""
    intervals = len(forecast.interval_starts)
    if scenario.planned_agents is not None and len(scenario.planned_agents) != intervals:
        raise invalid_field(
            "planned_agents",
            "WRONG_LENGTH",
            f"must have one entry per forecast interval ({intervals}), got {len(scenario.planned_agents)}",
        )
    model = choose_model(scenario.model, queue)
    targets = targets_of(queue, model)
    targets = replace(
        targets,
        service_level=scenario.service_level or targets.service_level,
        answer_seconds=scenario.answer_seconds or targets.answer_seconds,
    )
    volumes = open_volumes(queue, forecast.interval_starts, forecast.volumes) * (1.0 + scenario.volume_change)
    aht = (
        np.full_like(forecast.aht_seconds, scenario.aht_seconds)
        if scenario.aht_seconds is not None
        else forecast.aht_seconds
    )
    staffing = staffing_for(
        volumes=volumes,
        aht_seconds=aht,
        interval_seconds=queue.interval_seconds,
        model=model,
        targets=targets,
    )
    achieved = staffing.achieved
    if scenario.planned_agents is not None:
        achieved = achieved_by(
            np.asarray(scenario.planned_agents, dtype=np.int64),
            volumes=volumes,
            aht_seconds=aht,
            interval_seconds=queue.interval_seconds,
            model=model,
            targets=targets,
        )
    return ScenarioOutcome(
        staffing=staffing,
        achieved=achieved,
        service_level=volume_weighted(achieved.service_level, volumes),
        intervals_below_target=int(
            np.sum((volumes > 0) & (achieved.service_level < targets.service_level - _BELOW_TARGET_SLACK))
        ),
        required_agent_hours=float(staffing.agents.sum()) * queue.settings.interval_minutes / 60.0,
    )


def volume_weighted(values: NDArray[np.float64], volumes: NDArray[np.float64]) -> float:
    """The horizon's figure as contacts experience it: busy intervals count for more (1 when empty)."""
    total = float(volumes.sum())
    if total <= 0:
        return 1.0
    return float((values * volumes).sum() / total)
