"""Another process's copy of the grants decides exactly as roster does, after kills and restarts."""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import pytest
from google.type import date_pb2
from sqlalchemy import create_engine

from cadre.authority.policy import Action, Amount
from cadre.authority.projection import LocalAuthority
from cadre.cli import testing
from cadre.cli.processes import NatsServer, ServiceProcess
from cadre.cli.testing import service_env
from cadre.roster.v1 import employee_pb2, grant_pb2, org_unit_pb2, transfer_pb2
from cadre.roster.v1 import roster_service_pb2 as rs
from cadre.roster.v1 import roster_service_pb2_grpc as rg

pytestmark = pytest.mark.e2e
OrgUnit, Employee = org_unit_pb2.OrgUnit, employee_pb2.Employee


def _today() -> date_pb2.Date:
    d = datetime.now(UTC).date()
    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


async def _drained(nats_url: str, durable: str, timeout: float = 30) -> None:
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    deadline = time.monotonic() + timeout
    try:
        while True:
            info = await js.consumer_info("CADRE_ROSTER", durable)
            stream = await js.stream_info("CADRE_ROSTER")
            if info.ack_floor.stream_seq >= stream.state.last_seq and not info.num_ack_pending:
                return
            assert time.monotonic() < deadline, "the mirror did not catch up"
            await asyncio.sleep(0.1)
    finally:
        await connection.close()


async def test_projection_in_another_process_agrees_with_roster_after_kills(
    roster_process: ServiceProcess, nats_server: NatsServer, second_database_url: str, tmp_path: Path
) -> None:
    mirror = ServiceProcess(
        "authority_mirror",
        service_env(second_database_url, nats_server, tmp_path),
        log_file=tmp_path / "mirror.log",
    )
    roster_process.start()
    mirror.start(extra_env={"CADRE_CRASH_AT": "consumer_after_commit"}, wait=False)
    channel = testing.channel(roster_process.address)
    roster = rg.RosterServiceStub(channel)
    try:
        units: dict[str, str] = {}
        for key, kind, parent in (
            ("center", OrgUnit.KIND_CENTER, ""),
            ("dept", OrgUnit.KIND_DEPARTMENT, "center"),
            ("a", OrgUnit.KIND_TEAM, "dept"),
            ("b", OrgUnit.KIND_TEAM, "dept"),
        ):
            units[key] = (
                await roster.CreateOrgUnit(
                    rs.CreateOrgUnitRequest(
                        org_unit=OrgUnit(
                            display_name=key, kind=kind, parent=units.get(parent, ""), time_zone="UTC"
                        )
                    )
                )
            ).name
        people = {}
        for key, team, role in (
            ("manager", "a", Employee.ROLE_MANAGER),
            ("lead", "a", Employee.ROLE_TEAM_LEADER),
            ("ana", "a", Employee.ROLE_AGENT),
            ("bea", "b", Employee.ROLE_AGENT),
        ):
            people[key] = (
                await roster.HireEmployee(
                    rs.HireEmployeeRequest(
                        employee=Employee(
                            display_name=key,
                            org_unit=units[team],
                            role=role,
                            employment_type=Employee.EMPLOYMENT_TYPE_FULL_TIME,
                            hire_date=_today(),
                        )
                    )
                )
            ).name
        assert mirror.wait_exit(timeout=30) == -signal.SIGKILL  # died between commit and ack
        mirror.start(wait=False)

        def grant(grantee, scope, days, parent="", until=None):
            g = grant_pb2.Grant(
                grantee=people[grantee],
                action=grant_pb2.ACTION_APPROVE_LEAVE,
                scope=units[scope],
                limits=grant_pb2.Limits(max_days=days),
                reason="season",
                parent_grant=parent,
            )
            if until:
                g.valid_until.FromDatetime(until)
            return rs.CreateGrantRequest(grant=g)

        root = await roster.CreateGrant(grant("manager", "dept", 10))
        lead_channel = testing.channel(roster_process.address, people["manager"])
        delegated = await rg.RosterServiceStub(lead_channel).CreateGrant(
            grant("lead", "a", 3, root.name, datetime.now(UTC) + timedelta(days=20))
        )
        second = await roster.CreateGrant(grant("lead", "b", 1))
        mirror.kill()  # an unclean stop between deliveries
        await roster.RevokeGrant(rs.RevokeGrantRequest(name=second.name))
        transfer = await roster.RequestTransfer(
            rs.RequestTransferRequest(
                transfer=transfer_pb2.Transfer(
                    employee=people["bea"], to_org_unit=units["a"], effective_date=_today(), reason="x"
                )
            )
        )
        await roster.ExecuteTransfer(rs.ExecuteTransferRequest(name=transfer.name))
        mirror.start(wait=False)
        await _drained(nats_server.url, "authority-mirror")
        await lead_channel.close()

        engine = create_engine(second_database_url)
        moments = [datetime.now(UTC), datetime.now(UTC) + timedelta(days=25)]
        checked = 0
        with engine.connect() as connection:
            local = LocalAuthority()
            for actor, target, days, moment in itertools.product(
                ("manager", "lead", "ana"), [*people.values(), *units.values()], (1, 3, 5), moments
            ):
                request = rs.AuthorizeRequest(
                    actor=people[actor],
                    action=grant_pb2.ACTION_APPROVE_LEAVE,
                    target=target,
                    amount=grant_pb2.Amount(days=days),
                )
                request.time.FromDatetime(moment)
                theirs = await roster.Authorize(request)
                ours = local.authorize(
                    connection,
                    actor=people[actor],
                    action=Action.APPROVE_LEAVE,
                    target=target,
                    amount=Amount(days=days),
                    moment=moment,
                )
                assert ours is not None, target
                assert (ours.allowed, ours.outcome.value) == (theirs.allowed, theirs.outcome), (
                    actor,
                    target,
                    days,
                    moment,
                )
                assert [f"grants/{g.id}" for g in ours.chain] == list(theirs.grant_chain)
                checked += 1
        engine.dispose()
        assert checked == 3 * 8 * 3 * 2
        assert delegated.name
    finally:
        await channel.close()
        mirror.kill()
