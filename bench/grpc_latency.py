"""Benchmark 2: GetEmployee calls/s, p50 and p99 at concurrency 1, 16 and 64.

Cadre: the roster service as a real process (its interceptors, tracing with exporter `none`,
database pool), with a small org tree and 200 people hired through the API. Bare peer: a
grpc.aio server in its own process answering GetEmployee with a pre-built Employee of the
same size (no interceptors, no database, no tracing). One load-generator process drives
both, level by level, bare and Cadre back to back, over one channel each.

Helper roles: `python -m bench.grpc_latency echo|load ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc
from google.type import date_pb2

from bench.report import Figure, Section
from bench.support import BACKEND_NAMES, Workspace, emit, next_command
from cadre.chassis.auth import SYSTEM_ADMIN, ensure_dev_keys, issue_token
from cadre.roster.v1 import employee_pb2, org_unit_pb2, roster_service_pb2, roster_service_pb2_grpc

LEVELS = (1, 16, 64)
EMPLOYEES = 200
GOAL_THROUGHPUT = 0.60
GOAL_P99 = 2.0
GOAL_P99_LEVEL = 16
CALL_TIMEOUT = 10.0
TOKEN_VARIABLE = "BENCH_TOKEN"

Employee = employee_pb2.Employee
OrgUnit = org_unit_pb2.OrgUnit

# Helper processes.


class _Echo(roster_service_pb2_grpc.RosterServiceServicer):
    def __init__(self, reply: Employee) -> None:
        self._reply = reply

    async def GetEmployee(self, request: Any, context: Any) -> Employee:
        return self._reply


async def echo(reply: Employee) -> None:
    server = grpc.aio.server()
    roster_service_pb2_grpc.add_RosterServiceServicer_to_server(_Echo(reply), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    emit(address=f"127.0.0.1:{port}")
    await next_command()
    await server.stop(0)


async def load(names: list[str], targets: list[tuple[str, str]], args: argparse.Namespace) -> None:
    """Level by level, round by round, each target in turn: a warm-up, then timed calls."""
    channels = [(label, grpc.aio.insecure_channel(address)) for label, address in targets]
    metadata = _credentials(os.environ[TOKEN_VARIABLE])
    for level in args.levels:
        for _ in range(args.rounds):
            for label, channel in channels:
                stub = roster_service_pb2_grpc.RosterServiceStub(channel)
                await _drive(stub, metadata, names, level, args.warmup)
                latencies, elapsed, errors = await _drive(stub, metadata, names, level, args.seconds)
                emit(level=level, target=label, errors=errors, **summary(latencies, elapsed))
    for _, channel in channels:
        await channel.close()


async def _drive(
    stub: Any, metadata: tuple[tuple[str, str], ...], names: list[str], level: int, seconds: float
) -> tuple[list[float], float, Counter[str]]:
    """Latencies of the calls that succeeded, the time taken, and the failed calls by status code."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    started = time.perf_counter()
    stop_at = started + seconds

    async def worker() -> None:
        while (before := time.perf_counter()) < stop_at:
            request = roster_service_pb2.GetEmployeeRequest(name=random.choice(names))
            try:
                await stub.GetEmployee(request, timeout=CALL_TIMEOUT, metadata=metadata)
            except grpc.aio.AioRpcError as error:
                errors[error.code().name] += 1
                continue
            latencies.append(time.perf_counter() - before)

    await asyncio.gather(*(worker() for _ in range(level)))
    return latencies, time.perf_counter() - started, errors


def summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    """Calls per second and the p50 and p99 latency in milliseconds (nearest rank)."""
    ordered = sorted(latencies) or [float("nan")]

    def percentile(q: float) -> float:
        return ordered[round(q * (len(ordered) - 1))] * 1000

    return {
        "calls": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": percentile(0.5),
        "p99": percentile(0.99),
    }


