"""Staffing requirements for many queues through the scheduling gRPC API, end to end.

Run as ``python bench/bench_scheduling_api.py`` (``--help`` for the knobs). Starts NATS and
the scheduling service as real processes on free ports (SQLite by default), then for each
queue: CreateQueue, ImportIntervalRecords (weeks of synthetic 15-minute history with weekly
and intraday seasonality, from the domain's generator), GenerateForecast (a long-running
operation, awaited with WaitOperation) for four weeks, and CreateRequirement (Erlang C).
A few queues are in flight at once, as a planning run for a center would be. Prints figures;
exits 0. ``BENCH_QUICK=1`` runs a small version.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import duration_pb2, timestamp_pb2

from cadre.chassis.auth import SYSTEM_ADMIN, ensure_dev_keys, issue_token
from cadre.chassis.client import open_channel
from cadre.scheduling.domain.forecast import synthetic_history
from cadre.scheduling.v1 import forecast_pb2, queue_pb2, scheduling_service_pb2, scheduling_service_pb2_grpc

if not __package__:  # run as a script: the repository root makes `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.support import Workspace

pb = scheduling_service_pb2
INTERVAL_MINUTES = 15
TIME_ZONES = ("Europe/Berlin", "America/Sao_Paulo", "Asia/Manila", "America/New_York", "Europe/Lisbon")


@dataclass
class Timings:
    imports: list[float] = field(default_factory=list)
    forecasts: list[float] = field(default_factory=list)
    requirements: list[float] = field(default_factory=list)
    records: int = 0
    intervals: int = 0
    agents_scheduled: int = 0


def history_start(history_weeks: int) -> date:
    """A Monday far enough back that the whole history lies in the past."""
    today = datetime.now(UTC).date()
    last_monday = today - timedelta(days=today.weekday())
    return last_monday - timedelta(weeks=history_weeks + 1)


def queue_history(index: int, *, weeks: int, time_zone: str) -> list[queue_pb2.IntervalRecord]:
    synthetic = synthetic_history(
        start=history_start(weeks),
        days=7 * weeks,
        time_zone=time_zone,
        interval_minutes=INTERVAL_MINUTES,
        seed=index,
        mean_daily_volume=2_000.0 + 400.0 * (index % 10),
    ).history
    records = []
    for moment, offered, aht in zip(
        synthetic.timestamps, synthetic.offered, synthetic.aht_seconds, strict=True
    ):
        abandoned = int(offered) // 25
        records.append(
            queue_pb2.IntervalRecord(
                start_time=timestamp_pb2.Timestamp(seconds=int(moment.timestamp())),
                offered=int(offered),
                handled=int(offered) - abandoned,
                abandoned=abandoned,
                aht_seconds=float(aht),
            )
        )
    return records


async def plan_queue(
    index: int,
    *,
    stub: scheduling_service_pb2_grpc.SchedulingServiceStub,
    operations: operations_pb2_grpc.OperationsStub,
    records: list[queue_pb2.IntervalRecord],
    time_zone: str,
    horizon_days: int,
    timings: Timings,
) -> None:
    queue = await stub.CreateQueue(
        pb.CreateQueueRequest(
            queue=queue_pb2.Queue(
                display_name=f"Queue {index}",
                service_level=queue_pb2.ServiceLevelTarget(fraction=0.8, answer_seconds=20),
                max_occupancy=0.9,
                shrinkage=0.3,
                interval_minutes=INTERVAL_MINUTES,
                time_zone=time_zone,
            ),
            request_id=str(uuid.uuid4()),
        )
    )
    t0 = time.perf_counter()
    await stub.ImportIntervalRecords(
        pb.ImportIntervalRecordsRequest(parent=queue.name, records=records, request_id=str(uuid.uuid4()))
    )
    t1 = time.perf_counter()
    operation = await stub.GenerateForecast(
        pb.GenerateForecastRequest(parent=queue.name, days=horizon_days, request_id=str(uuid.uuid4()))
    )
    while not operation.done:
        operation = await operations.WaitOperation(
            operations_pb2.WaitOperationRequest(
                name=operation.name, timeout=duration_pb2.Duration(seconds=30)
            )
        )
    if operation.HasField("error"):
        raise RuntimeError(f"forecast of {queue.name} failed: {operation.error.message}")
    forecast = forecast_pb2.Forecast()
    operation.response.Unpack(forecast)
    t2 = time.perf_counter()
    requirement = await stub.CreateRequirement(
        pb.CreateRequirementRequest(parent=queue.name, forecast=forecast.name, request_id=str(uuid.uuid4()))
    )
    t3 = time.perf_counter()
    timings.imports.append(t1 - t0)
    timings.forecasts.append(t2 - t1)
    timings.requirements.append(t3 - t2)
    timings.records += len(records)
    timings.intervals += len(requirement.intervals)
    timings.agents_scheduled += sum(i.scheduled_agents for i in requirement.intervals)


async def run_all(address: str, token: str, args: argparse.Namespace) -> tuple[float, Timings]:
    time_zones = [TIME_ZONES[i % len(TIME_ZONES)] for i in range(args.queues)]
    histories = [queue_history(i, weeks=args.history_weeks, time_zone=z) for i, z in enumerate(time_zones)]
    timings = Timings()
    in_flight = asyncio.Semaphore(args.concurrency)
    async with open_channel(address, token_source=lambda: token, default_timeout=300) as channel:
        stub = scheduling_service_pb2_grpc.SchedulingServiceStub(channel)
        operations = operations_pb2_grpc.OperationsStub(channel)

        async def one(i: int) -> None:
            async with in_flight:
                await plan_queue(
                    i,
                    stub=stub,
                    operations=operations,
                    records=histories[i],
                    time_zone=time_zones[i],
                    horizon_days=7 * args.horizon_weeks,
                    timings=timings,
                )

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(args.queues)))
        return time.perf_counter() - started, timings


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1e3:.0f} ms, max {max(values) * 1e3:.0f} ms"


def main() -> int:
    quick = bool(os.environ.get("BENCH_QUICK"))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queues", type=int, default=5 if quick else 50)
    parser.add_argument("--horizon-weeks", type=int, default=4, help="weeks forecast and staffed per queue")
    parser.add_argument("--history-weeks", type=int, default=8, help="weeks of history imported per queue")
    parser.add_argument("--concurrency", type=int, default=4, help="queues in flight at once")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()

    with Workspace() as workspace:
        nats = workspace.nats()
        env = workspace.service_env(nats, workspace.database(args.database, "scheduling"))
        private_key, public_key = ensure_dev_keys(Path(env["CADRE_DATA_DIR"]) / "auth")
        service = workspace.service("scheduling", {**env, "CADRE_AUTH_PUBLIC_KEY_FILE": str(public_key)})
        token = issue_token(private_key, SYSTEM_ADMIN, ttl_seconds=3600)
        total, timings = asyncio.run(run_all(service.address, token, args))

    print(
        f"inputs: {args.queues} queues x {args.horizon_weeks} weeks of {INTERVAL_MINUTES}-min intervals "
        f"({timings.intervals} intervals staffed); {args.history_weeks} weeks of history each "
        f"({timings.records} records); {args.database}; {args.concurrency} queues in flight; "
        "scheduling and NATS as real processes, gRPC over loopback"
    )
    print(
        f"scheduling-api: end to end {total:.1f} s for {args.queues} queues, "
        f"{total / args.queues * 1e3:.0f} ms per queue (import + forecast + requirement, wall clock)"
    )
    print(
        f"scheduling-api: import {_ms(timings.imports)} per queue "
        f"({timings.records / sum(timings.imports):,.0f} records/s while importing)"
    )
    print(
        f"scheduling-api: forecast (operation, {args.horizon_weeks} weeks) {_ms(timings.forecasts)} per queue"
    )
    print(
        f"scheduling-api: requirement (Erlang C, {timings.intervals // args.queues} intervals) "
        f"{_ms(timings.requirements)} per queue"
    )
    print(f"scheduling-api: {timings.agents_scheduled:,} agent-intervals scheduled in total")
    return 0


if __name__ == "__main__":
    sys.exit(main())
