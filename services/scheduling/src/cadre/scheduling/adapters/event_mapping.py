"""Scheduling's domain events as the protobuf payloads published on the bus, and audit views."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.message import Message

from cadre.scheduling.adapters import proto_mapping as m
from cadre.scheduling.domain.events import ForecastPublished, RequirementPublished, SchedulingEvent
from cadre.scheduling.v1 import events_pb2

FORECAST_PUBLISHED = "cadre.scheduling.v1.forecast.published"
REQUIREMENT_PUBLISHED = "cadre.scheduling.v1.requirement.published"


def to_message(event: SchedulingEvent) -> tuple[str, str, Message]:
    """(event type, entity resource name, payload)."""
    match event:
        case ForecastPublished(forecast=f):
            name = m.forecast_name(f.queue_id, f.id)
            return (
                FORECAST_PUBLISHED,
                name,
                events_pb2.ForecastPublishedEvent(
                    forecast=name,
                    queue=m.queue_name(f.queue_id),
                    start_date=m.date_to_proto(f.start_date),
                    days=f.days,
                    interval_wape=f.backtest.interval_wape if f.backtest else 0.0,
                    holdout_weeks=f.backtest.holdout_weeks if f.backtest else 0,
                ),
            )
        case RequirementPublished(requirement=r):
            name = m.requirement_name(r.queue_id, r.id)
            return (
                REQUIREMENT_PUBLISHED,
                name,
                events_pb2.RequirementPublishedEvent(
                    requirement=name,
                    queue=m.queue_name(r.queue_id),
                    forecast=m.forecast_name(r.queue_id, r.forecast_id),
                    scheduled_agents=r.staffing.scheduled_agents.tolist(),
                    start_time=m.timestamp(r.interval_starts[0]) if r.interval_starts else None,
                    interval_minutes=_interval_minutes(r.interval_starts),
                    volumes=r.staffing.volumes.tolist(),
                    aht_seconds=r.staffing.aht_seconds.tolist(),
                    agents=r.staffing.agents.tolist(),
                    service_level=r.targets.service_level,
                    answer_seconds=r.targets.answer_seconds,
                    shrinkage=r.targets.shrinkage,
                    patience_seconds=r.targets.patience_seconds,
                ),
            )
    raise TypeError(f"unmapped event {event!r}")


def _interval_minutes(starts: tuple[datetime, ...]) -> int:
    return int((starts[1] - starts[0]).total_seconds() // 60) if len(starts) > 1 else 0


def audit_view(event: SchedulingEvent) -> dict[str, object]:
    """What was published, for the audit log: the resource's identity, not its (large) numbers."""
    match event:
        case ForecastPublished(forecast=f):
            return {
                "forecast": m.forecast_name(f.queue_id, f.id),
                "start_date": f.start_date.isoformat(),
                "days": f.days,
                "method": f.method,
            }
        case RequirementPublished(requirement=r):
            return {
                "requirement": m.requirement_name(r.queue_id, r.id),
                "forecast": m.forecast_name(r.queue_id, r.forecast_id),
                "model": r.model.value,
            }
    raise TypeError(f"unmapped event {event!r}")