def _credentials(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


# The orchestration.


def admin_token(data_dir: Path) -> str:
    """A platform-administrator token signed with the embedded profile's development key."""
    private_key, _ = ensure_dev_keys(data_dir / "auth")
    return issue_token(private_key, SYSTEM_ADMIN, ttl_seconds=3600)


def seed(address: str, token: str) -> tuple[list[str], bytes]:
    """An org tree and EMPLOYEES people hired through the API: their names and one Employee's bytes."""
    metadata = _credentials(token)
    with grpc.insecure_channel(address) as channel:
        stub = roster_service_pb2_grpc.RosterServiceStub(channel)

        def create(display_name: str, kind: OrgUnit.Kind, parent: str = "") -> str:
            unit = OrgUnit(display_name=display_name, kind=kind, parent=parent, time_zone="Europe/Lisbon")
            request = roster_service_pb2.CreateOrgUnitRequest(org_unit=unit)
            return str(stub.CreateOrgUnit(request, timeout=CALL_TIMEOUT, metadata=metadata).name)

        center = create("Lisbon center", OrgUnit.KIND_CENTER)
        team = create("Billing early", OrgUnit.KIND_TEAM, create("Billing", OrgUnit.KIND_DEPARTMENT, center))
        hired = [
            stub.HireEmployee(
                roster_service_pb2.HireEmployeeRequest(employee=_person(team, i)),
                timeout=CALL_TIMEOUT,
                metadata=metadata,
            )
            for i in range(EMPLOYEES)
        ]
    typical = sorted(hired, key=lambda e: e.ByteSize())[len(hired) // 2]
    return [e.name for e in hired], typical.SerializeToString()


FIRST = ["Ana", "Rui", "Marta", "João", "Inês", "Pedro", "Sofia", "Tiago", "Carla", "Miguel"]
LAST = ["Costa", "Lopes", "Silva", "Ferreira", "Santos", "Pereira", "Almeida", "Ribeiro"]
SKILLS = ["billing", "retention", "technical", "sales", "chat"]


def _person(team: str, i: int) -> Employee:
    rng = random.Random(i)
    return Employee(
        display_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        org_unit=team,
        role=Employee.ROLE_TEAM_LEADER if i % 12 == 0 else Employee.ROLE_AGENT,
        employment_type=rng.choice(
            [
                Employee.EMPLOYMENT_TYPE_FULL_TIME,
                Employee.EMPLOYMENT_TYPE_PART_TIME,
                Employee.EMPLOYMENT_TYPE_FLEXIBLE,
            ]
        ),
        hire_date=date_pb2.Date(year=2025, month=rng.randint(1, 12), day=rng.randint(1, 28)),
        skills=[
            employee_pb2.Skill(skill=s, level=rng.randint(1, 5))
            for s in rng.sample(SKILLS, rng.randint(1, 3))
        ],
        employee_number=f"E{i:05d}",
    )


Results = dict[tuple[int, str], dict[str, Any]]


def measure(
    backend: str, *, seconds: float, warmup: float, rounds: int, levels: tuple[int, ...] = LEVELS
) -> tuple[Results, int, list[str]]:
    """Per (level, "ours" | "bare"), the round with the most calls/s; the reply size; profiles."""
    with Workspace() as ws:
        nats_server = ws.nats()
        env = ws.service_env(nats_server, ws.database(backend, "roster"))
        token = admin_token(Path(env["CADRE_DATA_DIR"]))
        roster = ws.service("roster", env)
        names, sample = seed(roster.address, token)
        (ws.root / "employee.bin").write_bytes(sample)
        (ws.root / "names.txt").write_text("\n".join(names))
        bare = ws.child("bench.grpc_latency", "echo", ws.root / "employee.bin")
        bare_address = bare.read()["address"]
        generator = ws.child(
            "bench.grpc_latency", "load", ws.root / "names.txt", seconds, warmup, rounds,
            "--levels", ",".join(map(str, levels)),
            "--target", f"bare={bare_address}", "--target", f"ours={roster.address}",
            env={TOKEN_VARIABLE: token},
        )  # fmt: skip
        results: Results = {}
        with ws.profiling(roster.process, f"roster ({BACKEND_NAMES[backend]})"):
            for _ in range(len(levels) * rounds * 2):
                result = generator.read(timeout=seconds + warmup + 60)
                best = results.setdefault((result["level"], result["target"]), result)
                if result["rate"] > best["rate"]:
                    results[(result["level"], result["target"])] = result
    return results, len(sample), ws.profiles


def run(*, quick: bool, backends: list[str]) -> Section:
    seconds, warmup, rounds = (1.0, 0.2, 1) if quick else (3.0, 0.5, 2)
    section = Section(
        title="gRPC GetEmployee: calls/s, p50 and p99",
        intro=(
            f"Roster as a real process, {EMPLOYEES} people hired through the API; GetEmployee on a random "
            f"one from a separate load-generator process (grpc.aio, one channel per server, N concurrent "
            f"callers, {seconds:g} s per level after {warmup:g} s warm-up, {rounds} round(s) alternating "
            "bare and Cadre, the round with the most calls/s shown). Bare peer: a grpc.aio server "
            "returning a pre-built Employee of the same size, no interceptors, database or tracing. "
            "Tracing exporter `none` (spans are still created). The load generator shares the 2 cores, "
            "so at high concurrency it is part of what is measured, for both."
        ),
    )
    for backend in backends:
        name = BACKEND_NAMES[backend]
        results, size, profiles = measure(backend, seconds=seconds, warmup=warmup, rounds=rounds)
        for level in LEVELS:
            ours, bare = results[(level, "ours")], results[(level, "bare")]
            throughput_met = ours["rate"] >= GOAL_THROUGHPUT * bare["rate"]
            p99_met = ours["p99"] <= GOAL_P99 * bare["p99"] if level == GOAL_P99_LEVEL else None
            section.figures += [
                Figure(f"{name} c={level}: calls/s", ours["rate"], bare["rate"], "calls/s",
                       f"≥ {GOAL_THROUGHPUT:.2f} × bare", throughput_met),
                Figure(f"{name} c={level}: p50", ours["p50"], bare["p50"], "ms"),
                Figure(f"{name} c={level}: p99", ours["p99"], bare["p99"], "ms",
                       f"≤ {GOAL_P99:g} × bare" if p99_met is not None else "", p99_met),
            ]  # fmt: skip
            if ours["errors"] or bare["errors"]:
                section.notes.append(
                    f"{name} c={level}: failed calls, Cadre {_codes(ours['errors'])}, bare {_codes(bare['errors'])}"
                )
            print(
                f"  grpc {name} c={level}: ours {ours['rate']:,.0f}/s p99 {ours['p99']:.1f} ms, "
                f"bare {bare['rate']:,.0f}/s p99 {bare['p99']:.1f} ms",
                flush=True,
            )
        section.notes.append(f"{name}: Employee reply {size} bytes.")
        section.notes += [f"profile, {line}" for line in profiles]
    return section


def _codes(errors: dict[str, int]) -> str:
    return ", ".join(f"{count:,} {code}" for code, count in errors.items()) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.grpc_latency")
    roles = parser.add_subparsers(dest="role", required=True)
    roles.add_parser("echo").add_argument("sample", type=Path)
    generator = roles.add_parser("load")
    generator.add_argument("names", type=Path)
    generator.add_argument("seconds", type=float)
    generator.add_argument("warmup", type=float)
    generator.add_argument("rounds", type=int)
    generator.add_argument("--levels", type=_levels, default=LEVELS, help="e.g. 1,16,64")
    generator.add_argument("--target", action="append", required=True, help="label=host:port")
    args = parser.parse_args()
    if args.role == "echo":
        asyncio.run(echo(Employee.FromString(args.sample.read_bytes())))
    else:
        targets = [(label, address) for label, address in (t.split("=", 1) for t in args.target)]
        asyncio.run(load(args.names.read_text().split(), targets, args))


def _levels(text: str) -> list[int]:
    return [int(level) for level in text.split(",")]


if __name__ == "__main__":
    main()
