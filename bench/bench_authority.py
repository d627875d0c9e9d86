"""Authority decisions: in process from a service's local copy, and through roster's gRPC API.

A 5,000-employee, 300-team center with 2,000 grants (root grants over departments and
teams, and delegations from them). Prints figures; `--quick` shrinks the center.
Run: `python bench/bench_authority.py [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from google.type import date_pb2

from cadre.authority.policy import Action, Amount, Grant, GrantBook, Limits
from cadre.authority.projection import AuthoritySnapshot
from cadre.chassis.auth import SYSTEM_ADMIN, ensure_dev_keys, issue_token
from cadre.chassis.client import open_channel
from cadre.cli.processes import NatsServer, ServiceProcess
from cadre.roster.v1 import employee_pb2, grant_pb2, org_unit_pb2
from cadre.roster.v1 import roster_service_pb2 as rs
from cadre.roster.v1 import roster_service_pb2_grpc as rg

NOW = datetime.now(UTC)


def synthetic_center(employees: int, teams: int, grants: int, seed: int = 7) -> AuthoritySnapshot:
    rng = random.Random(seed)
    departments = max(1, teams // 30)
    unit_paths: dict[str, tuple[str, ...]] = {"c": ("c",)}
    team_ids = []
    for d in range(departments):
        unit_paths[f"d{d}"] = ("c", f"d{d}")
    for t in range(teams):
        department = f"d{t % departments}"
        unit_paths[f"t{t}"] = ("c", department, f"t{t}")
        team_ids.append(f"t{t}")
    people = {f"e{i}": (team_ids[i % teams], 1, 2) for i in range(employees)}
    book_grants: list[Grant] = []
    roots = grants // 2
    for g in range(roots):
        scope = unit_paths[rng.choice([f"d{rng.randrange(departments)}", rng.choice(team_ids)])]
        book_grants.append(
            Grant(
                f"g{g}",
                f"employees/e{rng.randrange(employees)}",
                Action.APPROVE_LEAVE,
                scope,
                Limits(max_days=10),
                NOW - timedelta(days=1),
                None,
                None,
                1,
                "system:admin",
                "",
            )
        )
    for g in range(roots, grants):
        parent = book_grants[rng.randrange(roots)]
        team = rng.choice(
            [t for t in team_ids if unit_paths[t][: len(parent.scope_path)] == parent.scope_path]
            or [parent.scope_path[-1]]
        )
        book_grants.append(
            Grant(
                f"g{g}",
                f"employees/e{rng.randrange(employees)}",
                Action.APPROVE_LEAVE,
                unit_paths[team],
                Limits(max_days=3),
                NOW - timedelta(hours=1),
                NOW + timedelta(days=30),
                parent.id,
                2,
                parent.grantee,
                "",
            )
        )
    return AuthoritySnapshot(GrantBook(book_grants), unit_paths, people, 1)


def in_process(snapshot: AuthoritySnapshot, decisions: int) -> tuple[float, float, float]:
    rng = random.Random(3)
    actors = (
        sorted(snapshot.book.grantees())
        if snapshot.book.grantees()
        else [f"employees/e{i}" for i in range(len(snapshot.people))]
    )
    queries = [
        (rng.choice(actors), f"employees/e{rng.randrange(len(snapshot.people))}", rng.randrange(5))
        for _ in range(decisions)
    ]
    allowed = 0
    start = time.perf_counter()
    for actor, target, days in queries:
        decision = snapshot.authorize(
            actor=actor, action=Action.APPROVE_LEAVE, target=target, amount=Amount(days=days), moment=NOW
        )
        allowed += decision is not None and decision.allowed
    ours = decisions / (time.perf_counter() - start)
    # The bare peer: the same decisions with the target's path already at hand (policy alone).
    paths = [snapshot.path_of(target) for _, target, _ in queries]
    start = time.perf_counter()
    for (actor, _, days), path in zip(queries, paths, strict=True):
        snapshot.book.authorize(
            actor=actor, action=Action.APPROVE_LEAVE, target_path=path, amount=Amount(days=days), moment=NOW
        )  # type: ignore[arg-type]
    bare = decisions / (time.perf_counter() - start)
    return ours, bare, allowed / decisions


async def through_grpc(employees: int, teams: int, grants: int, seconds: float) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="bench-authority-"))
    signing, verifying = ensure_dev_keys(work / "auth")
    token = issue_token(signing, SYSTEM_ADMIN, ttl_seconds=3600)
    nats = NatsServer(store_dir=work / "nats")
    nats.start()
    roster = ServiceProcess(
        "roster",
        {
            "CADRE_DATA_DIR": str(work),
            "CADRE_NATS_URL": nats.url,
            "CADRE_AUTH_PUBLIC_KEY_FILE": str(verifying),
            "OTEL_TRACES_EXPORTER": "none",
            "CADRE_LOG_LEVEL": "WARNING",
        },
        log_file=work / "roster.log",
    )
    lines = []
    try:
        roster.start()
        channel = open_channel(roster.address, token_source=lambda: token, default_timeout=60)
        stub = rg.RosterServiceStub(channel)
        OrgUnit, Employee = org_unit_pb2.OrgUnit, employee_pb2.Employee
        center = await stub.CreateOrgUnit(
            rs.CreateOrgUnitRequest(
                org_unit=OrgUnit(display_name="C", kind=OrgUnit.KIND_CENTER, time_zone="UTC")
            )
        )
        departments = [
            (
                await stub.CreateOrgUnit(
                    rs.CreateOrgUnitRequest(
                        org_unit=OrgUnit(
                            display_name=f"D{d}", kind=OrgUnit.KIND_DEPARTMENT, parent=center.name
                        )
                    )
                )
            ).name
            for d in range(max(1, teams // 30))
        ]
        team_names = []
        for t in range(teams):
            team_names.append(
                (
                    await stub.CreateOrgUnit(
                        rs.CreateOrgUnitRequest(
                            org_unit=OrgUnit(
                                display_name=f"T{t}",
                                kind=OrgUnit.KIND_TEAM,
                                parent=departments[t % len(departments)],
                            )
                        )
                    )
                ).name
            )
        semaphore = asyncio.Semaphore(16)

        async def hire(i: int) -> str:
            async with semaphore:
                return (
                    await stub.HireEmployee(
                        rs.HireEmployeeRequest(
                            employee=Employee(
                                display_name=f"P{i}",
                                org_unit=team_names[i % teams],
                                role=Employee.ROLE_AGENT,
                                employment_type=Employee.EMPLOYMENT_TYPE_FULL_TIME,
                                hire_date=_date(),
                            )
                        )
                    )
                ).name

        started = time.perf_counter()
        people = await asyncio.gather(*(hire(i) for i in range(employees)))
        lines.append(
            f"authority: hired {employees} through gRPC at concurrency 16 in {time.perf_counter() - started:.1f} s"
        )
        rng = random.Random(5)

        async def grant(i: int) -> None:
            async with semaphore:
                scope = rng.choice(departments + team_names)
                await stub.CreateGrant(
                    rs.CreateGrantRequest(
                        grant=grant_pb2.Grant(
                            grantee=rng.choice(people),
                            action=grant_pb2.ACTION_APPROVE_LEAVE,
                            scope=scope,
                            limits=grant_pb2.Limits(max_days=5),
                            reason="bench",
                        )
                    )
                )

        await asyncio.gather(*(grant(i) for i in range(grants)))
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def caller() -> None:
            while time.perf_counter() < deadline:
                begin = time.perf_counter()
                await stub.Authorize(
                    rs.AuthorizeRequest(
                        actor=rng.choice(people),
                        action=grant_pb2.ACTION_APPROVE_LEAVE,
                        target=rng.choice(people),
                        amount=grant_pb2.Amount(days=rng.randrange(6)),
                    )
                )
                latencies.append(time.perf_counter() - begin)

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(16)))
        elapsed = time.perf_counter() - started
        latencies.sort()
        lines.append(
            f"authority: Authorize through gRPC, concurrency 16 (client in the same 2 cores): {len(latencies) / elapsed:,.0f} "
            f"decisions/s, p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms"
        )
        for label, unit in (("whole center", center.name), ("one department", departments[0])):
            started = time.perf_counter()
            count, token_ = 0, ""
            while True:
                page = await stub.ListEmployees(
                    rs.ListEmployeesRequest(org_unit=unit, page_size=1000, page_token=token_)
                )
                count += len(page.employees)
                token_ = page.next_page_token
                if not token_:
                    break
            lines.append(
                f"authority: ListEmployees subtree of the {label}: {count} people in {(time.perf_counter() - started) * 1000:.0f} ms (pages of 1000)"
            )
        await channel.close()
    finally:
        roster.terminate()
        nats.kill()
        shutil.rmtree(work, ignore_errors=True)
    return lines


def _date() -> date_pb2.Date:
    return date_pb2.Date(year=2026, month=1, day=5)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    args.quick = args.quick or bool(os.environ.get("BENCH_QUICK"))
    employees, teams, grants = (1000, 60, 400) if args.quick else (5000, 300, 2000)
    snapshot = synthetic_center(employees, teams, grants)
    ours, bare, allowed_share = in_process(snapshot, 20_000 if args.quick else 200_000)
    print(
        f"authority: in process from the local copy ({employees} employees, {teams} teams, {grants} grants): "
        f"{ours:,.0f} decisions/s; policy alone with paths at hand {bare:,.0f}/s; ratio {ours / bare:.2f}; "
        f"goal > 50,000/s; {allowed_share:.0%} allowed"
    )
    for line in asyncio.run(through_grpc(employees, teams, grants, 2 if args.quick else 5)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
