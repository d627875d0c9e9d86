"""The durable consumer against a real nats-server and database: parking and replay (R5)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf import wrappers_pb2
from sqlalchemy import func, select

from cadre.admin.v1 import admin_service_pb2, admin_service_pb2_grpc
from cadre.chassis.events import build_event
from cadre.chassis.server import ServiceHost
from cadre.chassis.settings import ServiceSettings
from cadre.chassis.tables import inbox
from cadre.cli import testing
from cadre.cli.processes import NatsServer
from cadre.cli.testing import serving


class ProbeSettings(ServiceSettings):
    service_name = "probe"
    default_grpc_port = 0


class FlakyHandler:
    """Fails on every event whose payload says "bad" until `fixed` is set: a bug, then its fix.

    `applied` remembers every call, including those of rolled-back batches; what counts
    as applied is the inbox, which commits with the effect."""

    def __init__(self) -> None:
        self.fixed = False
        self.applied: list[str] = []

    def __call__(self, unit, envelope, payload) -> None:
        if payload.value == "bad" and not self.fixed:
            raise RuntimeError("cannot apply this one yet")
        self.applied.append(payload.value)


@pytest.fixture
async def probe(database_url: str, nats_server: NatsServer, tmp_path: Path):
    settings = testing.host_settings(
        ProbeSettings,
        database_url=database_url,
        nats=nats_server,
        data_dir=tmp_path,
        consumer_max_deliver=3,
        consumer_backoff_seconds=(0.1, 0.2),
    )
    host = ServiceHost(settings)
    host.migrate(tmp_path / "no-service-migrations")
    handler = FlakyHandler()
    host.add_consumer(name="probe-self", stream="CADRE_PROBE", subjects=["cadre.probe.v1.>"], handler=handler)
    async with serving(host), testing.channel(f"127.0.0.1:{host.bound_port}") as channel:
        yield host, handler, admin_service_pb2_grpc.AdminServiceStub(channel)


async def _publish(host: ServiceHost, values: list[str]) -> None:
    def commit() -> None:
        with host.db.transaction() as unit:
            for value in values:
                unit.publish(
                    event_type="cadre.probe.v1.thing.happened",
                    entity="things/1",
                    payload=wrappers_pb2.StringValue(value=value),
                )

    await host.db.run(commit)


async def _until(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_a_failing_event_is_parked_after_bounded_retries_and_replays_once_after_the_fix(probe) -> None:
    host, handler, admin = probe
    await _publish(host, ["a", "bad", "c"])

    async def one_parked() -> bool:
        return (
            len((await admin.ListParkedEvents(admin_service_pb2.ListParkedEventsRequest())).parked_events)
            == 1
        )

    def inbox_rows() -> int:
        with host.db.reader() as connection:
            return connection.execute(select(func.count()).select_from(inbox)).scalar_one()

    await _until(one_parked)
    assert set(handler.applied) == {"a", "c"}
    assert await host.db.run(inbox_rows) == 2
    (parked,) = (await admin.ListParkedEvents(admin_service_pb2.ListParkedEventsRequest())).parked_events
    assert parked.deliveries == 3 and "cannot apply" in parked.error
    status = await admin.GetEventStatus(admin_service_pb2.GetEventStatusRequest())
    assert status.consumers[0].parked == 1 and status.outbox_pending == 0

    handler.fixed = True
    replayed = await admin.ReplayParkedEvent(admin_service_pb2.ReplayParkedEventRequest(name=parked.name))
    assert replayed.HasField("replay_time")
    assert handler.applied[-1] == "bad"
    calls = len(handler.applied)
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await admin.ReplayParkedEvent(admin_service_pb2.ReplayParkedEventRequest(name=parked.name))
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert len(handler.applied) == calls
    assert (await admin.ListParkedEvents(admin_service_pb2.ListParkedEventsRequest())).parked_events == []

    assert await host.db.run(inbox_rows) == 3


def test_build_event_carries_the_payload_and_a_fresh_id() -> None:
    first = build_event(
        source="probe", event_type="t", entity="e", payload=wrappers_pb2.StringValue(value="x")
    )
    second = build_event(
        source="probe", event_type="t", entity="e", payload=wrappers_pb2.StringValue(value="x")
    )
    assert first.event_id != second.event_id
