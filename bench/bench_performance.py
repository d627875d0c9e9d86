"""Fact ingestion and pay-period calculation of the performance service, on SQLite and PostgreSQL.

A month of a contact center, 20 agents a team, about 210 contact records and 30 attendance
days per agent: the issue's 10,000 agents (2.1 million contact records, 300,000 attendance
days) with `BENCH_AGENTS=10000`; the default full run is 5,000 agents (half of it) so that
both databases fit the 300 s budget on a shared 2-core machine. Per backend it prints

- the ingestion rate of performance's own path (`IngestFacts`' code, in process: every
  fact checked, its local date derived, rows written with `ON CONFLICT DO NOTHING` so a
  re-sent fact counts once, 100,000 facts per transaction) beside a bare SQLAlchemy Core
  bulk insert of the same rows (the first 500,000) into an identical table, and the ratio
  (goal ≥ 0.5);
- the same batches sent through gRPC (`IngestFacts` over a socket) for a sample;
- the whole period calculated (`CalculatePayPeriod` as a long-running operation: loading,
  10,000 statements, their lines, the outbox rows of `statement.issued`), goal < 60 s.

`BENCH_QUICK=1` runs 1,000 agents. Run: `python bench/bench_performance.py`.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from google.type import date_pb2
from sqlalchemy import Column, Engine, Index, MetaData, Table, insert, select

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.support import Workspace, postgres_answers
from cadre.chassis import context as request_context
from cadre.chassis.auth import SYSTEM_ADMIN
from cadre.chassis.db import Database
from cadre.chassis.operations import OperationRunner
from cadre.chassis.tables import operations as operations_table
from cadre.performance.adapters import facts
from cadre.performance.adapters.grpc_servicer import PerformanceServicer
from cadre.performance.adapters.tables import (
    attendance,
    contact_records,
    employees,
    error_records,
    org_units,
    stints,
)
from cadre.performance.main import MIGRATIONS
from cadre.performance.v1 import facts_pb2, pay_pb2
from cadre.performance.v1 import performance_service_pb2 as pb

# The in-process service host would print its spans; the figures are what this prints.
os.environ.setdefault("OTEL_TRACES_EXPORTER", "none")
QUICK = bool(os.environ.get("BENCH_QUICK"))
# The month is 10,000 agents (`BENCH_AGENTS=10000`: 2.5 minutes for both databases on
# a quiet 2-core machine, up to 8 on a busy one); the default full run is half of it, so both
# databases fit the 300 s budget however busy the machine is.
AGENTS = 1_000 if QUICK else int(os.environ.get("BENCH_AGENTS", "5000"))
BARE_BATCHES = 5  # the bare insert's rate is measured on the first 500,000 of the same rows
TEAM_SIZE = 20
DAYS = 30  # attendance days per agent in the month
CONTACTS_PER_DAY = 200 // DAYS + 1  # about 200 contact records per agent in the month
BATCH = 100_000
GRPC_SAMPLE = 20_000 if QUICK else 40_000  # contact records sent through the socket
GRPC_BATCH = 20_000  # fits the 4 MiB message limit
MONTH = date(2026, 3, 1)
rng = random.Random(6)


def ids(n: int) -> list[str]:
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n)]


def seed_org(engine: Engine, people: list[str]) -> None:
    """The org view as roster's events would have left it: a center, 25 departments, teams of 20."""
    center = str(uuid.uuid4())
    teams = ids(-(-len(people) // TEAM_SIZE))
    departments = ids(max(1, len(teams) // 20))
    units = [{"id": center, "path": f"/{center}/", "site": "bench", "time_zone": "UTC"}]
    for department in departments:
        units.append(
            {"id": department, "path": f"/{center}/{department}/", "site": "bench", "time_zone": "UTC"}
        )
    for i, team in enumerate(teams):
        department = departments[i % len(departments)]
        units.append(
            {"id": team, "path": f"/{center}/{department}/{team}/", "site": "bench", "time_zone": "UTC"}
        )
    with engine.begin() as connection:
        connection.execute(insert(org_units), units)
        connection.execute(
            insert(employees),
            [{"id": p, "role": 1, "hire_date": date(2025, 1, 1), "termination_date": None} for p in people],
        )
        connection.execute(
            insert(stints),
            [
                {
                    "employee_id": p,
                    "start_date": date(2025, 1, 1),
                    "org_unit_id": teams[i // TEAM_SIZE],
                    "end_date": None,
                }
                for i, p in enumerate(people)
            ],
        )


def contact_batches(people: list[str]) -> list[facts_pb2.FactBatch]:
    """The month's contact records (plus a quality evaluation, a survey and some errors per
    agent) as IngestFacts batches of 100,000 facts."""
    batches: list[facts_pb2.FactBatch] = []
    batch = facts_pb2.FactBatch()
    count = 0
    start = int(datetime(MONTH.year, MONTH.month, MONTH.day, 8, tzinfo=UTC).timestamp())
    for p, person in enumerate(people):
        name = f"employees/{person}"
        for day in range(DAYS):
            for k in range(CONTACTS_PER_DAY):
                record = batch.contact_records.add(
                    fact_id=f"c{p}-{day}-{k}",
                    employee=name,
                    queue="billing",
                    handle_seconds=120 + (p * 7 + k * 13) % 400 if k % 9 else 0,
                    outcome=1 if k % 9 else 2,
                )
                record.start_time.seconds = start + day * 86_400 + k * 300
                count += 1
        when = MONTH + timedelta(days=p % DAYS)
        day_pb = date_pb2.Date(year=when.year, month=when.month, day=when.day)
        batch.quality_evaluations.add(fact_id=f"q{p}", employee=name, date=day_pb, score=60 + p % 41)
        batch.satisfaction_surveys.add(fact_id=f"s{p}", employee=name, date=day_pb, rating=1 + p % 5)
        if p % 3 == 0:
            batch.errors.add(fact_id=f"e{p}", employee=name, date=day_pb, error_class="MINOR")
        count += 3
        if count >= BATCH:
            batches.append(batch)
            batch, count = facts_pb2.FactBatch(), 0
    if count:
        batches.append(batch)
    return batches


def bare_rows(batch: facts_pb2.FactBatch) -> list[dict[str, Any]]:
    """The contact-record rows of a batch, built outside the timing for the bare insert."""
    return [
        {
            "fact_id": r.fact_id,
            "employee_id": r.employee[10:],
            "work_date": date(2026, 3, 1) + timedelta(days=(r.start_time.seconds - 1772352000) // 86400),
            "queue": r.queue,
            "start_time": datetime.fromtimestamp(r.start_time.seconds, UTC),
            "handle_seconds": r.handle_seconds,
            "outcome": r.outcome,
        }
        for r in batch.contact_records
    ]


def seed_attendance(engine: Engine, people: list[str]) -> int:
    rows = []
    for p, person in enumerate(people):
        for day in range(DAYS):
            rest = day % 7 in (5, 6)
            overtime = 60 if (p + day) % 11 == 0 else 0
            worked = (0 if rest else 480 - (30 if (p + day) % 13 == 0 else 0)) + overtime
            rows.append(
                {
                    "employee_id": person,
                    "work_date": MONTH + timedelta(days=day),
                    "org_unit_id": "",
                    "rest_day": rest,
                    "scheduled_minutes": 0 if rest else 480,
                    "worked_minutes": worked,
                    "overtime_minutes": overtime,
                    "revision": 1,
                }
            )
    with engine.begin() as connection:
        for i in range(0, len(rows), 50_000):
            connection.execute(insert(attendance), rows[i : i + 50_000])
    return len(rows)


def rules() -> pay_pb2.PayRules:
    return pay_pb2.PayRules(
        site="bench",
        effective_date=date_pb2.Date(year=2026, month=1, day=1),
        currency_code="CNY",
        base_kind=pay_pb2.PayRules.BASE_KIND_MONTHLY,
        base_amount_minor=870_000,
        bonus_tiers=[
            pay_pb2.BonusTier(name="SILVER", min_score="60", amount_minor=50_000),
            pay_pb2.BonusTier(name="GOLD", min_score="80", amount_minor=100_000),
        ],
        deduction_per_error_minor={"MINOR": 10_000},
        minimum_wage_minor=249_000,
        training_hourly_rate_minor=3_000,
    )


def scorecard() -> pay_pb2.Scorecard:
    metric = pay_pb2.Metric
    return pay_pb2.Scorecard(
        metrics=[
            metric(
                code="ANSWER_RATE",
                numerator="answered",
                denominator="offered",
                direction=1,
                target="90",
                floor="70",
                ceiling="100",
                weight="2",
                scale="100",
            ),
            metric(
                code="QUALITY",
                numerator="quality_points",
                denominator="quality_evaluations",
                direction=1,
                target="85",
                floor="50",
                ceiling="100",
                weight="1",
            ),
        ]
    )


async def run_backend(backend: str, workspace: Workspace) -> list[str]:
    lines: list[str] = []
    url = workspace.database(backend, "performance")
    db = Database(url, source="performance", threads=2)
    db.migrate(MIGRATIONS)
    people = ids(AGENTS)
    seed_org(db.engine, people)
    batches = contact_batches(people)
    contacts = sum(len(b.contact_records) for b in batches)
    total_facts = sum(
        len(b.contact_records) + len(b.quality_evaluations) + len(b.satisfaction_surveys) + len(b.errors)
        for b in batches
    )
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[backend]

    # Bare Core insert of the same contact rows into an identical table (same columns, keys, index).
    bare_metadata = MetaData()
    bare_table = Table(
        "bench_bare_contact_records",
        bare_metadata,
        *(
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in contact_records.columns
        ),
    )
    Index("ix_bench_bare_employee_day", bare_table.c.employee_id, bare_table.c.work_date)
    bare_metadata.create_all(db.engine)
    prepared = [bare_rows(b) for b in batches[:BARE_BATCHES]]
    bare_count = sum(len(rows) for rows in prepared)
    began = time.perf_counter()
    for rows in prepared:
        with db.engine.begin() as connection:
            connection.execute(insert(bare_table), rows)
    bare_seconds = time.perf_counter() - began
    del prepared

    # Performance's path: what IngestFacts runs, per batch in one unit of work.
    token = request_context.bind(request_context.RequestContext(actor=SYSTEM_ADMIN))
    began = time.perf_counter()
    stored = 0
    contact_seconds = 0.0
    for batch in batches:
        with db.transaction() as unit:
            t0 = time.perf_counter()
            rows = facts.fact_rows(
                batch, max_facts=BATCH + 10_000, zones=lambda who: facts.team_time_zones(unit.connection, who)
            )
            accepted, _ = facts.insert_new(unit.connection, rows)
            stored += accepted
            contact_seconds += time.perf_counter() - t0
    ours_seconds = time.perf_counter() - began
    assert stored == total_facts, (stored, total_facts)
    # Sent again: every fact recognised, none counted twice.
    began = time.perf_counter()
    with db.transaction() as unit:
        rows = facts.fact_rows(batches[0], max_facts=BATCH + 10_000, zones=lambda who: {})
        again, duplicates = facts.insert_new(unit.connection, rows)
    resend_seconds = time.perf_counter() - began
    assert again == 0

    ours_rate = total_facts / ours_seconds
    bare_rate = bare_count / bare_seconds
    lines.append(
        f"performance: {name} ingestion {total_facts:,} facts ({contacts:,} contact records) in "
        f"{ours_seconds:.1f} s = {ours_rate:,.0f} facts/s; bare Core bulk insert of the first {bare_count:,} "
        f"of the same contact rows {bare_seconds:.1f} s = {bare_rate:,.0f} rows/s; ratio {ours_rate / bare_rate:.2f} (goal ≥ 0.5)"
    )
    lines.append(
        f"performance: {name} re-sending a batch of {duplicates:,} already-stored facts: "
        f"{duplicates:,} recognised, 0 stored, {resend_seconds:.2f} s"
    )

    # Through the socket: the same kind of batches over gRPC to a running service host.
    lines.append(await grpc_sample(workspace, backend, name))

    attendance_days = seed_attendance(db.engine, people)
    servicer = PerformanceServicer(db, OperationRunner(db), clock=lambda: datetime.now(UTC))
    await servicer.CreatePayRules(pb.CreatePayRulesRequest(pay_rules=rules()), None)  # type: ignore[arg-type]
    with db.reader() as connection:
        center = connection.execute(
            select(org_units.c.id).where(org_units.c.path.like("/%/"), ~org_units.c.path.like("/%/%/"))
        ).scalar()
    await servicer.CreateScorecard(
        pb.CreateScorecardRequest(parent=f"orgUnits/{center}", scorecard=scorecard()),
        None,  # type: ignore[arg-type]
    )
    period = await servicer.CreatePayPeriod(
        pb.CreatePayPeriodRequest(
            pay_period=pay_pb2.PayPeriod(
                site="bench",
                start_date=date_pb2.Date(year=2026, month=3, day=1),
                end_date=date_pb2.Date(year=2026, month=3, day=31),
            )
        ),
        None,  # type: ignore[arg-type]
    )
    began = time.perf_counter()
    operation = await servicer.CalculatePayPeriod(pb.CalculatePayPeriodRequest(name=period.name), None)  # type: ignore[arg-type]
    while True:
        with db.reader() as connection:
            row = connection.execute(
                select(operations_table.c.done, operations_table.c.error).where(
                    operations_table.c.name == operation.name
                )
            ).one()
        if row.done:
            break
        await asyncio.sleep(0.05)
    calc_seconds = time.perf_counter() - began
    assert row.error is None, row.error
    done = await servicer.GetPayPeriod(pb.GetPayPeriodRequest(name=period.name), None)  # type: ignore[arg-type]
    with db.reader() as connection:
        errors = connection.execute(select(error_records.c.fact_id)).all()
    lines.append(
        f"performance: {name} pay period for {AGENTS:,} agents ({attendance_days:,} attendance days, "
        f"{contacts:,} contact records, {len(errors):,} errors): {done.statement_count:,} statements calculated "
        f"in {calc_seconds:.1f} s (goal < 60 s on 2 cores), {done.statement_count / calc_seconds:,.0f} statements/s"
    )
    request_context.reset(token)
    db.dispose()
    return lines


async def grpc_sample(workspace: Workspace, backend: str, name: str) -> str:
    from cadre.cli import testing
    from cadre.performance.main import build
    from cadre.performance.settings import PerformanceSettings
    from cadre.performance.v1 import performance_service_pb2_grpc

    nats = workspace.nats()
    url = workspace.database(backend, "performance-grpc")
    settings = testing.host_settings(
        PerformanceSettings,
        database_url=url,
        nats=nats,
        data_dir=workspace.root / "grpc",
        log_level="WARNING",
    )
    people = ids(GRPC_SAMPLE // (DAYS * CONTACTS_PER_DAY) + 1)
    seed_db = Database(url, source="seed", threads=1)
    host = build(settings)
    async with testing.serving(host):
        seed_org(seed_db.engine, people)
        seed_db.dispose()
        batch = contact_batches(people)[0]
        records = list(batch.contact_records)[:GRPC_SAMPLE]
        chunks = [
            facts_pb2.FactBatch(contact_records=records[i : i + GRPC_BATCH])
            for i in range(0, len(records), GRPC_BATCH)
        ]
        channel = testing.channel(f"127.0.0.1:{host.bound_port}")
        stub = performance_service_pb2_grpc.PerformanceServiceStub(channel)
        began = time.perf_counter()
        for chunk in chunks:
            reply = await stub.IngestFacts(pb.IngestFactsRequest(facts=chunk), timeout=120)
            assert reply.accepted_count == len(chunk.contact_records)
        seconds = time.perf_counter() - began
        await channel.close()
    return (
        f"performance: {name} IngestFacts over gRPC: {len(records):,} contact records in batches of "
        f"{GRPC_BATCH:,} in {seconds:.1f} s = {len(records) / seconds:,.0f} facts/s"
    )


async def main() -> None:
    scale = "quick run, " if QUICK else ""
    print(f"performance: {scale}{AGENTS:,} agents in teams of {TEAM_SIZE}, a 31-day month")
    backends = ["sqlite"] + (["postgresql"] if postgres_answers() else [])
    with Workspace() as workspace:
        for backend in backends:
            for line in await run_backend(backend, workspace):
                print(line, flush=True)
    if "postgresql" not in backends:
        print("performance: PostgreSQL not reachable; its figures were not measured")


if __name__ == "__main__":
    asyncio.run(main())
