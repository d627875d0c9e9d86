"""Transfers, delegated authority and scope, over gRPC as the people involved would act."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import nats
import pytest
from google.protobuf import field_mask_pb2
from google.type import date_pb2

from cadre.chassis.events import parse_envelope, unpack_payload
from cadre.chassis.grpc_errors import error_info
from cadre.cli import testing
from cadre.cli.processes import NatsServer
from cadre.roster.main import build
from cadre.roster.settings import RosterSettings
from cadre.roster.v1 import employee_pb2, grant_pb2, org_unit_pb2, transfer_pb2
from cadre.roster.v1 import roster_service_pb2 as rs
from cadre.roster.v1 import roster_service_pb2_grpc as rg

OrgUnit, Employee, Grant = org_unit_pb2.OrgUnit, employee_pb2.Employee, grant_pb2.Grant


def day(offset: int = 0) -> date_pb2.Date:
    # Teams sit in UTC here, so "today" is the UTC date.
    d = datetime.now(UTC).date() + timedelta(days=offset)
    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


@dataclass
class Center:
    address: str
    nats_url: str
    units: dict[str, str]
    people: dict[str, str]
    grants: dict[str, str]
    channels: dict[str, grpc.aio.Channel]

    def as_(self, who: str) -> rg.RosterServiceStub:
        if who not in self.channels:
            subject = "system:admin" if who == "admin" else self.people[who]
            self.channels[who] = testing.channel(self.address, subject)
        return rg.RosterServiceStub(self.channels[who])


async def _unit(stub, name, kind, parent="") -> str:
    unit = await stub.CreateOrgUnit(
        rs.CreateOrgUnitRequest(
            org_unit=OrgUnit(display_name=name, kind=kind, parent=parent, time_zone="UTC")
        )
    )
    return unit.name


async def _hire(stub, team, name, role) -> str:
    employee = await stub.HireEmployee(
        rs.HireEmployeeRequest(
            employee=Employee(
                display_name=name,
                org_unit=team,
                role=role,
                employment_type=Employee.EMPLOYMENT_TYPE_FULL_TIME,
                hire_date=day(-100),
            )
        )
    )
    return employee.name


async def _grant(stub, grantee, action, scope, reason, *, days=None, parent="", until=None) -> str:
    limits = grant_pb2.Limits()
    if days is not None:
        limits.max_days = days
    grant = Grant(
        grantee=grantee, action=action, scope=scope, limits=limits, reason=reason, parent_grant=parent
    )
    if until is not None:
        grant.valid_until.FromDatetime(until)
    return (await stub.CreateGrant(rs.CreateGrantRequest(grant=grant))).name


@pytest.fixture
async def center(database_url: str, nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[Center]:
    settings = testing.host_settings(
        RosterSettings,
        database_url=database_url,
        nats=nats_server,
        data_dir=tmp_path,
        transfer_check_seconds=0.2,
    )
    host = build(settings)
    async with testing.serving(host):
        address = f"127.0.0.1:{host.bound_port}"
        channels = {"admin": testing.channel(address)}
        admin = rg.RosterServiceStub(channels["admin"])
        c = await _unit(admin, "Center", OrgUnit.KIND_CENTER)
        d = await _unit(admin, "Billing", OrgUnit.KIND_DEPARTMENT, c)
        a = await _unit(admin, "Billing A", OrgUnit.KIND_TEAM, d)
        b = await _unit(admin, "Billing B", OrgUnit.KIND_TEAM, d)
        people = {
            "manager": await _hire(admin, a, "Marta", Employee.ROLE_MANAGER),
            "lead": await _hire(admin, a, "Lea", Employee.ROLE_TEAM_LEADER),
            "hr": await _hire(admin, b, "Hugo", Employee.ROLE_HR_SPECIALIST),
            "agent_a": await _hire(admin, a, "Ana", Employee.ROLE_AGENT),
            "agent_b": await _hire(admin, b, "Bea", Employee.ROLE_AGENT),
        }
        grants = {
            "leave": await _grant(
                admin, people["manager"], grant_pb2.ACTION_APPROVE_LEAVE, d, "department leave", days=10
            ),
            "transfers": await _grant(
                admin, people["manager"], grant_pb2.ACTION_APPROVE_TRANSFER, d, "moves"
            ),
            "hr": await _grant(
                admin, people["hr"], grant_pb2.ACTION_EXECUTE_TRANSFER, c, "HR executes moves"
            ),
        }
        channels["manager"] = testing.channel(address, people["manager"])
        manager = rg.RosterServiceStub(channels["manager"])
        grants["lead_leave"] = await _grant(
            manager,
            people["lead"],
            grant_pb2.ACTION_APPROVE_LEAVE,
            a,
            "cover while I travel",
            days=3,
            parent=grants["leave"],
            until=datetime.now(UTC) + timedelta(days=30),
        )
        yield Center(
            address, nats_server.url, {"center": c, "dept": d, "a": a, "b": b}, people, grants, channels
        )
        for channel in channels.values():
            await channel.close()


async def _refused(call, code: grpc.StatusCode, reason: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    assert raised.value.code() == code, raised.value.details()
    info, _ = error_info(raised.value)
    assert info is not None and info.reason == reason, info


def _ask(
    center: Center, actor: str, target: str, days: int, at: datetime | None = None
) -> rs.AuthorizeRequest:
    request = rs.AuthorizeRequest(
        actor=center.people[actor],
        action=grant_pb2.ACTION_APPROVE_LEAVE,
        target=target,
        amount=grant_pb2.Amount(days=days),
    )
    if at is not None:
        request.time.FromDatetime(at)
    return request


async def test_a_team_leader_approves_leave_only_inside_subtree_and_limits(center: Center) -> None:
    admin = center.as_("admin")
    inside = await admin.Authorize(_ask(center, "lead", center.people["agent_a"], 2))
    assert inside.allowed and list(inside.grant_chain) == [
        center.grants["leave"],
        center.grants["lead_leave"],
    ]
    assert (
        await admin.Authorize(_ask(center, "lead", center.people["agent_b"], 1))
    ).outcome == "OUT_OF_SCOPE"
    assert (await admin.Authorize(_ask(center, "lead", center.people["agent_a"], 4))).outcome == "OVER_LIMIT"
    later = datetime.now(UTC) + timedelta(days=31)
    assert not (await admin.Authorize(_ask(center, "lead", center.people["agent_a"], 1, later))).allowed
    # Anyone may ask about their own authority, nobody else's.
    own = await center.as_("lead").Authorize(_ask(center, "lead", center.people["agent_a"], 1))
    assert own.allowed
    await _refused(
        center.as_("lead").Authorize(_ask(center, "manager", center.people["agent_a"], 1)),
        grpc.StatusCode.PERMISSION_DENIED,
        "OTHERS_DECISIONS",
    )


async def test_a_grant_beyond_the_grantors_own_limits_is_refused(center: Center) -> None:
    manager = center.as_("manager")
    await _refused(
        manager.CreateGrant(
            rs.CreateGrantRequest(
                grant=Grant(
                    grantee=center.people["lead"],
                    action=grant_pb2.ACTION_APPROVE_LEAVE,
                    scope=center.units["a"],
                    limits=grant_pb2.Limits(max_days=20),
                    reason="more",
                    parent_grant=center.grants["leave"],
                )
            )
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "LIMITS_BEYOND_PARENT",
    )
    await _refused(
        manager.CreateGrant(
            rs.CreateGrantRequest(
                grant=Grant(
                    grantee=center.people["lead"],
                    action=grant_pb2.ACTION_APPROVE_LEAVE,
                    scope=center.units["center"],
                    limits=grant_pb2.Limits(max_days=1),
                    reason="wider",
                    parent_grant=center.grants["leave"],
                )
            )
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "SCOPE_BEYOND_PARENT",
    )
    await _refused(
        center.as_("lead").CreateGrant(
            rs.CreateGrantRequest(
                grant=Grant(
                    grantee=center.people["agent_a"],
                    action=grant_pb2.ACTION_APPROVE_LEAVE,
                    scope=center.units["a"],
                    reason="root",
                    limits=grant_pb2.Limits(max_days=1),
                )
            )
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "ROOT_GRANT_NEEDS_ADMINISTRATOR",
    )


async def test_revoking_a_grant_revokes_what_was_delegated_from_it(center: Center) -> None:
    admin = center.as_("admin")
    revoked = await admin.RevokeGrant(rs.RevokeGrantRequest(name=center.grants["leave"]))
    assert revoked.HasField("revoke_time")
    delegated = await admin.GetGrant(rs.GetGrantRequest(name=center.grants["lead_leave"]))
    assert delegated.HasField("revoke_time")
    assert not (await admin.Authorize(_ask(center, "lead", center.people["agent_a"], 1))).allowed
    await _refused(
        admin.RevokeGrant(rs.RevokeGrantRequest(name=center.grants["leave"])),
        grpc.StatusCode.FAILED_PRECONDITION,
        "ALREADY_REVOKED",
    )
    records = await admin.ListAuditRecords(rs.ListAuditRecordsRequest(entity=center.grants["lead_leave"]))
    assert [r.action for r in records.audit_records] == [
        "cadre.roster.v1.grant.created",
        "cadre.roster.v1.grant.revoked",
    ]


async def test_a_team_leader_sees_only_their_subtree_and_unknown_ids_look_the_same(center: Center) -> None:
    lead = center.as_("lead")
    visible = await lead.ListEmployees(rs.ListEmployeesRequest())
    assert {e.name for e in visible.employees} == {center.people[p] for p in ("manager", "lead", "agent_a")}
    await _refused(
        lead.GetEmployee(rs.GetEmployeeRequest(name=center.people["agent_b"])),
        grpc.StatusCode.PERMISSION_DENIED,
        "OUT_OF_SCOPE",
    )
    await _refused(
        lead.GetEmployee(rs.GetEmployeeRequest(name="employees/00000000-0000-4000-8000-000000000000")),
        grpc.StatusCode.PERMISSION_DENIED,
        "OUT_OF_SCOPE",
    )
    await _refused(
        lead.ListEmployees(rs.ListEmployeesRequest(org_unit=center.units["b"])),
        grpc.StatusCode.PERMISSION_DENIED,
        "OUT_OF_SCOPE",
    )
    await _refused(
        lead.RequestTransfer(
            rs.RequestTransferRequest(
                transfer=transfer_pb2.Transfer(
                    employee=center.people["agent_a"],
                    to_org_unit=center.units["b"],
                    effective_date=day(),
                    reason="x",
                )
            )
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "NO_GRANT",
    )


async def _transferred_events(nats_url: str) -> list[str]:
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    info = await js.stream_info("CADRE_ROSTER")
    found = []
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        message = await js.get_msg("CADRE_ROSTER", sequence)
        if message.subject == "cadre.roster.v1.employee.transferred":
            found.append(unpack_payload(parse_envelope(message.data)).employee)  # type: ignore[attr-defined]
    await connection.close()
    return found


async def test_transfer_requested_executed_and_in_effect_on_its_date_publishes_once(center: Center) -> None:
    manager, hr, admin = center.as_("manager"), center.as_("hr"), center.as_("admin")
    ana, bea = center.people["agent_a"], center.people["agent_b"]
    now = await manager.RequestTransfer(
        rs.RequestTransferRequest(
            transfer=transfer_pb2.Transfer(
                employee=ana,
                to_org_unit=center.units["b"],
                effective_date=day(),
                reason="skills needed in B",
            )
        )
    )
    later = await manager.RequestTransfer(
        rs.RequestTransferRequest(
            transfer=transfer_pb2.Transfer(
                employee=bea,
                to_org_unit=center.units["a"],
                effective_date=day(7),
                reason="next week",
            )
        )
    )
    assert now.state == transfer_pb2.Transfer.STATE_REQUESTED
    assert (await admin.GetEmployee(rs.GetEmployeeRequest(name=ana))).org_unit == center.units["a"]
    await _refused(
        manager.ExecuteTransfer(rs.ExecuteTransferRequest(name=now.name)),
        grpc.StatusCode.PERMISSION_DENIED,
        "NO_GRANT",
    )

    executed = await hr.ExecuteTransfer(rs.ExecuteTransferRequest(name=now.name))
    assert executed.state == transfer_pb2.Transfer.STATE_COMPLETED
    scheduled = await hr.ExecuteTransfer(rs.ExecuteTransferRequest(name=later.name))
    assert scheduled.state == transfer_pb2.Transfer.STATE_SCHEDULED
    await asyncio.sleep(0.6)  # the periodic job passes; next week's transfer is not due
    assert (await admin.GetEmployee(rs.GetEmployeeRequest(name=ana))).org_unit == center.units["b"]
    assert (await admin.GetEmployee(rs.GetEmployeeRequest(name=bea))).org_unit == center.units["b"]
    assert (
        await admin.GetTransfer(rs.GetTransferRequest(name=later.name))
    ).state == transfer_pb2.Transfer.STATE_SCHEDULED
    for _ in range(50):
        if await _transferred_events(center.nats_url):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)
    assert await _transferred_events(center.nats_url) == [ana]
    audit = await admin.ListAuditRecords(rs.ListAuditRecordsRequest(entity=ana))
    assert [r.action for r in audit.audit_records] == [
        "cadre.roster.v1.employee.hired",
        "cadre.roster.v1.employee.transferred",
    ]
    moved = audit.audit_records[1]
    assert moved.before["orgUnit"] == center.units["a"] and moved.after["orgUnit"] == center.units["b"]


async def test_the_team_changes_only_by_transfer_and_stale_etags_lose(center: Center) -> None:
    admin = center.as_("admin")
    ana = await admin.GetEmployee(rs.GetEmployeeRequest(name=center.people["agent_a"]))
    moved = Employee(name=ana.name, org_unit=center.units["b"], etag=ana.etag)
    await _refused(
        admin.UpdateEmployee(
            rs.UpdateEmployeeRequest(employee=moved, update_mask=field_mask_pb2.FieldMask(paths=["org_unit"]))
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "TEAM_CHANGES_BY_TRANSFER",
    )
    renamed = Employee()
    renamed.CopyFrom(ana)
    renamed.display_name = "Ana Maria"
    mask = field_mask_pb2.FieldMask(paths=["display_name"])
    results = await asyncio.gather(
        *(
            admin.UpdateEmployee(rs.UpdateEmployeeRequest(employee=renamed, update_mask=mask))
            for _ in range(5)
        ),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, Employee)]
    losers = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(winners) == 1 and winners[0].display_name == "Ana Maria"
    assert len(losers) == 4 and all(e.code() == grpc.StatusCode.ABORTED for e in losers)


async def test_a_termination_announced_ahead_waits_for_its_date(center: Center) -> None:
    admin = center.as_("admin")
    bea = center.people["agent_b"]
    announced = await admin.TerminateEmployee(
        rs.TerminateEmployeeRequest(name=bea, termination_date=day(14), reason="moving abroad")
    )
    assert announced.state == Employee.STATE_ACTIVE
    assert announced.scheduled_change.state == Employee.STATE_TERMINATED
    await asyncio.sleep(0.5)  # the periodic job passes; the date is two weeks away
    assert (await admin.GetEmployee(rs.GetEmployeeRequest(name=bea))).state == Employee.STATE_ACTIVE
    await _refused(
        admin.StartLeave(rs.StartLeaveRequest(name=bea, start_date=day(3), reason="holiday")),
        grpc.StatusCode.FAILED_PRECONDITION,
        "CHANGE_ALREADY_SCHEDULED",
    )


async def test_a_terminated_person_cannot_be_transferred(center: Center) -> None:
    admin = center.as_("admin")
    ana = center.people["agent_a"]
    terminated = await admin.TerminateEmployee(
        rs.TerminateEmployeeRequest(name=ana, termination_date=day(), reason="resigned")
    )
    assert terminated.state == Employee.STATE_TERMINATED
    await _refused(
        center.as_("manager").RequestTransfer(
            rs.RequestTransferRequest(
                transfer=transfer_pb2.Transfer(
                    employee=ana,
                    to_org_unit=center.units["b"],
                    effective_date=day(),
                    reason="too late",
                )
            )
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        "EMPLOYEE_TERMINATED",
    )


async def test_units_are_renamed_and_moved_with_their_subtree_and_history(center: Center) -> None:
    admin = center.as_("admin")
    team_a = await admin.GetOrgUnit(rs.GetOrgUnitRequest(name=center.units["a"]))
    renamed = OrgUnit(name=team_a.name, display_name="Billing Alpha", etag=team_a.etag)
    mask = field_mask_pb2.FieldMask(paths=["display_name"])
    updated = await admin.UpdateOrgUnit(rs.UpdateOrgUnitRequest(org_unit=renamed, update_mask=mask))
    assert updated.display_name == "Billing Alpha"
    await _refused(
        admin.UpdateOrgUnit(rs.UpdateOrgUnitRequest(org_unit=renamed, update_mask=mask)),
        grpc.StatusCode.ABORTED,
        "ETAG_MISMATCH",
    )
    sales = await _unit(admin, "Sales", OrgUnit.KIND_DEPARTMENT, center.units["center"])
    await _refused(
        center.as_("manager").MoveOrgUnit(rs.MoveOrgUnitRequest(name=team_a.name, new_parent=sales)),
        grpc.StatusCode.PERMISSION_DENIED,
        "NO_GRANT",
    )
    await _refused(
        admin.MoveOrgUnit(rs.MoveOrgUnitRequest(name=center.units["dept"], new_parent=team_a.name)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "WRONG_PARENT_KIND",
    )
    moved = await admin.MoveOrgUnit(rs.MoveOrgUnitRequest(name=team_a.name, new_parent=sales))
    assert list(moved.path) == [center.units["center"], sales, team_a.name]
    # The lead's grant was scoped to team A: it follows the team; the department manager's does not.
    lead_in_a = await admin.Authorize(_ask(center, "lead", center.people["agent_a"], 1))
    assert (
        lead_in_a.allowed is False and lead_in_a.outcome == "NO_GRANT"
    )  # its parent grant no longer covers A
    manager = await admin.Authorize(_ask(center, "manager", center.people["agent_a"], 1))
    assert manager.outcome == "OUT_OF_SCOPE"
    history = await admin.ListAuditRecords(rs.ListAuditRecordsRequest(entity=team_a.name))
    assert [r.action.rsplit(".", 1)[-1] for r in history.audit_records] == ["created", "updated", "moved"]


async def test_onboarding_checklist_then_active_with_an_event(center: Center) -> None:
    admin = center.as_("admin")
    hired = await admin.HireEmployee(
        rs.HireEmployeeRequest(
            employee=Employee(
                display_name="Olga",
                org_unit=center.units["a"],
                role=Employee.ROLE_AGENT,
                employment_type=Employee.EMPLOYMENT_TYPE_PART_TIME,
                hire_date=day(),
                onboarding_tasks=[
                    employee_pb2.OnboardingTask(task="contract signed"),
                    employee_pb2.OnboardingTask(task="headset"),
                ],
            )
        )
    )
    assert hired.state == Employee.STATE_ONBOARDING
    first = await admin.CompleteOnboardingTask(
        rs.CompleteOnboardingTaskRequest(name=hired.name, task="headset")
    )
    assert first.state == Employee.STATE_ONBOARDING
    done = await admin.CompleteOnboardingTask(
        rs.CompleteOnboardingTaskRequest(name=hired.name, task="contract signed")
    )
    assert done.state == Employee.STATE_ACTIVE and all(t.done for t in done.onboarding_tasks)
    later = await admin.HireEmployee(
        rs.HireEmployeeRequest(
            employee=Employee(
                display_name="Pia",
                org_unit=center.units["a"],
                role=Employee.ROLE_AGENT,
                employment_type=Employee.EMPLOYMENT_TYPE_PART_TIME,
                hire_date=day(3),
            )
        )
    )
    assert later.state == Employee.STATE_ONBOARDING
    await asyncio.sleep(0.5)  # the periodic job leaves a hire dated in three days alone
    assert (
        await admin.GetEmployee(rs.GetEmployeeRequest(name=later.name))
    ).state == Employee.STATE_ONBOARDING
    audit = await admin.ListAuditRecords(rs.ListAuditRecordsRequest(entity=hired.name))
    assert [r.action.rsplit(".", 1)[-1] for r in audit.audit_records] == ["hired", "updated", "state_changed"]


async def test_a_grantor_reviews_how_delegated_authority_was_used(center: Center) -> None:
    admin = center.as_("admin")
    grant = await _grant(
        admin, center.people["lead"], grant_pb2.ACTION_MANAGE_EMPLOYEES, center.units["a"], "hiring season"
    )
    lead = center.as_("lead")
    hired = await _hire(lead, center.units["a"], "Nina", Employee.ROLE_AGENT)
    uses = await admin.ListGrantUses(rs.ListGrantUsesRequest(grant=grant))
    assert [(u.action, u.entity, u.actor) for u in uses.audit_records] == [
        ("cadre.roster.v1.employee.hired", hired, center.people["lead"])
    ]
    await _refused(
        center.as_("agent_b").ListGrantUses(rs.ListGrantUsesRequest(grant=grant)),
        grpc.StatusCode.PERMISSION_DENIED,
        "OUT_OF_SCOPE",
    )
