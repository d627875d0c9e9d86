"""SchedulingService over a real gRPC socket, a real database and a real NATS server."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import nats
import numpy as np
import pytest
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import field_mask_pb2, json_format, timestamp_pb2
from google.type import date_pb2, dayofweek_pb2, timeofday_pb2
from sqlalchemy import func, select

from cadre.chassis.events import parse_envelope, unpack_payload
from cadre.chassis.grpc_errors import error_info
from cadre.chassis.server import ServiceHost
from cadre.chassis.tables import audit_log, operations, outbox, request_ledger
from cadre.cli import testing
from cadre.cli.processes import NatsServer
from cadre.cli.testing import serving
from cadre.scheduling.adapters.tables import forecasts, interval_records, queues, requirements
from cadre.scheduling.domain.forecast import forecast_from_params, synthetic_history
from cadre.scheduling.main import build
from cadre.scheduling.settings import SchedulingSettings
from cadre.scheduling.v1 import (
    events_pb2,
    forecast_pb2,
    queue_pb2,
    requirement_pb2,
    scheduling_service_pb2,
    scheduling_service_pb2_grpc,
)
from cadre.staffing.erlang import QueueTargets, staffing_requirement

pb = scheduling_service_pb2
Queue = queue_pb2.Queue
BERLIN = "Europe/Berlin"
# A Monday in August: no DST change in the five weeks of history that follow.
HISTORY_START = date(2026, 8, 3)
STREAM = "CADRE_SCHEDULING"


@dataclass
class Scheduling:
    stub: scheduling_service_pb2_grpc.SchedulingServiceStub
    operations: operations_pb2_grpc.OperationsStub
    host: ServiceHost
    nats_url: str


@pytest.fixture
async def scheduling(database_url: str, nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[Scheduling]:
    settings = testing.host_settings(
        SchedulingSettings, database_url=database_url, nats=nats_server, data_dir=tmp_path
    )
    host = build(settings)
    async with serving(host), testing.channel(f"127.0.0.1:{host.bound_port}") as channel:
        yield Scheduling(
            scheduling_service_pb2_grpc.SchedulingServiceStub(channel),
            operations_pb2_grpc.OperationsStub(channel),
            host,
            nats_server.url,
        )


def _queue(**overrides: Any) -> Queue:
    queue = Queue(
        display_name="Billing voice",
        service_level=queue_pb2.ServiceLevelTarget(fraction=0.8, answer_seconds=20),
        max_occupancy=0.9,
        shrinkage=0.3,
        interval_minutes=30,
        time_zone=BERLIN,
    )
    for key, value in overrides.items():
        if isinstance(value, list):
            getattr(queue, key).extend(value)
        elif hasattr(value, "DESCRIPTOR"):
            getattr(queue, key).CopyFrom(value)
        else:
            setattr(queue, key, value)
    return queue


async def _create_queue(s: Scheduling, **overrides: Any) -> Queue:
    return await s.stub.CreateQueue(pb.CreateQueueRequest(queue=_queue(**overrides)))


def _ts(moment: datetime) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=int(moment.timestamp()))


def _record(moment: datetime, offered: int = 40, handled: int = 38, abandoned: int = 2, aht: float = 240.0):
    return queue_pb2.IntervalRecord(
        start_time=_ts(moment), offered=offered, handled=handled, abandoned=abandoned, aht_seconds=aht
    )


def _synthetic_records(
    days: int = 35, *, seed: int = 3, daily: float = 2400.0
) -> list[queue_pb2.IntervalRecord]:
    """Weeks of 30-minute history shaped like real traffic: weekly and intraday seasonality, noise."""
    history = synthetic_history(
        start=HISTORY_START,
        days=days,
        time_zone=BERLIN,
        interval_minutes=30,
        seed=seed,
        mean_daily_volume=daily,
    ).history
    records = []
    for moment, offered, aht in zip(history.timestamps, history.offered, history.aht_seconds, strict=True):
        abandoned = int(offered) // 20
        records.append(_record(moment, int(offered), int(offered) - abandoned, abandoned, float(aht)))
    return records


def _constant_records(days: int, *, offered: int, aht: float) -> list[queue_pb2.IntervalRecord]:
    start = datetime(HISTORY_START.year, HISTORY_START.month, HISTORY_START.day, tzinfo=UTC) - timedelta(
        hours=2
    )
    return [_record(start + timedelta(minutes=30 * i), offered, offered, 0, aht) for i in range(days * 48)]


async def _import(s: Scheduling, queue: Queue, records: list[queue_pb2.IntervalRecord], **fields: Any):
    return await s.stub.ImportIntervalRecords(
        pb.ImportIntervalRecordsRequest(parent=queue.name, records=records, **fields)
    )


async def _operation_done(s: Scheduling, name: str, timeout: float = 60.0) -> operations_pb2.Operation:
    deadline = time.monotonic() + timeout
    while True:
        operation = await s.operations.GetOperation(operations_pb2.GetOperationRequest(name=name))
        if operation.done:
            return operation
        assert time.monotonic() < deadline, f"operation {name} not done after {timeout}s"
        await asyncio.sleep(0.1)


async def _forecast(s: Scheduling, queue: Queue, **fields: Any) -> forecast_pb2.Forecast:
    request = pb.GenerateForecastRequest(parent=queue.name, **({"days": 7} | fields))
    operation = await _operation_done(s, (await s.stub.GenerateForecast(request)).name)
    assert not operation.HasField("error"), operation.error
    forecast = forecast_pb2.Forecast()
    assert operation.response.Unpack(forecast)
    return forecast


def _row_counts(s: Scheduling) -> dict[str, int]:
    with s.host.db.reader() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (
                queues,
                interval_records,
                forecasts,
                requirements,
                outbox,
                audit_log,
                request_ledger,
                operations,
            )
        }


def _expect_error(error: grpc.aio.AioRpcError, code: grpc.StatusCode, reason: str, field: str | None) -> None:
    assert error.code() == code, error.details()
    info, bad_request = error_info(error)
    assert info is not None and info.reason == reason, (info, error.details())
    if field is not None:
        fields = (
            [v.field for v in bad_request.field_violations] if bad_request else [info.metadata.get("field")]
        )
        assert field in fields, fields


async def _published(nats_url: str, subject: str, timeout: float = 10.0) -> list[Any]:
    """The payloads on the scheduling stream under `subject`, once the relay has published one."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        deadline = time.monotonic() + timeout
        while True:
            try:
                await js.get_last_msg(STREAM, subject)
                break
            except Exception:
                assert time.monotonic() < deadline, f"nothing published on {subject}"
                await asyncio.sleep(0.1)
        subscription = await js.subscribe(subject, stream=STREAM, ordered_consumer=True)
        payloads = []
        while True:
            try:
                message = await subscription.next_msg(timeout=0.5)
            except nats.errors.TimeoutError:
                break
            payloads.append(unpack_payload(parse_envelope(message.data)))
        return payloads
    finally:
        await connection.close()


