"""A decision another service takes under a roster grant reaches the grantor's review."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from google.type import date_pb2

from cadre.authority import usage
from cadre.authority.policy import Action, Amount, Decision, Grant, Limits, Outcome
from cadre.chassis.server import ServiceHost
from cadre.chassis.settings import ServiceSettings
from cadre.cli import testing
from cadre.cli.processes import NatsServer
from cadre.roster.main import build
from cadre.roster.settings import RosterSettings
from cadre.roster.v1 import employee_pb2, grant_pb2, org_unit_pb2
from cadre.roster.v1 import roster_service_pb2 as rs
from cadre.roster.v1 import roster_service_pb2_grpc as rg


class ProbeSettings(ServiceSettings):
    service_name: ClassVar[str] = "probe"
    default_grpc_port: ClassVar[int] = 0


async def test_reported_decisions_show_up_in_list_grant_uses(
    database_url: str, second_database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    roster = build(
        testing.host_settings(
            RosterSettings,
            database_url=database_url,
            nats=nats_server,
            data_dir=tmp_path,
            authority_report_streams=("CADRE_PROBE",),
        )
    )
    probe = ServiceHost(
        testing.host_settings(
            ProbeSettings, database_url=second_database_url, nats=nats_server, data_dir=tmp_path
        )
    )
    probe.migrate(tmp_path / "no-migrations")
    # The probe's stream does not exist yet when roster starts: roster waits for it.
    async with testing.serving(roster), testing.channel(f"127.0.0.1:{roster.bound_port}") as channel:
        admin = rg.RosterServiceStub(channel)
        Unit, E = org_unit_pb2.OrgUnit, employee_pb2.Employee
        parent = ""
        for kind in (Unit.KIND_CENTER, Unit.KIND_DEPARTMENT, Unit.KIND_TEAM):
            parent = (
                await admin.CreateOrgUnit(
                    rs.CreateOrgUnitRequest(
                        org_unit=Unit(display_name="U", kind=kind, parent=parent, time_zone="UTC")
                    )
                )
            ).name
        lead = (
            await admin.HireEmployee(
                rs.HireEmployeeRequest(
                    employee=E(
                        display_name="Lea",
                        org_unit=parent,
                        role=E.ROLE_TEAM_LEADER,
                        employment_type=E.EMPLOYMENT_TYPE_FULL_TIME,
                        hire_date=date_pb2.Date(year=2026, month=1, day=5),
                    )
                )
            )
        ).name
        grant = await admin.CreateGrant(
            rs.CreateGrantRequest(
                grant=grant_pb2.Grant(
                    grantee=lead,
                    action=grant_pb2.ACTION_APPROVE_LEAVE,
                    scope=parent,
                    limits=grant_pb2.Limits(max_days=5),
                    reason="leave in my team",
                )
            )
        )
        async with testing.serving(probe):
            deciding = Grant(
                grant.name.removeprefix("grants/"),
                lead,
                Action.APPROVE_LEAVE,
                (),
                Limits(),
                datetime.now(UTC),
                None,
                None,
                1,
                "",
                "",
            )

            def decide() -> None:
                with probe.db.transaction() as unit:
                    usage.record_use(
                        unit,
                        decision=Decision(Outcome.ALLOWED_BY_GRANT, (deciding,)),
                        actor=lead,
                        action=Action.APPROVE_LEAVE,
                        target=lead,
                        amount=Amount(days=2),
                        decision_name="leaveRequests/42",
                        decided_at=datetime.now(UTC),
                    )
                    # A denied decision used no authority: nothing to report.
                    usage.record_use(
                        unit,
                        decision=replace(Decision(Outcome.OVER_LIMIT)),
                        actor=lead,
                        action=Action.APPROVE_LEAVE,
                        target=lead,
                        amount=Amount(days=9),
                        decision_name="leaveRequests/43",
                        decided_at=datetime.now(UTC),
                    )

            await probe.db.run(decide)
            deadline = time.monotonic() + 30
            while True:
                uses = await admin.ListGrantUses(rs.ListGrantUsesRequest(grant=grant.name))
                if uses.audit_records or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
    assert [(u.action, u.entity, u.actor) for u in uses.audit_records] == [
        ("cadre.probe.v1.authority.exercised", "leaveRequests/42", lead)
    ]
    assert uses.audit_records[0].after["amount"]["days"] == 2
