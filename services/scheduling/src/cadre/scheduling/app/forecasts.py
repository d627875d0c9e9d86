"""Forecast use cases: check a request against the history, compute, store and publish, read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cadre.chassis.errors import not_found
from cadre.scheduling.app.ports import NewestFirstCursor, SchedulingReads, SchedulingUnit
from cadre.scheduling.app.queues import require_queue
from cadre.scheduling.domain.events import ForecastPublished
from cadre.scheduling.domain.forecasting import (
    Forecast,
    ForecastOptions,
    Progress,
    check_history,
    history_span_days,
    make_forecast,
)
from cadre.scheduling.domain.queue import Queue


def check_forecast_request(reads: SchedulingReads, *, queue_id: str, options: ForecastOptions) -> Queue:
    """Fails now, on the call, what would otherwise fail minutes later in the operation."""
    queue = require_queue(reads.queues, queue_id, field="parent")
    first, last = reads.records.span(queue_id)
    check_history(queue, history_span_days(first, last, queue), options)
    return queue


def compute_forecast(
    reads: SchedulingReads,
    *,
    queue_id: str,
    forecast_id: str,
    options: ForecastOptions,
    now: datetime,
    progress: Progress,
) -> Forecast:
    queue = require_queue(reads.queues, queue_id, field="parent")
    progress(5, "reading the interval history")
    records = reads.records.list(queue_id, start=None, end=None, after=None, limit=None)
    return make_forecast(
        forecast_id=forecast_id, queue=queue, records=records, options=options, now=now, progress=progress
    )


def store_forecast(unit: SchedulingUnit, *, forecast: Forecast) -> Forecast:
    """Keeps the forecast and publishes it, unless its queue was deleted while it was computed."""
    require_queue(unit.queues, forecast.queue_id, field="parent", for_update=True)
    unit.forecasts.add(forecast)
    unit.record(ForecastPublished(forecast))
    return forecast


def require_forecast(reads: SchedulingReads, *, queue_id: str, forecast_id: str, field: str) -> Forecast:
    forecast = reads.forecasts.get(queue_id, forecast_id)
    if forecast is None:
        raise not_found("FORECAST_NOT_FOUND", f"{field}: no such forecast", field=field, forecast=forecast_id)
    return forecast


def list_forecasts(
    reads: SchedulingReads, *, queue_id: str, after: NewestFirstCursor | None, limit: int
) -> Sequence[Forecast]:
    require_queue(reads.queues, queue_id, field="parent")
    return reads.forecasts.list(queue_id, after=after, limit=limit)