# ---------------------------------------------------------------- queues


async def test_queue_create_get_list_update_delete(scheduling: Scheduling) -> None:
    s = scheduling
    hours = queue_pb2.OpeningHours(
        day=dayofweek_pb2.MONDAY,
        open=timeofday_pb2.TimeOfDay(hours=8),
        close=timeofday_pb2.TimeOfDay(hours=20),
    )
    billing = await _create_queue(s, opening_hours=[hours], patience_seconds=90)
    assert billing.name.startswith("queues/") and billing.etag == 'W/"1"'
    assert await s.stub.GetQueue(pb.GetQueueRequest(name=billing.name)) == billing
    others = [await _create_queue(s, display_name=f"Queue {i}") for i in range(4)]

    seen, token = [], ""
    while True:
        page = await s.stub.ListQueues(pb.ListQueuesRequest(page_size=2, page_token=token))
        assert len(page.queues) <= 2
        seen += [q.name for q in page.queues]
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted([billing.name, *(q.name for q in others)]) and seen == sorted(seen)

    changed = Queue(
        name=billing.name,
        etag=billing.etag,
        shrinkage=0.35,
        service_level=queue_pb2.ServiceLevelTarget(fraction=0.9, answer_seconds=30),
        display_name="ignored: not in the mask",
    )
    updated = await s.stub.UpdateQueue(
        pb.UpdateQueueRequest(
            queue=changed, update_mask=field_mask_pb2.FieldMask(paths=["shrinkage", "service_level.fraction"])
        )
    )
    assert (updated.shrinkage, updated.service_level.fraction) == (0.35, 0.9)
    assert updated.service_level.answer_seconds == 20 and updated.display_name == "Billing voice"
    assert updated.etag == 'W/"2"' and list(updated.opening_hours) == [hours]

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await s.stub.DeleteQueue(pb.DeleteQueueRequest(name=billing.name, etag=billing.etag))
    _expect_error(raised.value, grpc.StatusCode.ABORTED, "ETAG_MISMATCH", None)
    await s.stub.DeleteQueue(pb.DeleteQueueRequest(name=billing.name, etag=updated.etag))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await s.stub.GetQueue(pb.GetQueueRequest(name=billing.name))
    _expect_error(raised.value, grpc.StatusCode.NOT_FOUND, "QUEUE_NOT_FOUND", None)


