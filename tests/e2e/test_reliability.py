"""Nothing lost, nothing doubled: real processes killed at the worst moments (R1–R3, R5, R12).

nats-server, roster and the tally consumer run as separate processes on loopback
ports; the tests talk to roster over gRPC and read the JetStream stream and the
tally's database directly to count what arrived.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter

import grpc
import nats
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import create_engine, func, select

from cadre.chassis.events import parse_envelope
from cadre.chassis.tables import parked_events
from cadre.cli import testing
from cadre.cli.processes import NatsServer, ServiceProcess
from cadre.cli.tally import tallied
from cadre.roster.v1 import employee_pb2, roster_service_pb2, roster_service_pb2_grpc
from tests.e2e.roster_world import Employee, hire_request, make_team

pytestmark = pytest.mark.e2e

HIRED = "cadre.roster.v1.employee.hired"


async def hire_with_retries(roster: roster_service_pb2_grpc.RosterServiceStub, request, attempts: int = 60):
    """Retries only UNAVAILABLE, with the same request id (R9)."""
    for _ in range(attempts):
        try:
            return await roster.HireEmployee(request, timeout=5)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            await asyncio.sleep(0.25)
    raise AssertionError("roster never came back")


async def stream_events(nats_url: str, subject: str) -> Counter[str]:
    """Event id → how many messages on the stream carry it."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        info = await js.stream_info("CADRE_ROSTER")
        seen: Counter[str] = Counter()
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg("CADRE_ROSTER", sequence)
            if message.subject == subject:
                seen[parse_envelope(message.data).id] += 1
        return seen
    finally:
        await connection.close()


async def wait_for_stream(nats_url: str, subject: str, count: int, timeout: float = 30) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while True:
        seen = await stream_events(nats_url, subject)
        if len(seen) >= count or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.2)


def tally_counts(database_url: str, event_type: str) -> tuple[int, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                select(func.count(), func.count(tallied.c.event_id.distinct())).where(
                    tallied.c.event_type == event_type
                )
            ).one()
        return int(row[0]), int(row[1])
    finally:
        engine.dispose()


async def wait_for_tally(
    database_url: str, event_type: str, count: int, timeout: float = 40
) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while True:
        counts = await asyncio.to_thread(tally_counts, database_url, event_type)
        if counts[1] >= count or time.monotonic() > deadline:
            await asyncio.sleep(0.5)  # anything applied twice would show up now
            return await asyncio.to_thread(tally_counts, database_url, event_type)
        await asyncio.sleep(0.2)


async def test_every_hire_reaches_an_independent_subscriber_exactly_once(
    roster_process: ServiceProcess, nats_server: NatsServer
) -> None:
    roster_process.start()
    received: Counter[str] = Counter()
    connection = await nats.connect(nats_server.url)
    js = connection.jetstream()

    async def on_message(message) -> None:
        received[parse_envelope(message.data).id] += 1
        await message.ack()

    subscription = await js.subscribe(HIRED, cb=on_message, stream="CADRE_ROSTER")
    async with testing.channel(roster_process.address) as channel:
        roster = roster_service_pb2_grpc.RosterServiceStub(channel)
        team = await make_team(roster)
        hired = await asyncio.gather(*(roster.HireEmployee(hire_request(team, i)) for i in range(25)))
    deadline = time.monotonic() + 15
    while len(received) < 25 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    await subscription.unsubscribe()
    await connection.close()
    assert len(hired) == 25
    assert len(received) == 25
    assert set(received.values()) == {1}


async def test_kill_after_commit_before_publish_delivers_once_after_restart(
    roster_process: ServiceProcess, nats_server: NatsServer
) -> None:
    roster_process.start()
    async with testing.channel(roster_process.address) as channel:
        team = await make_team(roster_service_pb2_grpc.RosterServiceStub(channel))
    roster_process.terminate()

    roster_process.start(extra_env={"CADRE_CRASH_AT": "after_commit"})
    request = hire_request(team, 1)
    async with testing.channel(roster_process.address) as channel:
        roster = roster_service_pb2_grpc.RosterServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as crashed:
            await roster.HireEmployee(request, timeout=10)
        assert crashed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert roster_process.wait_exit(timeout=10) == -signal.SIGKILL
    assert await stream_events(nats_server.url, HIRED) == Counter()  # committed, not published

    roster_process.start()
    async with testing.channel(roster_process.address) as channel:
        roster = roster_service_pb2_grpc.RosterServiceStub(channel)
        employee = await hire_with_retries(roster, request)  # the client retries the same request id
        listed = await roster.ListEmployees(roster_service_pb2.ListEmployeesRequest(org_unit=team))
    assert [e.name for e in listed.employees] == [employee.name]
    seen = await wait_for_stream(nats_server.url, HIRED, 1)
    await asyncio.sleep(1.0)
    assert list((await stream_events(nats_server.url, HIRED)).values()) == [1]
    assert len(seen) == 1


