"""Requirement use cases: compute from a forecast, store and publish, read; what-if scenarios."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cadre.chassis.errors import not_found
from cadre.scheduling.app.forecasts import require_forecast
from cadre.scheduling.app.ports import NewestFirstCursor, SchedulingReads, SchedulingUnit
from cadre.scheduling.app.queues import require_queue
from cadre.scheduling.domain.events import RequirementPublished
from cadre.scheduling.domain.forecasting import Forecast
from cadre.scheduling.domain.scenario import Scenario, ScenarioOutcome, evaluate_scenario
from cadre.scheduling.domain.staffing import Requirement, StaffingModel, new_requirement


def compute_requirement(
    reads: SchedulingReads,
    *,
    queue_id: str,
    forecast_id: str,
    requirement_id: str,
    requested_model: StaffingModel | None,
    now: datetime,
) -> Requirement:
    """Computed on a read snapshot, so the write transaction that stores it stays short."""
    queue = require_queue(reads.queues, queue_id, field="parent")
    forecast = require_forecast(reads, queue_id=queue_id, forecast_id=forecast_id, field="forecast")
    return new_requirement(
        requirement_id=requirement_id,
        queue=queue,
        forecast=forecast,
        requested_model=requested_model,
        now=now,
    )


def store_requirement(unit: SchedulingUnit, *, requirement: Requirement) -> Requirement:
    """Keeps and publishes the requirement, unless its forecast went away since it was computed."""
    require_queue(unit.queues, requirement.queue_id, field="parent", for_update=True)
    require_forecast(
        unit, queue_id=requirement.queue_id, forecast_id=requirement.forecast_id, field="forecast"
    )
    unit.requirements.add(requirement)
    unit.record(RequirementPublished(requirement))
    return requirement


def get_requirement(reads: SchedulingReads, *, queue_id: str, requirement_id: str) -> Requirement:
    requirement = reads.requirements.get(queue_id, requirement_id)
    if requirement is None:
        raise not_found("REQUIREMENT_NOT_FOUND", "name: no such requirement", requirement=requirement_id)
    return requirement


def list_requirements(
    reads: SchedulingReads, *, queue_id: str, after: NewestFirstCursor | None, limit: int
) -> Sequence[Requirement]:
    require_queue(reads.queues, queue_id, field="parent")
    return reads.requirements.list(queue_id, after=after, limit=limit)


def evaluate_what_if(
    reads: SchedulingReads, *, queue_id: str, forecast_id: str, scenario: Scenario
) -> tuple[Forecast, ScenarioOutcome]:
    """A scenario on a stored forecast; nothing is written."""
    queue = require_queue(reads.queues, queue_id, field="forecast")
    forecast = require_forecast(reads, queue_id=queue_id, forecast_id=forecast_id, field="forecast")
    return forecast, evaluate_scenario(queue=queue, forecast=forecast, scenario=scenario)