async def test_concurrent_updates_with_one_etag_one_wins(scheduling: Scheduling) -> None:
    s = scheduling
    queue = await _create_queue(s)
    mask = field_mask_pb2.FieldMask(paths=["shrinkage"])
    attempts = [
        s.stub.UpdateQueue(
            pb.UpdateQueueRequest(
                queue=Queue(name=queue.name, etag=queue.etag, shrinkage=0.01 * i), update_mask=mask
            )
        )
        for i in range(1, 13)
    ]
    outcomes = await asyncio.gather(*attempts, return_exceptions=True)
    winners = [o for o in outcomes if isinstance(o, Queue)]
    losers = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(winners) == 1 and len(losers) == len(attempts) - 1
    for error in losers:
        _expect_error(error, grpc.StatusCode.ABORTED, "ETAG_MISMATCH", None)
    final = await s.stub.GetQueue(pb.GetQueueRequest(name=queue.name))
    assert final.etag == 'W/"2"' and final.shrinkage == winners[0].shrinkage


async def test_the_grid_of_a_queue_with_history_cannot_change(scheduling: Scheduling) -> None:
    s = scheduling
    queue = await _create_queue(s)
    await _import(s, queue, _constant_records(1, offered=10, aht=200))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await s.stub.UpdateQueue(
            pb.UpdateQueueRequest(
                queue=Queue(name=queue.name, interval_minutes=15),
                update_mask=field_mask_pb2.FieldMask(paths=["interval_minutes"]),
            )
        )
    _expect_error(raised.value, grpc.StatusCode.FAILED_PRECONDITION, "QUEUE_HAS_HISTORY", None)


# ---------------------------------------------------------------- interval history


async def test_an_import_with_bad_records_names_each_and_writes_nothing(scheduling: Scheduling) -> None:
    s = scheduling
    queue = await _create_queue(s)
    t0 = datetime(2026, 9, 7, 6, 0, tzinfo=UTC)  # 08:00 in Berlin
    records = [
        _record(t0),
        _record(t0 + timedelta(minutes=30), offered=-1, handled=0, abandoned=0),
        _record(t0 + timedelta(minutes=60), offered=10, handled=9, abandoned=2),
        _record(t0 + timedelta(minutes=90), handled=5, aht=0),
        _record(t0 + timedelta(minutes=135)),  # 10:15 is not on a 30-minute grid
        _record(t0),  # the same interval as records[0]
        queue_pb2.IntervalRecord(offered=1, handled=1, aht_seconds=100),  # no start
        _record(datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)),
    ]
    before = _row_counts(s)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await _import(s, queue, records, request_id=str(uuid.uuid4()))
    error = raised.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    info, bad_request = error_info(error)
    assert info is not None and info.metadata["bad_records"] == "7"
    assert bad_request is not None
    assert {(v.field, v.reason) for v in bad_request.field_violations} == {
        ("records[1].offered", "NEGATIVE_COUNT"),
        ("records[2].handled", "COUNTS_EXCEED_OFFERED"),
        ("records[3].aht_seconds", "AHT_NOT_POSITIVE"),
        ("records[4].start_time", "OFF_INTERVAL_GRID"),
        ("records[5].start_time", "DUPLICATE_INTERVAL"),
        ("records[6].start_time", "REQUIRED_FIELD_MISSING"),
        ("records[7].start_time", "INTERVAL_IN_FUTURE"),
    }
    assert _row_counts(s) == before


async def test_reimport_replaces_and_lists_in_time_order(scheduling: Scheduling) -> None:
    s = scheduling
    queue = await _create_queue(s)
    t0 = datetime(2026, 9, 7, 6, 0, tzinfo=UTC)
    first = [
        _record(t0 + timedelta(minutes=30 * i), offered=10 + i, handled=10 + i, abandoned=0)
        for i in range(10)
    ]
    assert await _import(s, queue, first) == pb.ImportIntervalRecordsResponse(inserted=10, replaced=0)
    # Five of the same intervals with new numbers, five new ones, sent in reverse order.
    second = [
        _record(t0 + timedelta(minutes=30 * i), offered=100 + i, handled=90 + i, abandoned=10)
        for i in range(5, 15)
    ][::-1]
    preview = await _import(s, queue, second, validate_only=True)
    assert preview == pb.ImportIntervalRecordsResponse(inserted=5, replaced=5)
    assert await _import(s, queue, second) == pb.ImportIntervalRecordsResponse(inserted=5, replaced=5)

    listed, token = [], ""
    while True:
        page = await s.stub.ListIntervalRecords(
            pb.ListIntervalRecordsRequest(parent=queue.name, page_size=4, page_token=token)
        )
        listed += page.records
        token = page.next_page_token
        if not token:
            break
    assert [r.start_time.seconds for r in listed] == [
        int((t0 + timedelta(minutes=30 * i)).timestamp()) for i in range(15)
    ]
    assert [r.offered for r in listed] == [10 + i for i in range(5)] + [100 + i for i in range(5, 15)]
    window = await s.stub.ListIntervalRecords(
        pb.ListIntervalRecordsRequest(
            parent=queue.name, start_time=_ts(t0 + timedelta(hours=1)), end_time=_ts(t0 + timedelta(hours=2))
        )
    )
    assert [r.offered for r in window.records] == [12, 13]


