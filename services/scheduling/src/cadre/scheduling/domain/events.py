"""Facts the scheduling domain raises; the adapters publish them through the outbox."""

from __future__ import annotations

from dataclasses import dataclass

from cadre.scheduling.domain.forecasting import Forecast
from cadre.scheduling.domain.staffing import Requirement


@dataclass(frozen=True)
class ForecastPublished:
    forecast: Forecast


@dataclass(frozen=True)
class RequirementPublished:
    requirement: Requirement


SchedulingEvent = ForecastPublished | RequirementPublished
