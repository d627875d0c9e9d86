"""Benchmark 1: events per second from the outbox commit to the consumer's inbox commit.

Cadre: a producer process builds the real roster service host (its database, outbox relay
and event bus) and commits `EmployeeHiredEvent`s through `Database.transaction()`, 500 per
transaction; the relay publishes them to JetStream; `cadre.cli.tally`, a separate process
with its own database, consumes them with the chassis's durable consumer. The clock runs
from just before the first commit until the last `tallied_events` row was written.

Bare peer: nats-py alone, no database: one process publishes the same envelopes with
`publish_async` (with `Nats-Msg-Id`), another fetches and acks them from a pull consumer.

Helper roles: `python -m bench.pipeline produce|bare-publish|bare-consume ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from datetime import UTC
from typing import Any

import grpc
import nats
from google.protobuf.message import Message
from google.type import date_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from opentelemetry import trace
from sqlalchemy import func, select

from bench.report import Figure, Section
from bench.support import BACKEND_NAMES, Workspace, emit, next_command
from cadre.chassis.db import Database
from cadre.chassis.events import PendingEvent, build_event
from cadre.chassis.resource_names import new_id
from cadre.chassis.settings import load_settings
from cadre.chassis.telemetry import setup_tracing
from cadre.cli.processes import free_port
from cadre.cli.tally import counts, tallied
from cadre.roster.main import build
from cadre.roster.settings import RosterSettings
from cadre.roster.v1 import employee_pb2, events_pb2

EVENTS_PER_TRANSACTION = 500
RELAY_BATCH = RosterSettings.model_fields["relay_batch_size"].default
CONSUMER_BATCH = RosterSettings.model_fields["consumer_batch_size"].default
GOAL_RATE = 5_000
GOAL_RATIO = 0.40
BARE_STREAM = "BARE"
TEAM = f"orgUnits/{new_id()}"
EMPLOYEE_HIRED = "cadre.roster.v1.employee.hired"

tracer = trace.get_tracer("bench.pipeline")


def hire_event() -> tuple[str, str, Message]:
    """(event type, entity, payload) of a hire as roster publishes it: a part-timer with two skills."""
    employee = f"employees/{new_id()}"
    payload = events_pb2.EmployeeHiredEvent(
        employee=employee,
        org_unit=TEAM,
        role=employee_pb2.Employee.ROLE_AGENT,
        employment_type=employee_pb2.Employee.EMPLOYMENT_TYPE_PART_TIME,
        contract=employee_pb2.Contract(
            min_weekly_minutes=960,
            max_weekly_minutes=1800,
            max_consecutive_days=6,
            min_rest_minutes=660,
            days_off_per_week=2,
        ),
        skills=[
            employee_pb2.Skill(skill="billing", level=3),
            employee_pb2.Skill(
                skill="retention", level=2, expire_date=date_pb2.Date(year=2027, month=1, day=31)
            ),
        ],
        hire_date=date_pb2.Date(year=2026, month=3, day=2),
    )
    return EMPLOYEE_HIRED, employee, payload


# Helper processes.


async def produce(events: int) -> None:
    """The roster service host, in-process, plus a loop committing hires into its outbox."""
    host = build(load_settings(RosterSettings))
    serving = asyncio.create_task(host.serve())
    await _until_serving(host)
    emit(ready=True)
    await next_command()
    started = time.time()
    for done in range(0, events, EVENTS_PER_TRANSACTION):
        await host.db.run(_commit_hires, host.db, min(EVENTS_PER_TRANSACTION, events - done))
    emit(started=started, committed=time.time())
    while host.relay.published < events:
        await asyncio.sleep(0.005)
    emit(relayed=time.time())
    await next_command()
    host.request_shutdown()
    await serving


def _commit_hires(db: Database, count: int) -> None:
    # Inside a span, as a hire inside a traced RPC is: the envelopes carry a trace context.
    with tracer.start_as_current_span("bench hires"), db.transaction() as unit:
        for _ in range(count):
            event_type, entity, payload = hire_event()
            unit.publish(event_type=event_type, entity=entity, payload=payload)


async def _until_serving(host: Any) -> None:
    while not host.bound_port:
        await asyncio.sleep(0.05)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{host.bound_port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest()
        while (await stub.Check(request, timeout=2)).status != health_pb2.HealthCheckResponse.SERVING:
            await asyncio.sleep(0.05)


def _envelope() -> PendingEvent:
    event_type, entity, payload = hire_event()
    return build_event(source="roster", event_type=event_type, entity=entity, payload=payload)


async def bare_publish(nats_url: str, events: int) -> None:
    setup_tracing("roster")  # the same envelopes, trace context included
    with tracer.start_as_current_span("bench hires"):
        messages = [_envelope() for _ in range(events)]
    client = await nats.connect(nats_url)
    js = client.jetstream()
    await js.add_stream(
        StreamConfig(
            name=BARE_STREAM,
            subjects=["cadre.roster.v1.>"],
            storage=StorageType.FILE,
            duplicate_window=RosterSettings.model_fields["stream_duplicate_window_seconds"].default,
        )
    )
    emit(ready=True, envelope_bytes=len(messages[0].envelope))
    await next_command()
    started = time.time()
    for first in range(0, events, RELAY_BATCH):
        futures = [
            await js.publish_async(m.event_type, m.envelope, headers={"Nats-Msg-Id": m.event_id})
            for m in messages[first : first + RELAY_BATCH]
        ]
        await asyncio.gather(*futures)
    emit(started=started, acked=time.time())
    await next_command()
    await client.close()


async def bare_consume(nats_url: str, events: int, timeout: float) -> None:
    client = await nats.connect(nats_url)
    js = client.jetstream()
    await js.add_consumer(
        BARE_STREAM,
        ConsumerConfig(
            durable_name="bare",
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_ack_pending=max(1000, CONSUMER_BATCH * 4),  # as the chassis's consumer
        ),
    )
    subscription = await js.pull_subscribe_bind(durable="bare", stream=BARE_STREAM)
    emit(ready=True)
    seen: set[str] = set()
    received = 0
    finished = time.time()
    deadline = time.monotonic() + timeout
    while len(seen) < events and time.monotonic() < deadline:
        try:
            messages = await subscription.fetch(CONSUMER_BATCH, timeout=1.0)
        except (NatsTimeoutError, TimeoutError):
            continue
        for msg in messages:
            seen.add((msg.headers or {})["Nats-Msg-Id"])
            received += 1
            await msg.ack()
        finished = time.time()
    emit(finished=finished, received=received, distinct=len(seen))
    await client.close()


# The orchestration.


def _timeout(events: int) -> float:
    return 30 + events / 500


def measure_bare(events: int) -> dict[str, Any]:
    with Workspace() as ws:
        nats_server = ws.nats()
        tracing_off = {"OTEL_TRACES_EXPORTER": "none"}
        publisher = ws.child("bench.pipeline", "bare-publish", nats_server.url, events, env=tracing_off)
        envelope_bytes = publisher.read()["envelope_bytes"]
        consumer = ws.child("bench.pipeline", "bare-consume", nats_server.url, events, _timeout(events))
        consumer.read()
        publisher.send("go")
        published = publisher.read(timeout=_timeout(events))
        consumed = consumer.read(timeout=_timeout(events) + 5)
        publisher.send("stop")
    seconds = consumed["finished"] - published["started"]
    return {
        "rate": events / seconds,
        "seconds": seconds,
        "published_rate": events / (published["acked"] - published["started"]),
        "lost": events - consumed["distinct"],
        "doubled": consumed["received"] - consumed["distinct"],
        "envelope_bytes": envelope_bytes,
    }


def measure_ours(backend: str, events: int) -> dict[str, Any]:
    with Workspace() as ws:
        nats_server = ws.nats()
        producer_env = ws.service_env(nats_server, ws.database(backend, "roster"))
        producer_env["CADRE_GRPC_PORT"] = str(free_port())
        producer = ws.child("bench.pipeline", "produce", events, env=producer_env)
        producer.read()
        tally_url = ws.database(backend, "tally")
        tally = ws.service(
            "tally", {**ws.service_env(nats_server, tally_url), "CADRE_TALLY_STREAM": "CADRE_ROSTER"}
        )
        tally_db = Database(tally_url, source="bench", threads=1)
        ws.callback(tally_db.dispose)

        name = BACKEND_NAMES[backend]
        with (
            ws.profiling(producer.process, f"producer ({name})"),
            ws.profiling(tally.process, f"tally ({name})"),
        ):
            producer.send("go")
            produced = producer.read(timeout=_timeout(events))
            deadline = time.monotonic() + _timeout(events)
            while counts(tally_db)[1] < events and time.monotonic() < deadline:
                time.sleep(0.1)
        relayed = producer.read(timeout=5)["relayed"] if counts(tally_db)[1] == events else math.nan
        time.sleep(0.5)  # let a late redelivery show up as a doubled row
        rows, distinct = counts(tally_db)
        finished = _last_applied(tally_db)
        producer.send("stop")
    started = produced["started"]
    return {
        "rate": distinct / (finished - started),
        "seconds": finished - started,
        "committed_rate": events / (produced["committed"] - started),
        "relayed_rate": events / (relayed - started),
        "lost": events - distinct,
        "doubled": rows - distinct,
        "profiles": ws.profiles,
    }


def _last_applied(db: Database) -> float:
    with db.reader() as connection:
        moment = connection.execute(select(func.max(tallied.c.applied_at))).scalar_one()
    if moment is None:
        return math.nan
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def run(*, quick: bool, backends: list[str]) -> Section:
    events, rounds = (2_000, 1) if quick else (20_000, 2)
    section = Section(
        title="Events per second: outbox commit → consumer inbox commit",
        intro=(
            f"{events:,} `EmployeeHiredEvent`s committed {EVENTS_PER_TRANSACTION} per transaction into "
            "roster's outbox (the roster service host in a producer process), published by its relay, "
            "consumed by `cadre.cli.tally` (another process, its own database). Bare peer: nats-py "
            "publish_async + pull fetch/ack of the same envelopes, no database. Each is run "
            f"{rounds}× (bare and Cadre alternating) and the best run is shown. Tracing exporter "
            "`none` (spans are still created), log level WARNING."
        ),
    )
    for backend in backends:
        name = BACKEND_NAMES[backend]
        bares, ours_runs = [], []
        for _ in range(rounds):
            bares.append(measure_bare(events))
            ours_runs.append(measure_ours(backend, events))
        bare = max(bares, key=lambda r: r["rate"])
        ours = max(ours_runs, key=lambda r: r["rate"])
        lost = max(r["lost"] for r in ours_runs)
        doubled = max(r["doubled"] for r in ours_runs)
        ratio = ours["rate"] / bare["rate"]
        section.figures.append(
            Figure(
                label=f"{name}: events/s end to end",
                ours=ours["rate"],
                bare=bare["rate"],
                unit="ev/s",
                goal=f"≥ {GOAL_RATE:,}/s and ≥ {GOAL_RATIO:.2f} × bare, none lost",
                met=ours["rate"] >= GOAL_RATE and ratio >= GOAL_RATIO and lost == 0,
            )
        )
        section.notes.append(
            f"{name}: {events:,} events in {ours['seconds']:.2f} s (bare {bare['seconds']:.2f} s); all runs "
            f"{_rates(ours_runs)} ev/s (bare {_rates(bares)}); stages from the first commit: outbox "
            f"commits {ours['committed_rate']:,.0f}/s, relay publish+mark {ours['relayed_rate']:,.0f}/s "
            f"(bare publish {bare['published_rate']:,.0f}/s); lost {lost}, doubled {doubled} (worst run) "
            f"(bare: lost {max(r['lost'] for r in bares)}, doubled {max(r['doubled'] for r in bares)}); "
            f"envelope {bare['envelope_bytes']} bytes."
        )
        section.notes += [f"profile, {line}" for run in ours_runs[:1] for line in run["profiles"]]
        print(f"  pipeline {name}: ours {ours['rate']:,.0f} ev/s, bare {bare['rate']:,.0f} ev/s", flush=True)
    return section


def _rates(runs: list[dict[str, Any]]) -> str:
    return " / ".join(f"{r['rate']:,.0f}" for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline")
    roles = parser.add_subparsers(dest="role", required=True)
    roles.add_parser("produce").add_argument("events", type=int)
    publisher = roles.add_parser("bare-publish")
    publisher.add_argument("nats_url")
    publisher.add_argument("events", type=int)
    consumer = roles.add_parser("bare-consume")
    consumer.add_argument("nats_url")
    consumer.add_argument("events", type=int)
    consumer.add_argument("timeout", type=float)
    args = parser.parse_args()
    if args.role == "produce":
        asyncio.run(produce(args.events))
    elif args.role == "bare-publish":
        asyncio.run(bare_publish(args.nats_url, args.events))
    else:
        asyncio.run(bare_consume(args.nats_url, args.events, args.timeout))


if __name__ == "__main__":
    main()