# ---------------------------------------------------------------- forecasts


async def test_forecast_runs_as_an_operation_and_is_published(scheduling: Scheduling) -> None:
    s = scheduling
    queue = await _create_queue(s)
    await _import(s, queue, _synthetic_records(days=35))
    request = pb.GenerateForecastRequest(
        parent=queue.name,
        days=14,
        holdout_weeks=1,
        excluded_dates=[date_pb2.Date(year=2026, month=8, day=15)],
        request_id=str(uuid.uuid4()),
    )
    started = await s.stub.GenerateForecast(request)
    assert started.name.startswith("operations/")
    metadata = forecast_pb2.GenerateForecastMetadata()
    assert started.metadata.Unpack(metadata) and metadata.queue == queue.name
    again = await s.stub.GenerateForecast(request)  # a retry: the same operation, not a second forecast
    assert again.name == started.name

    operation = await _operation_done(s, started.name)
    assert not operation.HasField("error"), operation.error
    assert operation.metadata.Unpack(metadata) and metadata.percent_done == 100
    forecast = forecast_pb2.Forecast()
    assert operation.response.Unpack(forecast)
    assert forecast.name.startswith(f"{queue.name}/forecasts/")
    assert (forecast.start_date.year, forecast.start_date.month, forecast.start_date.day) == (2026, 9, 7)
    assert forecast.days == 14 and len(forecast.intervals) == 14 * 48
    assert forecast.backtest.holdout_weeks == 1 and 0 < forecast.backtest.interval_wape < 0.3
    assert sum(i.volume for i in forecast.intervals) == pytest.approx(14 * 2400, rel=0.15)

    # The stored parameters reproduce the numbers.
    again_numbers = forecast_from_params(json_format.MessageToDict(forecast.parameters))
    assert np.allclose(again_numbers.volumes, [i.volume for i in forecast.intervals], rtol=1e-12)
    assert "2026-08-15" in json_format.MessageToDict(forecast.parameters)["history"]["excluded_dates"]

    assert await s.stub.GetForecast(pb.GetForecastRequest(name=forecast.name)) == forecast
    listed = await s.stub.ListForecasts(pb.ListForecastsRequest(parent=queue.name))
    assert [f.name for f in listed.forecasts] == [forecast.name] and not listed.forecasts[0].intervals

    published = await _published(s.nats_url, "cadre.scheduling.v1.forecast.published")
    assert published == [
        events_pb2.ForecastPublishedEvent(
            forecast=forecast.name,
            queue=queue.name,
            start_date=forecast.start_date,
            days=14,
            interval_wape=forecast.backtest.interval_wape,
            holdout_weeks=1,
        )
    ]
    assert _row_counts(s)["forecasts"] == 1


async def test_too_little_history_is_refused_on_the_call(scheduling: Scheduling) -> None:
    s = scheduling
    queue = await _create_queue(s)
    await _import(s, queue, _constant_records(20, offered=10, aht=200))
    before = _row_counts(s)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await s.stub.GenerateForecast(pb.GenerateForecastRequest(parent=queue.name, days=7))
    _expect_error(raised.value, grpc.StatusCode.FAILED_PRECONDITION, "NOT_ENOUGH_HISTORY", None)
    info, _ = error_info(raised.value)
    assert info is not None and info.metadata["days_available"] == "20"
    assert _row_counts(s) == before


# ---------------------------------------------------------------- requirements


