"""Between scheduling's domain objects and its protobuf messages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
from google.protobuf import struct_pb2, timestamp_pb2
from google.type import timeofday_pb2

from cadre.chassis.errors import Violations, invalid_field
from cadre.chassis.proto_dates import date_to_proto
from cadre.chassis.resource_names import format_name, parse_name
from cadre.scheduling.domain.forecasting import Forecast
from cadre.scheduling.domain.history import IntervalRecord, RecordDraft
from cadre.scheduling.domain.queue import SETTING_NAMES, OpeningHours, Queue, QueueSettings
from cadre.scheduling.domain.staffing import Achieved, Requirement, Staffing, StaffingModel, StaffingTargets
from cadre.scheduling.v1 import forecast_pb2, queue_pb2, requirement_pb2

QUEUES = "queues"
FORECASTS = "forecasts"
REQUIREMENTS = "requirements"

_MODEL_TO_PROTO = {
    StaffingModel.ERLANG_C: requirement_pb2.STAFFING_MODEL_ERLANG_C,
    StaffingModel.ERLANG_A: requirement_pb2.STAFFING_MODEL_ERLANG_A,
}
_MODEL_FROM_PROTO = {v: k for k, v in _MODEL_TO_PROTO.items()}

# UpdateQueue's update_mask paths → the queue settings each one changes.
_MASK_PATHS: dict[str, tuple[str, ...]] = {
    "display_name": ("display_name",),
    "service_level": ("service_level", "answer_seconds"),
    "service_level.fraction": ("service_level",),
    "service_level.answer_seconds": ("answer_seconds",),
    "asa_target_seconds": ("asa_target_seconds",),
    "max_occupancy": ("max_occupancy",),
    "shrinkage": ("shrinkage",),
    "interval_minutes": ("interval_minutes",),
    "time_zone": ("time_zone",),
    "opening_hours": ("opening_hours",),
    "patience_seconds": ("patience_seconds",),
}
_ETAG = re.compile(r'W/"(\d{1,18})"')


# ---------------------------------------------------------------- names, dates and times


def queue_name(queue_id: str) -> str:
    return format_name(QUEUES, queue_id)


def forecast_name(queue_id: str, forecast_id: str) -> str:
    return f"{queue_name(queue_id)}/{format_name(FORECASTS, forecast_id)}"


def requirement_name(queue_id: str, requirement_id: str) -> str:
    return f"{queue_name(queue_id)}/{format_name(REQUIREMENTS, requirement_id)}"


def parse_child_name(name: str, collection: str, field_path: str) -> tuple[str, str]:
    """(queue id, child id) of `queues/{queue}/{collection}/{id}`, or INVALID_ARGUMENT naming the field."""
    if not name:
        raise invalid_field(
            field_path, "REQUIRED_FIELD_MISSING", f"must be set ({QUEUES}/{{id}}/{collection}/{{id}})"
        )
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != QUEUES or parts[2] != collection:
        raise invalid_field(
            field_path, "MALFORMED_RESOURCE_NAME", f"must look like {QUEUES}/{{id}}/{collection}/{{id}}"
        )
    queue_id = parse_name("/".join(parts[:2]), QUEUES, field_path)
    return queue_id, parse_name("/".join(parts[2:]), collection, field_path)


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    message = timestamp_pb2.Timestamp()
    message.FromDatetime(moment)
    return message


def moment(value: timestamp_pb2.Timestamp) -> datetime:
    return value.ToDatetime(tzinfo=UTC)


# ---------------------------------------------------------------- queues


def _minute_of_day(value: timeofday_pb2.TimeOfDay) -> int:
    """Minutes after midnight; -1 (refused by the domain's checks) for seconds or an impossible time."""
    if value.seconds or value.nanos or value.minutes >= 60 or value.minutes < 0 or value.hours < 0:
        return -1
    return value.hours * 60 + value.minutes


def _time_of_day(minute: int) -> timeofday_pb2.TimeOfDay:
    return timeofday_pb2.TimeOfDay(hours=minute // 60, minutes=minute % 60)


def settings_from_proto(queue: queue_pb2.Queue) -> QueueSettings:
    return QueueSettings(
        display_name=queue.display_name,
        service_level=queue.service_level.fraction,
        answer_seconds=queue.service_level.answer_seconds,
        asa_target_seconds=queue.asa_target_seconds,
        max_occupancy=queue.max_occupancy,
        shrinkage=queue.shrinkage,
        interval_minutes=queue.interval_minutes,
        time_zone=queue.time_zone,
        opening_hours=tuple(
            OpeningHours(int(h.day), _minute_of_day(h.open), _minute_of_day(h.close))
            for h in queue.opening_hours
        ),
        patience_seconds=queue.patience_seconds,
    )


def etag(queue: Queue) -> str:
    return f'W/"{queue.version}"'


def version_from_etag(value: str, field_path: str) -> int | None:
    """None for no etag (update whatever is current); the version an etag of ours names."""
    if not value:
        return None
    match = _ETAG.fullmatch(value)
    if match is None:
        raise invalid_field(field_path, "ETAG_MALFORMED", "is not an etag this API issued")
    return int(match.group(1))


def changes_from_mask(paths: Iterable[str], queue: queue_pb2.Queue) -> dict[str, object]:
    """The settings an UpdateQueue changes: for each masked path, the request's value."""
    requested = settings_from_proto(queue)
    names: set[str] = set()
    for path in paths:
        if path == "*":
            names |= SETTING_NAMES
        elif path in _MASK_PATHS:
            names.update(_MASK_PATHS[path])
        else:
            raise invalid_field(
                "update_mask",
                "FIELD_NOT_UPDATABLE",
                f"{path!r} cannot be updated; updatable: {', '.join(sorted(_MASK_PATHS))}",
            )
    if not names:
        raise invalid_field("update_mask", "REQUIRED_FIELD_MISSING", "must name the fields to change")
    return {name: getattr(requested, name) for name in names}


def queue_to_proto(queue: Queue) -> queue_pb2.Queue:
    s = queue.settings
    return queue_pb2.Queue(
        name=queue_name(queue.id),
        display_name=s.display_name,
        service_level=queue_pb2.ServiceLevelTarget(fraction=s.service_level, answer_seconds=s.answer_seconds),
        asa_target_seconds=s.asa_target_seconds,
        max_occupancy=s.max_occupancy,
        shrinkage=s.shrinkage,
        interval_minutes=s.interval_minutes,
        time_zone=s.time_zone,
        opening_hours=[
            queue_pb2.OpeningHours(
                day=h.weekday,  # type: ignore[arg-type]
                open=_time_of_day(h.open_minute),
                close=_time_of_day(h.close_minute),
            )
            for h in s.opening_hours
        ],
        patience_seconds=s.patience_seconds,
        create_time=timestamp(queue.created_at),
        etag=etag(queue),
    )


# ---------------------------------------------------------------- interval history


def record_drafts(records: Sequence[queue_pb2.IntervalRecord]) -> list[RecordDraft]:
    return [
        RecordDraft(
            start_time=moment(r.start_time) if r.HasField("start_time") else None,
            offered=r.offered,
            handled=r.handled,
            abandoned=r.abandoned,
            aht_seconds=r.aht_seconds,
        )
        for r in records
    ]


def record_to_proto(record: IntervalRecord) -> queue_pb2.IntervalRecord:
    return queue_pb2.IntervalRecord(
        start_time=timestamp_pb2.Timestamp(seconds=int(record.start_time.timestamp())),
        offered=record.offered,
        handled=record.handled,
        abandoned=record.abandoned,
        aht_seconds=record.aht_seconds,
    )


# ---------------------------------------------------------------- forecasts


def struct(values: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def _seconds(starts: Sequence[datetime]) -> list[int]:
    return [int(s.timestamp()) for s in starts]


def forecast_to_proto(forecast: Forecast, *, with_intervals: bool = True) -> forecast_pb2.Forecast:
    message = forecast_pb2.Forecast(
        name=forecast_name(forecast.queue_id, forecast.id),
        start_date=date_to_proto(forecast.start_date),
        days=forecast.days,
        method=forecast.method,
        parameters=struct(forecast.parameters),
        create_time=timestamp(forecast.created_at),
    )
    if forecast.backtest is not None:
        message.backtest.CopyFrom(
            forecast_pb2.Backtest(
                holdout_weeks=forecast.backtest.holdout_weeks,
                interval_wape=forecast.backtest.interval_wape,
                daily_wape=forecast.backtest.daily_wape,
            )
        )
    if with_intervals:
        message.intervals.extend(
            forecast_pb2.ForecastInterval(
                start_time=timestamp_pb2.Timestamp(seconds=start), volume=volume, aht_seconds=aht
            )
            for start, volume, aht in zip(
                _seconds(forecast.interval_starts),
                forecast.volumes.tolist(),
                forecast.aht_seconds.tolist(),
                strict=True,
            )
        )
    return message


# ---------------------------------------------------------------- requirements and scenarios


def model_from_proto(value: int, field_path: str, violations: Violations) -> StaffingModel | None:
    if value in _MODEL_FROM_PROTO:
        return _MODEL_FROM_PROTO[value]  # type: ignore[index]
    if value != 0:
        violations.add(field_path, "UNKNOWN_ENUM_VALUE", f"{value} is not a known staffing model")
    return None


def model_to_proto(model: StaffingModel) -> requirement_pb2.StaffingModel:
    return _MODEL_TO_PROTO[model]


def targets_to_proto(targets: StaffingTargets) -> requirement_pb2.StaffingTargets:
    return requirement_pb2.StaffingTargets(
        service_level=queue_pb2.ServiceLevelTarget(
            fraction=targets.service_level, answer_seconds=targets.answer_seconds
        ),
        asa_target_seconds=targets.asa_target_seconds,
        max_occupancy=targets.max_occupancy,
        shrinkage=targets.shrinkage,
        patience_seconds=targets.patience_seconds,
    )


def staffing_intervals(
    starts: Sequence[datetime], staffing: Staffing, achieved: Achieved | None = None
) -> list[requirement_pb2.RequirementInterval]:
    """One message per interval; `achieved` defaults to what the required agents achieve."""
    achieved = achieved or staffing.achieved
    columns: list[list[Any]] = [
        _seconds(starts),
        *(
            np.asarray(column).tolist()
            for column in (
                staffing.volumes,
                staffing.aht_seconds,
                staffing.agents,
                staffing.scheduled_agents,
                staffing.fractional_agents,
                achieved.service_level,
                achieved.asa_seconds,
                achieved.occupancy,
                achieved.wait_probability,
                achieved.abandon_rate,
            )
        ),
    ]
    return [
        requirement_pb2.RequirementInterval(
            start_time=timestamp_pb2.Timestamp(seconds=start),
            volume=volume,
            aht_seconds=aht,
            agents=agents,
            scheduled_agents=scheduled,
            fractional_agents=fractional,
            achieved=requirement_pb2.Achieved(
                service_level=sl, asa_seconds=asa, occupancy=occ, probability_of_waiting=pw, abandon_rate=ab
            ),
        )
        for start, volume, aht, agents, scheduled, fractional, sl, asa, occ, pw, ab in zip(
            *columns, strict=True
        )
    ]


def requirement_to_proto(
    requirement: Requirement, *, with_intervals: bool = True
) -> requirement_pb2.Requirement:
    message = requirement_pb2.Requirement(
        name=requirement_name(requirement.queue_id, requirement.id),
        forecast=forecast_name(requirement.queue_id, requirement.forecast_id),
        model=model_to_proto(requirement.model),
        create_time=timestamp(requirement.created_at),
        targets=targets_to_proto(requirement.targets),
    )
    if with_intervals:
        message.intervals.extend(staffing_intervals(requirement.interval_starts, requirement.staffing))
    return message