async def test_broker_killed_and_restarted_while_hiring_loses_and_doubles_nothing(
    roster_process: ServiceProcess,
    tally_process: ServiceProcess,
    nats_server: NatsServer,
    second_database_url: str,
) -> None:
    roster_process.start()
    tally_process.start()
    async with testing.channel(roster_process.address) as channel:
        roster = roster_service_pb2_grpc.RosterServiceStub(channel)
        team = await make_team(roster)
        for i in range(60):
            if i == 20:
                nats_server.kill()
            if i == 40:
                nats_server.start()
            await roster.HireEmployee(hire_request(team, i), timeout=10)
        await asyncio.sleep(0.05)
    seen = await wait_for_stream(nats_server.url, HIRED, 60)
    assert len(seen) == 60
    assert set(seen.values()) == {1}, "the stream holds an event twice"
    rows, distinct = await wait_for_tally(second_database_url, HIRED, 60)
    assert (rows, distinct) == (60, 60)


async def test_consumer_killed_between_commit_and_ack_applies_each_event_once(
    roster_process: ServiceProcess, tally_process: ServiceProcess, second_database_url: str
) -> None:
    roster_process.start()
    async with testing.channel(roster_process.address) as channel:
        roster = roster_service_pb2_grpc.RosterServiceStub(channel)
        team = await make_team(roster)
        await asyncio.gather(*(roster.HireEmployee(hire_request(team, i)) for i in range(40)))
    for _ in range(3):  # dies right after committing a batch, before acknowledging it
        tally_process.start(extra_env={"CADRE_CRASH_AT": "consumer_after_commit"}, wait=False)
        assert tally_process.wait_exit(timeout=30) == -signal.SIGKILL
    tally_process.start()
    rows, distinct = await wait_for_tally(second_database_url, HIRED, 40)
    assert (rows, distinct) == (40, 40)


async def test_malformed_event_is_parked_and_the_rest_flow_on(
    roster_process: ServiceProcess,
    tally_process: ServiceProcess,
    nats_server: NatsServer,
    second_database_url: str,
) -> None:
    roster_process.start()
    tally_process.start()
    connection = await nats.connect(nats_server.url)
    await connection.jetstream().publish(HIRED, b"\xff\x00 not an envelope", stream="CADRE_ROSTER")
    await connection.close()
    async with testing.channel(roster_process.address) as channel:
        roster = roster_service_pb2_grpc.RosterServiceStub(channel)
        team = await make_team(roster)
        await asyncio.gather(*(roster.HireEmployee(hire_request(team, i)) for i in range(10)))
    assert await wait_for_tally(second_database_url, HIRED, 10) == (10, 10)
    engine = create_engine(second_database_url)
    with engine.connect() as db:
        parked = db.execute(select(parked_events.c.nats_subject, parked_events.c.error)).all()
    engine.dispose()
    assert len(parked) == 1
    assert parked[0].nats_subject == HIRED
    assert "Envelope" in parked[0].error


async def test_sigterm_turns_health_not_serving_first_and_drains_in_flight_calls(
    roster_process: ServiceProcess,
) -> None:
    roster_process.start()
    async with testing.channel(roster_process.address) as channel:
        team = await make_team(roster_service_pb2_grpc.RosterServiceStub(channel))
    roster_process.terminate()
    roster_process.start(extra_env={"CADRE_PAUSE_AT": "before_commit", "CADRE_PAUSE_MS": "300"})

    async with testing.channel(roster_process.address) as channel:
        roster = roster_service_pb2_grpc.RosterServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        statuses: list[tuple[float, int]] = []

        async def watch() -> None:
            async for reply in health.Watch(health_pb2.HealthCheckRequest()):
                statuses.append((time.monotonic(), reply.status))

        watcher = asyncio.create_task(watch())
        finished: list[float] = []

        async def hire(i: int) -> Employee:
            employee = await roster.HireEmployee(hire_request(team, i), timeout=20)
            finished.append(time.monotonic())
            return employee

        hires = [asyncio.create_task(hire(i)) for i in range(4)]
        await asyncio.sleep(0.15)
        assert roster_process.process is not None
        roster_process.process.send_signal(signal.SIGTERM)
        results = await asyncio.gather(*hires, return_exceptions=True)
        assert all(isinstance(r, employee_pb2.Employee) for r in results), results
        watcher.cancel()  # an open Watch stream would hold the drain for the whole grace period
        await asyncio.gather(watcher, return_exceptions=True)
        assert roster_process.wait_exit(timeout=30) == 0

    not_serving = [t for t, status in statuses if status == health_pb2.HealthCheckResponse.NOT_SERVING]
    assert statuses[0][1] == health_pb2.HealthCheckResponse.SERVING
    assert not_serving and not_serving[0] < max(finished), "health must turn before the drain ends"


async def test_nothing_commits_after_the_caller_gave_up(roster_process: ServiceProcess) -> None:
    roster_process.start()
    async with testing.channel(roster_process.address) as channel:
        team = await make_team(roster_service_pb2_grpc.RosterServiceStub(channel))
    roster_process.terminate()
    roster_process.start(extra_env={"CADRE_PAUSE_AT": "before_commit", "CADRE_PAUSE_MS": "1500"})
    async with testing.channel(roster_process.address) as channel:
        roster = roster_service_pb2_grpc.RosterServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as gave_up:
            await roster.HireEmployee(hire_request(team, 1), timeout=0.5)
        assert gave_up.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        await asyncio.sleep(1.5)  # the server's transaction reaches its commit point and must roll back
        listed = await roster.ListEmployees(
            roster_service_pb2.ListEmployeesRequest(org_unit=team), timeout=10
        )
    assert list(listed.employees) == []