async def test_requirement_matches_the_textbook_and_the_domain(scheduling: Scheduling) -> None:
    s = scheduling
    # 100 contacts per 30 minutes, AHT 180 s, 80 % in 20 s: 14 agents, SL 88.8 %, Pw 17.4 %,
    # ASA 7.8 s, occupancy 71.4 %.
    queue = await _create_queue(s, max_occupancy=0, shrinkage=0.25)
    await _import(s, queue, _constant_records(28, offered=100, aht=180))
    forecast = await _forecast(s, queue)
    assert all(i.volume == pytest.approx(100) for i in forecast.intervals)
    requirement = await s.stub.CreateRequirement(
        pb.CreateRequirementRequest(parent=queue.name, forecast=forecast.name)
    )
    assert requirement.model == requirement_pb2.STAFFING_MODEL_ERLANG_C
    assert requirement.targets.service_level.fraction == 0.8 and requirement.targets.shrinkage == 0.25
    assert len(requirement.intervals) == len(forecast.intervals)
    first = requirement.intervals[0]
    assert (first.agents, first.scheduled_agents) == (14, 19)  # ceil(14 / 0.75)
    assert 13 < first.fractional_agents <= 14
    assert first.achieved.service_level == pytest.approx(0.888, abs=5e-4)
    assert first.achieved.probability_of_waiting == pytest.approx(0.174, abs=5e-4)
    assert first.achieved.asa_seconds == pytest.approx(7.8, abs=0.05)
    assert first.achieved.occupancy == pytest.approx(0.714, abs=5e-4)

    volumes = np.array([i.volume for i in forecast.intervals])
    aht = np.array([i.aht_seconds for i in forecast.intervals])
    expected = staffing_requirement(volumes, aht, 1800, QueueTargets(0.8, 20.0), shrinkage=0.25)
    assert [i.agents for i in requirement.intervals] == expected.net_agents.tolist()
    assert [i.scheduled_agents for i in requirement.intervals] == expected.gross_agents.tolist()
    assert np.allclose(
        [i.achieved.service_level for i in requirement.intervals], expected.metrics.service_level
    )

    assert await s.stub.GetRequirement(pb.GetRequirementRequest(name=requirement.name)) == requirement
    listed = await s.stub.ListRequirements(pb.ListRequirementsRequest(parent=queue.name))
    assert [r.name for r in listed.requirements] == [requirement.name] and not listed.requirements[
        0
    ].intervals
    published = await _published(s.nats_url, "cadre.scheduling.v1.requirement.published")
    assert published == [
        events_pb2.RequirementPublishedEvent(
            requirement=requirement.name,
            queue=queue.name,
            forecast=forecast.name,
            scheduled_agents=[i.scheduled_agents for i in requirement.intervals],
            start_time=requirement.intervals[0].start_time,
            interval_minutes=30,
            volumes=[i.volume for i in forecast.intervals],
            aht_seconds=[i.aht_seconds for i in forecast.intervals],
            agents=[i.agents for i in requirement.intervals],
            service_level=0.8,
            answer_seconds=20.0,
            shrinkage=0.25,
        )
    ]


async def test_requirement_is_idempotent_and_uses_erlang_a_with_patience(scheduling: Scheduling) -> None:
    s = scheduling
    queue = await _create_queue(s, patience_seconds=120, max_occupancy=0)
    await _import(s, queue, _constant_records(21, offered=100, aht=180))
    forecast = await _forecast(s, queue)
    request = pb.CreateRequirementRequest(
        parent=queue.name, forecast=forecast.name, request_id=str(uuid.uuid4())
    )
    before = _row_counts(s)
    answers = await asyncio.gather(*(s.stub.CreateRequirement(request) for _ in range(8)))
    assert len({a.SerializeToString(deterministic=True) for a in answers}) == 1
    after = _row_counts(s)
    assert after["requirements"] == before["requirements"] + 1
    assert after["chassis_outbox"] == before["chassis_outbox"] + 1
    erlang_a = answers[0]
    assert erlang_a.model == requirement_pb2.STAFFING_MODEL_ERLANG_A
    assert erlang_a.targets.patience_seconds == 120
    assert erlang_a.intervals[0].agents <= 14 and erlang_a.intervals[0].achieved.abandon_rate > 0

    erlang_c = await s.stub.CreateRequirement(
        pb.CreateRequirementRequest(
            parent=queue.name, forecast=forecast.name, model=requirement_pb2.STAFFING_MODEL_ERLANG_C
        )
    )
    assert erlang_c.intervals[0].agents == 14 and erlang_c.targets.patience_seconds == 0

    reused = pb.CreateRequirementRequest(
        parent=queue.name,
        forecast=forecast.name,
        model=requirement_pb2.STAFFING_MODEL_ERLANG_C,
        request_id=request.request_id,
    )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await s.stub.CreateRequirement(reused)
    _expect_error(raised.value, grpc.StatusCode.INVALID_ARGUMENT, "REQUEST_ID_REUSED", "request_id")


async def test_forecasts_and_requirements_page_newest_first(scheduling: Scheduling) -> None:
    s = scheduling
    queue = await _create_queue(s)
    await _import(s, queue, _constant_records(21, offered=50, aht=200))
    forecasts = [await _forecast(s, queue, days=1) for _ in range(3)]
    made = [
        await s.stub.CreateRequirement(pb.CreateRequirementRequest(parent=queue.name, forecast=f.name))
        for f in forecasts
        for _ in range(2)
    ]
    for method, request_type, field_name, expected in (
        ("ListForecasts", pb.ListForecastsRequest, "forecasts", forecasts),
        ("ListRequirements", pb.ListRequirementsRequest, "requirements", made),
    ):
        seen, token = [], ""
        while True:
            page = await getattr(s.stub, method)(
                request_type(parent=queue.name, page_size=2, page_token=token)
            )
            seen += [item.name for item in getattr(page, field_name)]
            token = page.next_page_token
            if not token:
                break
        assert seen == [item.name for item in reversed(expected)], method


