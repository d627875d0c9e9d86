"""The durable consumer against a real nats-server and database: parking and replay (R5),
order per entity under redelivery (R6)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import wrappers_pb2
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from cadre.admin.v1 import admin_service_pb2, admin_service_pb2_grpc
from cadre.chassis.consumer import NotYetKnown
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


# The probe's effect: a row per applied event, committed with the inbox row, in commit order.
effects = Table(
    "probe_effects",
    MetaData(),
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("entity", String(50), nullable=False),
    Column("value", String(50), nullable=False),
)


class FlakyHandler:
    """Fails on every event whose payload says "bad" until `fixed` is set: a bug, then its fix."""

    def __init__(self) -> None:
        self.fixed = False
        self.failures = 0

    def __call__(self, unit, envelope, payload) -> None:
        if payload.value == "bad" and not self.fixed:
            self.failures += 1
            raise RuntimeError("cannot apply this one yet")
        unit.connection.execute(insert(effects).values(entity=envelope.subject, value=payload.value))


def applied(host: ServiceHost, entity: str | None = None) -> list[str]:
    """The values applied (committed), in the order they were applied."""
    query = select(effects.c.value).order_by(effects.c.seq)
    if entity is not None:
        query = query.where(effects.c.entity == entity)
    with host.db.reader() as connection:
        return list(connection.execute(query).scalars())


class Registry:
    """Things are opened ("cadre.probe.v1.thing.opened") before they can change; a change to a
    thing not opened yet raises NotYetKnown, as a roster projection does for an update before
    the hire."""

    def __init__(self) -> None:
        self.not_yet_known = 0

    def __call__(self, unit, envelope, payload) -> None:
        known = unit.connection.execute(
            select(effects.c.seq).where(effects.c.entity == envelope.subject, effects.c.value == "opened")
        ).first()
        if envelope.type == OPENED:
            if known is None:
                unit.connection.execute(insert(effects).values(entity=envelope.subject, value="opened"))
            return
        if known is None:
            self.not_yet_known += 1
            raise NotYetKnown(envelope.subject, OPENED)
        unit.connection.execute(insert(effects).values(entity=envelope.subject, value=payload.value))


OPENED = "cadre.probe.v1.thing.opened"


@asynccontextmanager
async def _probe(
    database_url: str,
    nats_server: NatsServer,
    tmp_path: Path,
    max_deliver: int,
    handler: Any = None,
    opening_types: tuple[str, ...] = (),
):
    settings = testing.host_settings(
        ProbeSettings,
        database_url=database_url,
        nats=nats_server,
        data_dir=tmp_path,
        consumer_max_deliver=max_deliver,
        consumer_backoff_seconds=(0.1, 0.2),
    )
    host = ServiceHost(settings)
    host.migrate(tmp_path / "no-service-migrations")
    effects.metadata.create_all(host.db.engine)
    handler = handler or FlakyHandler()
    host.add_consumer(
        name="probe-self",
        stream="CADRE_PROBE",
        subjects=["cadre.probe.v1.>"],
        handler=handler,
        opening_types=opening_types,
    )
    async with serving(host), testing.channel(f"127.0.0.1:{host.bound_port}") as channel:
        yield host, handler, admin_service_pb2_grpc.AdminServiceStub(channel)


@pytest.fixture
async def probe(database_url: str, nats_server: NatsServer, tmp_path: Path):
    async with _probe(database_url, nats_server, tmp_path, max_deliver=3) as running:
        yield running


@pytest.fixture
async def patient_probe(database_url: str, nats_server: NatsServer, tmp_path: Path):
    """Retries a failing event many times: long enough to watch the others wait."""
    async with _probe(database_url, nats_server, tmp_path, max_deliver=50) as running:
        yield running


async def _publish(
    host: ServiceHost,
    values: list[str],
    entity: str = "things/1",
    event_type: str = "cadre.probe.v1.thing.happened",
) -> None:
    def commit() -> None:
        with host.db.transaction() as unit:
            for value in values:
                unit.publish(
                    event_type=event_type,
                    entity=entity,
                    payload=wrappers_pb2.StringValue(value=value),
                )

    await host.db.run(commit)


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

    await testing.until(one_parked)

    async def c_applied() -> bool:
        return await host.db.run(applied, host) == ["a", "c"]

    # "c" waited behind "bad" (same entity) and flowed on once "bad" was parked.
    await testing.until(c_applied)
    assert await host.db.run(inbox_rows) == 2
    (parked,) = (await admin.ListParkedEvents(admin_service_pb2.ListParkedEventsRequest())).parked_events
    assert parked.deliveries == 3 and "cannot apply" in parked.error
    status = await admin.GetEventStatus(admin_service_pb2.GetEventStatusRequest())
    assert status.consumers[0].parked == 1 and status.outbox_pending == 0

    handler.fixed = True
    replayed = await admin.ReplayParkedEvent(admin_service_pb2.ReplayParkedEventRequest(name=parked.name))
    assert replayed.HasField("replay_time")
    assert await host.db.run(applied, host) == ["a", "c", "bad"]
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await admin.ReplayParkedEvent(admin_service_pb2.ReplayParkedEventRequest(name=parked.name))
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert await host.db.run(applied, host) == ["a", "c", "bad"]
    assert (await admin.ListParkedEvents(admin_service_pb2.ListParkedEventsRequest())).parked_events == []

    assert await host.db.run(inbox_rows) == 3


async def test_later_events_of_an_entity_wait_for_its_failed_event_while_other_entities_flow(
    patient_probe,
) -> None:
    host, handler, _ = patient_probe
    await _publish(host, ["a", "bad", "c", "d"], entity="things/1")
    await _publish(host, ["x"], entity="things/2")

    async def bad_failed_and_x_applied() -> bool:
        return handler.failures >= 1 and await host.db.run(applied, host, "things/2") == ["x"]

    await testing.until(bad_failed_and_x_applied)
    failures = handler.failures
    await testing.until(lambda: handler.failures >= failures + 3)  # c and d were sent back meanwhile
    assert await host.db.run(applied, host, "things/1") == ["a"]

    handler.fixed = True

    async def all_applied() -> bool:
        return len(await host.db.run(applied, host, "things/1")) == 4

    await testing.until(all_applied)
    assert await host.db.run(applied, host, "things/1") == ["a", "bad", "c", "d"]


async def test_waiting_behind_a_held_event_does_not_use_up_an_events_own_attempts(probe) -> None:
    host, _, admin = probe
    await _publish(host, ["bad", "bad"], entity="things/3")

    async def both_parked() -> bool:
        listed = await admin.ListParkedEvents(admin_service_pb2.ListParkedEventsRequest())
        return len(listed.parked_events) == 2

    await testing.until(both_parked)
    first, second = sorted(
        (await admin.ListParkedEvents(admin_service_pb2.ListParkedEventsRequest())).parked_events,
        key=lambda parked: parked.deliveries,
    )
    # The second waited while the first was retried, then had its own three attempts.
    assert first.deliveries == 3 and second.deliveries > 3


async def test_a_change_before_its_entity_is_opened_waits_for_the_opening_event(
    database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    """A change published before the event that opens its entity (a hire the broker lost and
    the relay re-published after the update) is retried, holding the entity; the opening event
    passes the hold, the change is applied at its next attempt and the later change after it."""
    async with _probe(
        database_url, nats_server, tmp_path, max_deliver=5, handler=Registry(), opening_types=(OPENED,)
    ) as (host, handler, admin):
        await _publish(host, ["v2"], entity="things/7")
        await testing.until(lambda: handler.not_yet_known >= 1, what="the change to have failed once")
        await _publish(host, ["opened"], entity="things/7", event_type=OPENED)
        await _publish(host, ["v3"], entity="things/7")

        async def all_applied() -> bool:
            return len(await host.db.run(applied, host, "things/7")) == 3

        await testing.until(all_applied)
        assert await host.db.run(applied, host, "things/7") == ["opened", "v2", "v3"]
        assert (await admin.ListParkedEvents(admin_service_pb2.ListParkedEventsRequest())).parked_events == []


def test_build_event_carries_the_payload_and_a_fresh_id() -> None:
    first = build_event(
        source="probe", event_type="t", entity="e", payload=wrappers_pb2.StringValue(value="x")
    )
    second = build_event(
        source="probe", event_type="t", entity="e", payload=wrappers_pb2.StringValue(value="x")
    )
    assert first.event_id != second.event_id
