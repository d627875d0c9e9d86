"""The event pipeline in one process: roster and the tally consumer as in-process hosts.

Traces cross every hop; a paused broker and a late duplicate change nothing (R2, R4).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import nats
import pytest
from google.type import date_pb2
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cadre.chassis.telemetry import setup_tracing
from cadre.cli import tally, testing
from cadre.cli.processes import NatsServer
from cadre.cli.testing import serving
from cadre.roster.main import build as build_roster
from cadre.roster.settings import RosterSettings
from cadre.roster.v1 import employee_pb2, org_unit_pb2, roster_service_pb2, roster_service_pb2_grpc

OrgUnit = org_unit_pb2.OrgUnit
Employee = employee_pb2.Employee


def _settings(cls, database_url: str, nats: NatsServer, tmp_path: Path):
    return testing.host_settings(
        cls,
        database_url=database_url,
        nats=nats,
        data_dir=tmp_path,
        relay_poll_seconds=0.1,
        consumer_ack_wait_seconds=2,
    )


async def _team(roster: roster_service_pb2_grpc.RosterServiceStub) -> str:
    parent = ""
    for kind in (OrgUnit.KIND_CENTER, OrgUnit.KIND_DEPARTMENT, OrgUnit.KIND_TEAM):
        unit = await roster.CreateOrgUnit(
            roster_service_pb2.CreateOrgUnitRequest(
                org_unit=OrgUnit(display_name="Unit", kind=kind, parent=parent, time_zone="Africa/Nairobi")
            )
        )
        parent = unit.name
    return parent


def _hire(team: str, index: int) -> roster_service_pb2.HireEmployeeRequest:
    return roster_service_pb2.HireEmployeeRequest(
        employee=Employee(
            display_name=f"Agent {index}",
            org_unit=team,
            role=Employee.ROLE_AGENT,
            employment_type=Employee.EMPLOYMENT_TYPE_FLEXIBLE,
            hire_date=date_pb2.Date(year=2026, month=6, day=1),
        ),
        request_id=str(uuid.uuid4()),
    )


@pytest.fixture
def spans() -> InMemorySpanExporter:
    provider = setup_tracing("tests")
    assert isinstance(trace.get_tracer_provider(), TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_one_trace_runs_from_the_grpc_call_through_the_bus_into_the_consumer(
    spans: InMemorySpanExporter,
    database_url: str,
    second_database_url: str,
    nats_server: NatsServer,
    tmp_path: Path,
) -> None:
    roster_host = build_roster(_settings(RosterSettings, database_url, nats_server, tmp_path))
    tally_host = tally.build(_settings(tally.TallySettings, second_database_url, nats_server, tmp_path))
    async with serving(roster_host), serving(tally_host):
        async with testing.channel(f"127.0.0.1:{roster_host.bound_port}") as channel:
            roster = roster_service_pb2_grpc.RosterServiceStub(channel)
            team = await _team(roster)
            spans.clear()
            await roster.HireEmployee(_hire(team, 1))
        await testing.until(lambda: tally.counts(tally_host.db)[1] == 4)
        await testing.until(
            lambda: any(
                s.name.startswith("consume cadre.roster.v1.employee.hired")
                for s in spans.get_finished_spans()
            )
        )
    finished = spans.get_finished_spans()
    (call,) = [s for s in finished if s.name == "/cadre.roster.v1.RosterService/HireEmployee"]
    in_trace = [s for s in finished if s.context.trace_id == call.context.trace_id]
    names = {s.name for s in in_trace}
    assert "consume cadre.roster.v1.employee.hired" in names
    assert any(name.startswith("INSERT") for name in names), names  # the database hop


async def test_paused_broker_during_a_drain_loses_nothing_and_doubles_nothing(
    database_url: str, second_database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    roster_host = build_roster(_settings(RosterSettings, database_url, nats_server, tmp_path))
    tally_host = tally.build(_settings(tally.TallySettings, second_database_url, nats_server, tmp_path))
    async with serving(roster_host), serving(tally_host):
        async with testing.channel(f"127.0.0.1:{roster_host.bound_port}") as channel:
            roster = roster_service_pb2_grpc.RosterServiceStub(channel)
            team = await _team(roster)
            await asyncio.gather(*(roster.HireEmployee(_hire(team, i)) for i in range(30)))
            nats_server.pause()
            try:
                await asyncio.gather(*(roster.HireEmployee(_hire(team, i)) for i in range(30, 80)))
                await asyncio.sleep(1.0)  # the relay is stuck mid-drain against a frozen broker
            finally:
                nats_server.resume()
        await testing.until(lambda: tally.counts(tally_host.db)[1] == 83, timeout=40)
        await asyncio.sleep(1.0)
        assert tally.counts(tally_host.db) == (83, 83)
        assert roster_host.relay.pending() == 0


async def test_a_late_duplicate_beyond_the_broker_window_changes_nothing(
    database_url: str, second_database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    roster_host = build_roster(_settings(RosterSettings, database_url, nats_server, tmp_path))
    tally_host = tally.build(_settings(tally.TallySettings, second_database_url, nats_server, tmp_path))
    async with serving(roster_host), serving(tally_host):
        async with testing.channel(f"127.0.0.1:{roster_host.bound_port}") as channel:
            roster = roster_service_pb2_grpc.RosterServiceStub(channel)
            team = await _team(roster)
            await roster.HireEmployee(_hire(team, 1))
        await testing.until(lambda: tally.counts(tally_host.db)[1] == 4)
        connection = await nats.connect(nats_server.url)
        js = connection.jetstream()
        old = await js.get_msg("CADRE_ROSTER", 4)
        # A new message id: the broker's duplicate window no longer protects the consumer.
        ack = await js.publish(old.subject, old.data, headers={"Nats-Msg-Id": str(uuid.uuid4())})
        deadline = time.monotonic() + 20
        while (await js.consumer_info("CADRE_ROSTER", "tally")).ack_floor.stream_seq < ack.seq:
            assert time.monotonic() < deadline, "the consumer never settled the duplicate"
            await asyncio.sleep(0.05)
        await connection.close()
        assert tally.counts(tally_host.db) == (4, 4)