async def test_scenarios_compute_without_writing(scheduling: Scheduling) -> None:
    s = scheduling
    queue = await _create_queue(s, max_occupancy=0, shrinkage=0)
    await _import(s, queue, _constant_records(21, offered=100, aht=180))
    forecast = await _forecast(s, queue, days=1)
    before = _row_counts(s)

    base = await s.stub.EvaluateScenario(pb.EvaluateScenarioRequest(forecast=forecast.name))
    assert [i.agents for i in base.intervals] == [14] * 48 and base.intervals_below_target == 0
    assert base.required_agent_hours == pytest.approx(14 * 48 / 2)
    assert base.service_level == pytest.approx(0.888, abs=5e-4)

    busier = await s.stub.EvaluateScenario(
        pb.EvaluateScenarioRequest(forecast=forecast.name, volume_change=0.1)
    )
    assert all(i.volume == pytest.approx(110) for i in busier.intervals)
    assert busier.required_agent_hours > base.required_agent_hours

    short = await s.stub.EvaluateScenario(
        pb.EvaluateScenarioRequest(forecast=forecast.name, planned_agents=[13] * 24 + [14] * 24)
    )
    assert short.intervals_below_target == 24
    assert [i.agents for i in short.intervals] == [14] * 48  # the requirement is unchanged
    assert short.intervals[0].achieved.service_level < 0.8 < short.intervals[-1].achieved.service_level

    stricter = await s.stub.EvaluateScenario(
        pb.EvaluateScenarioRequest(
            forecast=forecast.name,
            aht_seconds=240,
            service_level=queue_pb2.ServiceLevelTarget(fraction=0.9, answer_seconds=15),
        )
    )
    assert stricter.intervals[0].aht_seconds == 240 and stricter.intervals[0].agents > 14
    assert stricter.intervals[0].achieved.service_level >= 0.9
    assert _row_counts(s) == before


# ---------------------------------------------------------------- bad input to every RPC


@dataclass
class Given:
    queue: str
    forecast: str
    etag: str


UNKNOWN_QUEUE = f"queues/{uuid.uuid4()}"
Case = tuple[str, Callable[[Given], tuple[str, Any]], grpc.StatusCode, str, str | None]
BAD = grpc.StatusCode.INVALID_ARGUMENT

