"""R3 for performance: its consumers killed after committing a batch but before acknowledging
it, again and again, still apply every roster, attendance and fact event exactly once, and
the statements come out as computed by hand."""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import date, timedelta
from pathlib import Path

import nats
import pytest
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf.message import Message
from google.type import date_pb2
from nats.js.api import StreamConfig
from sqlalchemy import create_engine, func, select

from cadre.chassis.events import build_event
from cadre.chassis.tables import inbox
from cadre.cli import testing
from cadre.cli.processes import NatsServer, ServiceProcess
from cadre.performance.adapters.tables import attendance, error_records, stints
from cadre.performance.v1 import events_pb2, facts_pb2, pay_pb2, performance_service_pb2_grpc
from cadre.performance.v1 import performance_service_pb2 as pb
from cadre.roster.v1 import employee_pb2, org_unit_pb2
from cadre.roster.v1 import events_pb2 as roster_events
from cadre.scheduling.v1 import events_pb2 as scheduling_events

pytestmark = pytest.mark.e2e
AGENTS = 4
DAYS = 10
START = date(2026, 3, 2)


def d(value: date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


async def publish_world(nats_url: str) -> tuple[list[str], int]:
    """The org, the agents, their attendance and errors, as the producers' relays publish them;
    returns the agents and how many distinct events were published."""
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    for stream, subjects in (
        ("CADRE_ROSTER", "cadre.roster.v1.>"),
        ("CADRE_SCHEDULING", "cadre.scheduling.v1.>"),
        ("CADRE_FACTS", "cadre.facts.v1.>"),
    ):
        await js.add_stream(StreamConfig(name=stream, subjects=[subjects]))
    published = 0

    async def send(source: str, event_type: str, payload: Message) -> None:
        nonlocal published
        event = build_event(source=source, event_type=event_type, entity="x", payload=payload)
        await js.publish(event_type, event.envelope, headers={"Nats-Msg-Id": event.event_id})
        # And once more as a late duplicate past the broker's window: the inbox must catch it.
        await js.publish(event_type, event.envelope, headers={"Nats-Msg-Id": str(uuid.uuid4())})
        published += 1

    team = str(uuid.uuid4())
    await send(
        "roster",
        "cadre.roster.v1.org_unit.created",
        roster_events.OrgUnitCreatedEvent(
            org_unit=org_unit_pb2.OrgUnit(
                name=f"orgUnits/{team}",
                kind=org_unit_pb2.OrgUnit.KIND_TEAM,
                site="lisbon",
                time_zone="UTC",
                path=[f"orgUnits/{team}"],
            )
        ),
    )
    agents = [str(uuid.uuid4()) for _ in range(AGENTS)]
    for agent in agents:
        await send(
            "roster",
            "cadre.roster.v1.employee.hired",
            roster_events.EmployeeHiredEvent(
                employee=f"employees/{agent}",
                org_unit=f"orgUnits/{team}",
                role=employee_pb2.Employee.ROLE_AGENT,
                hire_date=d(date(2025, 1, 1)),
            ),
        )
    for a, agent in enumerate(agents):
        for day in range(DAYS):
            await send(
                "scheduling",
                "cadre.scheduling.v1.attendance.recorded",
                scheduling_events.AttendanceRecordedEvent(
                    employee=f"employees/{agent}",
                    org_unit=f"orgUnits/{team}",
                    work_date=d(START + timedelta(days=day)),
                    day_kind=scheduling_events.DAY_KIND_WORK_DAY,
                    scheduled_minutes=480,
                    worked_minutes=540 if day % 5 == 0 else 480,
                    overtime_minutes=60 if day % 5 == 0 else 0,
                    revision=1,
                ),
            )
        # a + 1 MINOR errors each, sent in batches of one.
        for e in range(a + 1):
            await send(
                "ccp",
                "cadre.facts.v1.batch.published",
                events_pb2.FactBatchPublishedEvent(
                    facts=facts_pb2.FactBatch(
                        errors=[
                            facts_pb2.ErrorRecord(
                                fact_id=f"err-{a}-{e}",
                                employee=f"employees/{agent}",
                                date=d(START),
                                error_class="MINOR",
                            )
                        ]
                    )
                ),
            )
    await connection.close()
    return agents, published


def counts(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                name: int(connection.execute(select(func.count()).select_from(table)).scalar() or 0)
                for name, table in (
                    ("stints", stints),
                    ("attendance", attendance),
                    ("errors", error_records),
                    ("inbox", inbox),
                )
            }
    finally:
        engine.dispose()


async def applied(database_url: str, expected: dict[str, int], timeout: float = 60.0) -> dict[str, int]:
    """The counts once they reach `expected` (or at the timeout), after the consumers caught up."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = counts(database_url)
        if found == expected or asyncio.get_running_loop().time() > deadline:
            await asyncio.sleep(1.0)  # anything applied twice would show up now
            return counts(database_url)
        await asyncio.sleep(0.2)


async def caught_up(nats_url: str, timeout: float = 60.0) -> None:
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while True:
            behind = 0
            for stream, durable in (
                ("CADRE_ROSTER", "performance-roster"),
                ("CADRE_SCHEDULING", "performance-scheduling"),
                ("CADRE_FACTS", "performance-facts"),
            ):
                info = await js.consumer_info(stream, durable)
                behind += info.num_pending + info.num_ack_pending
            if behind == 0:
                return
            assert asyncio.get_running_loop().time() < deadline, f"{behind} events still pending"
            await asyncio.sleep(0.2)
    finally:
        await connection.close()


async def test_consumers_killed_after_commit_apply_every_event_once(
    database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    agents, published = await publish_world(nats_server.url)
    process = ServiceProcess(
        "performance",
        testing.service_env(database_url, nats_server, tmp_path, CADRE_CONSUMER_BATCH_SIZE="7"),
        log_file=tmp_path / "performance.log",
    )
    try:
        for _ in range(4):  # dies right after committing a batch, before acknowledging it
            process.start(extra_env={"CADRE_CRASH_AT": "consumer_after_commit"}, wait=False)
            assert process.wait_exit(timeout=60) == -signal.SIGKILL
        process.start()
        await caught_up(nats_server.url)

        expected = {
            "stints": AGENTS,
            "attendance": AGENTS * DAYS,
            "errors": sum(range(1, AGENTS + 1)),
            "inbox": published,
        }
        assert await applied(database_url, expected) == expected  # every event applied once, none twice

        async with testing.channel(process.address) as channel:
            stub = performance_service_pb2_grpc.PerformanceServiceStub(channel)
            await stub.CreatePayRules(
                pb.CreatePayRulesRequest(
                    pay_rules=pay_pb2.PayRules(
                        site="lisbon",
                        effective_date=d(date(2026, 1, 1)),
                        currency_code="EUR",
                        base_kind=pay_pb2.PayRules.BASE_KIND_MONTHLY,
                        base_amount_minor=174_000,
                        deduction_per_error_minor={"MINOR": 1_000},
                        minimum_wage_minor=87_000,
                        training_hourly_rate_minor=1_000,
                    )
                )
            )
            period = await stub.CreatePayPeriod(
                pb.CreatePayPeriodRequest(
                    pay_period=pay_pb2.PayPeriod(
                        site="lisbon", start_date=d(date(2026, 3, 1)), end_date=d(date(2026, 3, 31))
                    )
                )
            )
            operations = operations_pb2_grpc.OperationsStub(channel)
            operation = await stub.CalculatePayPeriod(pb.CalculatePayPeriodRequest(name=period.name))
            while not operation.done:
                await asyncio.sleep(0.1)
                operation = await operations.GetOperation(
                    operations_pb2.GetOperationRequest(name=operation.name)
                )
            assert operation.HasField("response"), operation.error
            for a, agent in enumerate(agents):
                statement = await stub.GetStatement(
                    pb.GetStatementRequest(name=f"{period.name}/statements/{agent}")
                )
                # 1,740 EUR over 174 h is 10 EUR/h; 2 overtime hours at 150%; a + 1 errors of 10 EUR.
                assert statement.total_minor == 174_000 + 2 * 1_500 - (a + 1) * 1_000
    finally:
        process.kill()