BAD_INPUT: list[Case] = [
    (
        "queue without a name",
        lambda g: ("CreateQueue", pb.CreateQueueRequest(queue=_queue(display_name=" "))),
        BAD,
        "REQUIRED_FIELD_MISSING",
        "queue.display_name",
    ),
    (
        "service level of 1",
        lambda g: (
            "CreateQueue",
            pb.CreateQueueRequest(
                queue=_queue(service_level=queue_pb2.ServiceLevelTarget(fraction=1, answer_seconds=20))
            ),
        ),
        BAD,
        "OUT_OF_RANGE",
        "queue.service_level.fraction",
    ),
    (
        "no answer time",
        lambda g: (
            "CreateQueue",
            pb.CreateQueueRequest(queue=_queue(service_level=queue_pb2.ServiceLevelTarget(fraction=0.8))),
        ),
        BAD,
        "OUT_OF_RANGE",
        "queue.service_level.answer_seconds",
    ),
    (
        "20-minute intervals",
        lambda g: ("CreateQueue", pb.CreateQueueRequest(queue=_queue(interval_minutes=20))),
        BAD,
        "UNSUPPORTED_INTERVAL",
        "queue.interval_minutes",
    ),
    (
        "shrinkage of 1",
        lambda g: ("CreateQueue", pb.CreateQueueRequest(queue=_queue(shrinkage=1.0))),
        BAD,
        "OUT_OF_RANGE",
        "queue.shrinkage",
    ),
    (
        "occupancy above 1",
        lambda g: ("CreateQueue", pb.CreateQueueRequest(queue=_queue(max_occupancy=1.5))),
        BAD,
        "OUT_OF_RANGE",
        "queue.max_occupancy",
    ),
    (
        "unknown zone",
        lambda g: ("CreateQueue", pb.CreateQueueRequest(queue=_queue(time_zone="Mars/Olympus"))),
        BAD,
        "UNKNOWN_TIME_ZONE",
        "queue.time_zone",
    ),
    (
        "closing before opening",
        lambda g: (
            "CreateQueue",
            pb.CreateQueueRequest(
                queue=_queue(
                    opening_hours=[
                        queue_pb2.OpeningHours(
                            day=dayofweek_pb2.FRIDAY,
                            open=timeofday_pb2.TimeOfDay(hours=18),
                            close=timeofday_pb2.TimeOfDay(hours=9),
                        )
                    ]
                )
            ),
        ),
        BAD,
        "CLOSES_BEFORE_OPENING",
        "queue.opening_hours[0].close",
    ),
    (
        "malformed request id",
        lambda g: ("CreateQueue", pb.CreateQueueRequest(queue=_queue(), request_id="again")),
        BAD,
        "REQUEST_ID_MALFORMED",
        "request_id",
    ),
    (
        "malformed queue name",
        lambda g: ("GetQueue", pb.GetQueueRequest(name="queues/7")),
        BAD,
        "MALFORMED_RESOURCE_NAME",
        "name",
    ),
    (
        "unknown queue",
        lambda g: ("GetQueue", pb.GetQueueRequest(name=UNKNOWN_QUEUE)),
        grpc.StatusCode.NOT_FOUND,
        "QUEUE_NOT_FOUND",
        None,
    ),
    (
        "negative page size",
        lambda g: ("ListQueues", pb.ListQueuesRequest(page_size=-1)),
        BAD,
        "PAGE_SIZE_NEGATIVE",
        "page_size",
    ),
    (
        "garbage page token",
        lambda g: ("ListQueues", pb.ListQueuesRequest(page_token="%%%")),
        BAD,
        "PAGE_TOKEN_MALFORMED",
        "page_token",
    ),
    (
        "update without a mask",
        lambda g: ("UpdateQueue", pb.UpdateQueueRequest(queue=Queue(name=g.queue, shrinkage=0.2))),
        BAD,
        "REQUIRED_FIELD_MISSING",
        "update_mask",
    ),
    (
        "update of an output field",
        lambda g: (
            "UpdateQueue",
            pb.UpdateQueueRequest(
                queue=Queue(name=g.queue), update_mask=field_mask_pb2.FieldMask(paths=["create_time"])
            ),
        ),
        BAD,
        "FIELD_NOT_UPDATABLE",
        "update_mask",
    ),
    (
        "update to a bad value",
        lambda g: (
            "UpdateQueue",
            pb.UpdateQueueRequest(
                queue=Queue(name=g.queue, shrinkage=-0.1),
                update_mask=field_mask_pb2.FieldMask(paths=["shrinkage"]),
            ),
        ),
        BAD,
        "OUT_OF_RANGE",
        "queue.shrinkage",
    ),
    (
        "made-up etag",
        lambda g: (
            "UpdateQueue",
            pb.UpdateQueueRequest(
                queue=Queue(name=g.queue, shrinkage=0.2, etag="v1"),
                update_mask=field_mask_pb2.FieldMask(paths=["shrinkage"]),
            ),
        ),
        BAD,
        "ETAG_MALFORMED",
        "queue.etag",
    ),
    (
        "stale etag",
        lambda g: (
            "UpdateQueue",
            pb.UpdateQueueRequest(
                queue=Queue(name=g.queue, shrinkage=0.2, etag='W/"7"'),
                update_mask=field_mask_pb2.FieldMask(paths=["shrinkage"]),
            ),
        ),
        grpc.StatusCode.ABORTED,
        "ETAG_MISMATCH",
        None,
    ),
    (
        "delete of an unknown queue",
        lambda g: ("DeleteQueue", pb.DeleteQueueRequest(name=UNKNOWN_QUEUE)),
        grpc.StatusCode.NOT_FOUND,
        "QUEUE_NOT_FOUND",
        None,
    ),
    (
        "import into an unknown queue",
        lambda g: (
            "ImportIntervalRecords",
            pb.ImportIntervalRecordsRequest(
                parent=UNKNOWN_QUEUE, records=[_record(datetime(2026, 9, 1, tzinfo=UTC))]
            ),
        ),
        grpc.StatusCode.NOT_FOUND,
        "QUEUE_NOT_FOUND",
        None,
    ),
    (
        "import of nothing",
        lambda g: ("ImportIntervalRecords", pb.ImportIntervalRecordsRequest(parent=g.queue)),
        BAD,
        "REQUIRED_FIELD_MISSING",
        "records",
    ),
    (
        "list records backwards",
        lambda g: (
            "ListIntervalRecords",
            pb.ListIntervalRecordsRequest(
                parent=g.queue,
                start_time=_ts(datetime(2026, 9, 2, tzinfo=UTC)),
                end_time=_ts(datetime(2026, 9, 1, tzinfo=UTC)),
            ),
        ),
        BAD,
        "EMPTY_TIME_RANGE",
        "end_time",
    ),
    (
        "forecast of no days",
        lambda g: ("GenerateForecast", pb.GenerateForecastRequest(parent=g.queue)),
        BAD,
        "OUT_OF_RANGE",
        "days",
    ),
    (
        "forecast from an impossible date",
        lambda g: (
            "GenerateForecast",
            pb.GenerateForecastRequest(
                parent=g.queue, days=7, start_date=date_pb2.Date(year=2026, month=2, day=30)
            ),
        ),
        BAD,
        "INVALID_DATE",
        "start_date",
    ),
    (
        "forecast starting inside the history",
        lambda g: (
            "GenerateForecast",
            pb.GenerateForecastRequest(
                parent=g.queue, days=7, start_date=date_pb2.Date(year=2026, month=8, day=10)
            ),
        ),
        BAD,
        "START_DATE_WITHIN_HISTORY",
        "start_date",
    ),
    (
        "negative hold-out",
        lambda g: ("GenerateForecast", pb.GenerateForecastRequest(parent=g.queue, days=7, holdout_weeks=-1)),
        BAD,
        "OUT_OF_RANGE",
        "holdout_weeks",
    ),
    (
        "forecast name of the wrong shape",
        lambda g: ("GetForecast", pb.GetForecastRequest(name=g.queue)),
        BAD,
        "MALFORMED_RESOURCE_NAME",
        "name",
    ),
    (
        "unknown forecast",
        lambda g: ("GetForecast", pb.GetForecastRequest(name=f"{g.queue}/forecasts/{uuid.uuid4()}")),
        grpc.StatusCode.NOT_FOUND,
        "FORECAST_NOT_FOUND",
        None,
    ),
    (
        "page token of another queue",
        lambda g: (
            "ListForecasts",
            pb.ListForecastsRequest(parent=g.queue, page_token="eyJhIjpbXSwiZiI6IngifQ"),
        ),
        BAD,
        "PAGE_TOKEN_MISMATCH",
        "page_token",
    ),
    (
        "requirement for another queue's forecast",
        lambda g: (
            "CreateRequirement",
            pb.CreateRequirementRequest(parent=UNKNOWN_QUEUE, forecast=g.forecast),
        ),
        BAD,
        "FORECAST_OF_ANOTHER_QUEUE",
        "forecast",
    ),
    (
        "requirement with an unknown model",
        lambda g: (
            "CreateRequirement",
            pb.CreateRequirementRequest(parent=g.queue, forecast=g.forecast, model=9),
        ),
        BAD,
        "UNKNOWN_ENUM_VALUE",
        "model",
    ),
    (
        "Erlang A without patience",
        lambda g: (
            "CreateRequirement",
            pb.CreateRequirementRequest(
                parent=g.queue, forecast=g.forecast, model=requirement_pb2.STAFFING_MODEL_ERLANG_A
            ),
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "PATIENCE_UNKNOWN",
        None,
    ),
    (
        "requirement name of the wrong shape",
        lambda g: ("GetRequirement", pb.GetRequirementRequest(name=g.forecast)),
        BAD,
        "MALFORMED_RESOURCE_NAME",
        "name",
    ),
    (
        "requirements of no queue",
        lambda g: ("ListRequirements", pb.ListRequirementsRequest()),
        BAD,
        "REQUIRED_FIELD_MISSING",
        "parent",
    ),
    (
        "volume down by more than everything",
        lambda g: ("EvaluateScenario", pb.EvaluateScenarioRequest(forecast=g.forecast, volume_change=-1.5)),
        BAD,
        "OUT_OF_RANGE",
        "volume_change",
    ),
    (
        "a plan of the wrong length",
        lambda g: (
            "EvaluateScenario",
            pb.EvaluateScenarioRequest(forecast=g.forecast, planned_agents=[3, 4]),
        ),
        BAD,
        "WRONG_LENGTH",
        "planned_agents",
    ),
    (
        "negative AHT",
        lambda g: ("EvaluateScenario", pb.EvaluateScenarioRequest(forecast=g.forecast, aht_seconds=-5)),
        BAD,
        "OUT_OF_RANGE",
        "aht_seconds",
    ),
]


async def test_bad_input_to_every_rpc_is_refused_with_reason_and_field_and_writes_nothing(
    scheduling: Scheduling,
) -> None:
    # One service and one set-up for all the cases: a forecast takes a second to make.
    s = scheduling
    queue = await _create_queue(s)
    await _import(s, queue, _constant_records(21, offered=30, aht=200))
    forecast = await _forecast(s, queue, days=1)
    given = Given(queue.name, forecast.name, queue.etag)
    before = _row_counts(s)
    problems = []
    for case, make, code, reason, field in BAD_INPUT:
        method, request = make(given)
        try:
            await getattr(s.stub, method)(request)
            problems.append(f"{case}: accepted")
        except grpc.aio.AioRpcError as error:
            try:
                _expect_error(error, code, reason, field)
            except AssertionError as mismatch:
                problems.append(f"{case}: {error.code().name} {error.details()} ({mismatch})")
        if _row_counts(s) != before:
            problems.append(f"{case}: wrote {_row_counts(s)} (before {before})")
            before = _row_counts(s)
    assert not problems, "\n".join(problems)
