"""Leave, shift templates, scope and attendance through SchedulingService, with the people
coming from a real roster service over the event bus (both in-process, one NATS server, two
databases)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
from google.protobuf import field_mask_pb2, timestamp_pb2
from google.type import date_pb2

from cadre.chassis.events import build_event, parse_envelope, unpack_payload
from cadre.chassis.grpc_errors import error_info
from cadre.cli import testing
from cadre.cli.processes import NatsServer
from cadre.events.v1 import authority_exercised_pb2
from cadre.roster.main import build as build_roster
from cadre.roster.settings import RosterSettings
from cadre.roster.v1 import employee_pb2, grant_pb2, org_unit_pb2
from cadre.roster.v1 import roster_service_pb2 as rs
from cadre.roster.v1 import roster_service_pb2_grpc as rg
from cadre.scheduling.main import AGENT_STATES_SUBJECT
from cadre.scheduling.main import build as build_scheduling
from cadre.scheduling.settings import SchedulingSettings
from cadre.scheduling.v1 import (
    adherence_pb2,
    events_pb2,
    leave_pb2,
    scheduling_service_pb2,
    scheduling_service_pb2_grpc,
    shift_template_pb2,
)

pb = scheduling_service_pb2
OrgUnit, Employee = org_unit_pb2.OrgUnit, employee_pb2.Employee
STREAM = "CADRE_SCHEDULING"
TZ = "Europe/Berlin"


def _day(offset: int) -> date_pb2.Date:
    d = datetime.now(UTC).date() + timedelta(days=offset)
    return date_pb2.Date(year=d.year, month=d.month, day=d.day)


def _ts(moment: datetime) -> timestamp_pb2.Timestamp:
    value = timestamp_pb2.Timestamp()
    value.FromDatetime(moment)
    return value


@dataclass
class Platform:
    roster_address: str
    scheduling_address: str
    nats_url: str
    units: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def roster(self, who: str = "admin") -> rg.RosterServiceStub:
        channel = testing.channel(self.roster_address, "system:admin" if who == "admin" else self.people[who])
        self.channels.append(channel)
        return rg.RosterServiceStub(channel)

    def scheduling(self, who: str = "admin") -> scheduling_service_pb2_grpc.SchedulingServiceStub:
        subject = "system:admin" if who == "admin" else self.people[who]
        channel = testing.channel(self.scheduling_address, subject)
        self.channels.append(channel)
        return scheduling_service_pb2_grpc.SchedulingServiceStub(channel)


async def _caught_up(
    nats_url: str, stream: str, durable: str, *, at_least: int = 1, timeout: float = 20.0
) -> None:
    """Waits until the stream holds `at_least` messages (the producer's relay runs on its own
    time) and the durable consumer has acknowledged every one meant for it."""
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                info = await js.consumer_info(stream, durable)
                last = (await js.stream_info(stream)).state.last_seq
                if last >= at_least and not info.num_pending and not info.num_ack_pending:
                    return
            except Exception:
                pass
            assert time.monotonic() < deadline, f"{durable} did not catch up with {stream}"
            await asyncio.sleep(0.05)
    finally:
        await connection.close()


async def _published(nats_url: str, subject: str, *, at_least: int = 1, timeout: float = 10.0) -> list[Any]:
    """Every payload on the scheduling stream under `subject`, once at least `at_least` are there."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        deadline = time.monotonic() + timeout
        while True:
            payloads = []
            try:
                subscription = await js.subscribe(subject, stream=STREAM, ordered_consumer=True)
                while True:
                    try:
                        message = await subscription.next_msg(timeout=0.3)
                    except nats.errors.TimeoutError:
                        break
                    payloads.append(unpack_payload(parse_envelope(message.data)))
                await subscription.unsubscribe()
            except nats.js.errors.NotFoundError:
                pass
            if len(payloads) >= at_least or time.monotonic() > deadline:
                return payloads
            await asyncio.sleep(0.2)
    finally:
        await connection.close()


def _expect(error: grpc.aio.AioRpcError, code: grpc.StatusCode, reason: str) -> None:
    assert error.code() == code, error.details()
    info, _ = error_info(error)
    assert info is not None and info.reason == reason, (info, error.details())


@pytest.fixture
async def platform(
    database_url: str, second_database_url: str, nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[Platform]:
    roster_host = build_roster(
        testing.host_settings(
            RosterSettings, database_url=second_database_url, nats=nats_server, data_dir=tmp_path
        )
    )
    scheduling_host = build_scheduling(
        testing.host_settings(
            SchedulingSettings, database_url=database_url, nats=nats_server, data_dir=tmp_path
        )
    )
    async with testing.serving(roster_host), testing.serving(scheduling_host):
        p = Platform(
            f"127.0.0.1:{roster_host.bound_port}", f"127.0.0.1:{scheduling_host.bound_port}", nats_server.url
        )
        admin = p.roster()
        for key, kind, parent in (
            ("center", OrgUnit.KIND_CENTER, ""),
            ("dept", OrgUnit.KIND_DEPARTMENT, "center"),
            ("a", OrgUnit.KIND_TEAM, "dept"),
            ("b", OrgUnit.KIND_TEAM, "dept"),
        ):
            p.units[key] = (
                await admin.CreateOrgUnit(
                    rs.CreateOrgUnitRequest(
                        org_unit=OrgUnit(
                            display_name=key, kind=kind, parent=p.units.get(parent, ""), time_zone=TZ
                        )
                    )
                )
            ).name
        for key, team, role in (
            ("lead_a", "a", Employee.ROLE_TEAM_LEADER),
            ("lead_b", "b", Employee.ROLE_TEAM_LEADER),
            ("hr", "b", Employee.ROLE_HR_SPECIALIST),
            ("ana", "a", Employee.ROLE_AGENT),
            ("ben", "a", Employee.ROLE_AGENT),
            ("bea", "b", Employee.ROLE_AGENT),
        ):
            p.people[key] = (
                await admin.HireEmployee(
                    rs.HireEmployeeRequest(
                        employee=Employee(
                            display_name=key,
                            org_unit=p.units[team],
                            role=role,
                            employment_type=Employee.EMPLOYMENT_TYPE_FULL_TIME,
                            hire_date=_day(-100),
                            contract=employee_pb2.Contract(
                                min_weekly_minutes=0,
                                max_weekly_minutes=2400,
                                min_rest_minutes=660,
                                max_consecutive_days=6,
                                days_off_per_week=2,
                            ),
                        )
                    )
                )
            ).name
        for who, action, scope, days in (
            ("lead_a", grant_pb2.ACTION_APPROVE_LEAVE, "a", 2),
            ("lead_a", grant_pb2.ACTION_PUBLISH_SCHEDULE, "a", None),
            ("lead_b", grant_pb2.ACTION_APPROVE_LEAVE, "b", 10),
        ):
            limits = grant_pb2.Limits()
            if days is not None:
                limits.max_days = days
            await admin.CreateGrant(
                rs.CreateGrantRequest(
                    grant=grant_pb2.Grant(
                        grantee=p.people[who],
                        action=action,
                        scope=p.units[scope],
                        limits=limits,
                        reason="team",
                    )
                )
            )
        # 4 units, 6 hires and 3 grants at least.
        await _caught_up(nats_server.url, "CADRE_ROSTER", "scheduling-roster", at_least=13)
        try:
            yield p
        finally:
            for channel in p.channels:
                await channel.close()


def _leave(days: int, *, offset_days: int = 10, leave_type: str = "annual") -> leave_pb2.LeaveRequest:
    start = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0) + timedelta(days=offset_days)
    return leave_pb2.LeaveRequest(
        leave_type=leave_type, start_time=_ts(start), end_time=_ts(start + timedelta(days=days - 1, hours=8))
    )


async def test_leave_beyond_the_grant_is_denied_and_within_it_approved_once(platform: Platform) -> None:
    p = platform
    ana, lead = p.scheduling("ana"), p.scheduling("lead_a")
    balance = await p.scheduling("hr").UpdateLeaveBalance(
        pb.UpdateLeaveBalanceRequest(
            leave_balance=leave_pb2.LeaveBalance(
                name=f"{p.people['ana']}/leaveBalances/annual", remaining_minutes=2400
            )
        )
    )
    assert balance.remaining_minutes == 2400

    three_days = await ana.CreateLeaveRequest(
        pb.CreateLeaveRequestRequest(parent=p.people["ana"], leave_request=_leave(3))
    )
    # No published schedule covers the days, so no rule approves it: a person decides.
    assert three_days.state == leave_pb2.LeaveRequest.STATE_PENDING and three_days.days == 3
    assert three_days.minutes == 3 * 480
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await lead.ApproveLeaveRequest(pb.ApproveLeaveRequestRequest(name=three_days.name))
    _expect(denied.value, grpc.StatusCode.PERMISSION_DENIED, "OVER_LIMIT")
    with pytest.raises(grpc.aio.AioRpcError) as own:
        await ana.ApproveLeaveRequest(pb.ApproveLeaveRequestRequest(name=three_days.name))
    _expect(own.value, grpc.StatusCode.PERMISSION_DENIED, "SELF_APPROVAL")
    still = await lead.GetLeaveRequest(pb.GetLeaveRequestRequest(name=three_days.name))
    assert still.state == leave_pb2.LeaveRequest.STATE_PENDING

    two_days = await ana.CreateLeaveRequest(
        pb.CreateLeaveRequestRequest(parent=p.people["ana"], leave_request=_leave(2, offset_days=20))
    )
    approve = pb.ApproveLeaveRequestRequest(
        name=two_days.name, etag=two_days.etag, request_id=str(uuid.uuid4())
    )
    first, retried = await asyncio.gather(
        lead.ApproveLeaveRequest(approve), lead.ApproveLeaveRequest(approve)
    )
    assert first == retried and first.state == leave_pb2.LeaveRequest.STATE_APPROVED
    assert first.decided_by == p.people["lead_a"]
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await lead.ApproveLeaveRequest(pb.ApproveLeaveRequestRequest(name=two_days.name))
    _expect(again.value, grpc.StatusCode.FAILED_PRECONDITION, "LEAVE_NOT_PENDING")
    left = await ana.GetLeaveBalance(
        pb.GetLeaveBalanceRequest(name=f"{p.people['ana']}/leaveBalances/annual")
    )
    assert left.remaining_minutes == 2400 - 2 * 480

    approved = await _published(p.nats_url, "cadre.scheduling.v1.leave.approved")
    assert [e.leave_request for e in approved] == [two_days.name]
    assert approved[0].employee == p.people["ana"] and approved[0].paid
    assert [d.minutes for d in approved[0].days] == [480, 480]
    uses = await _published(p.nats_url, "cadre.scheduling.v1.authority.exercised")
    assert len(uses) == 1 and isinstance(uses[0], authority_exercised_pb2.AuthorityExercisedEvent)
    assert (
        uses[0].actor == p.people["lead_a"] and uses[0].decision == two_days.name and uses[0].amount.days == 2
    )

    cancelled = await ana.CancelLeaveRequest(pb.CancelLeaveRequestRequest(name=two_days.name))
    assert cancelled.state == leave_pb2.LeaveRequest.STATE_CANCELLED
    restored = await ana.GetLeaveBalance(
        pb.GetLeaveBalanceRequest(name=f"{p.people['ana']}/leaveBalances/annual")
    )
    assert restored.remaining_minutes == 2400
    assert [e.leave_request for e in await _published(p.nats_url, "cadre.scheduling.v1.leave.cancelled")] == [
        two_days.name
    ]


async def test_a_team_leader_cannot_see_or_act_on_another_team(platform: Platform) -> None:
    p = platform
    lead_a, lead_b = p.scheduling("lead_a"), p.scheduling("lead_b")
    template = shift_template_pb2.ShiftTemplate(
        display_name="Early 8h",
        earliest_start_minute=6 * 60,
        latest_start_minute=9 * 60,
        start_step_minutes=30,
        length_minutes=8 * 60 + 30,
        breaks=[
            shift_template_pb2.BreakRule(
                kind=shift_template_pb2.BREAK_KIND_LUNCH,
                length_minutes=30,
                earliest_offset_minutes=180,
                latest_offset_minutes=300,
                paid=False,
            )
        ],
    )
    created = await lead_a.CreateShiftTemplate(
        pb.CreateShiftTemplateRequest(parent=p.units["a"], shift_template=template)
    )
    assert created.name.startswith(f"{p.units['a']}/shiftTemplates/")
    renamed = await lead_a.UpdateShiftTemplate(
        pb.UpdateShiftTemplateRequest(
            shift_template=shift_template_pb2.ShiftTemplate(
                name=created.name, display_name="Early", etag=created.etag
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        )
    )
    assert renamed.display_name == "Early" and renamed.length_minutes == 510 and renamed.etag != created.etag
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await lead_a.UpdateShiftTemplate(
            pb.UpdateShiftTemplateRequest(
                shift_template=shift_template_pb2.ShiftTemplate(
                    name=created.name, display_name="Late", etag=created.etag
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
            )
        )
    _expect(stale.value, grpc.StatusCode.ABORTED, "ETAG_MISMATCH")

    leave = await p.scheduling("ana").CreateLeaveRequest(
        pb.CreateLeaveRequestRequest(parent=p.people["ana"], leave_request=_leave(1))
    )
    missing_template = f"{p.units['a']}/shiftTemplates/{uuid.uuid4()}"
    missing_schedule = f"{p.units['a']}/schedules/{uuid.uuid4()}"
    missing_leave = f"{p.people['ana']}/leaveRequests/{uuid.uuid4()}"
    calls = [
        lead_b.GetShiftTemplate(pb.GetShiftTemplateRequest(name=created.name)),
        lead_b.GetShiftTemplate(pb.GetShiftTemplateRequest(name=missing_template)),
        lead_b.ListShiftTemplates(pb.ListShiftTemplatesRequest(parent=p.units["a"])),
        lead_b.CreateShiftTemplate(
            pb.CreateShiftTemplateRequest(parent=p.units["a"], shift_template=template)
        ),
        lead_b.GetSchedule(pb.GetScheduleRequest(name=missing_schedule)),
        lead_b.ListSchedules(pb.ListSchedulesRequest(parent=p.units["a"])),
        lead_b.GetLeaveRequest(pb.GetLeaveRequestRequest(name=leave.name)),
        lead_b.GetLeaveRequest(pb.GetLeaveRequestRequest(name=missing_leave)),
        lead_b.ApproveLeaveRequest(pb.ApproveLeaveRequestRequest(name=leave.name)),
        lead_b.GenerateSchedule(
            pb.GenerateScheduleRequest(
                parent=p.units["a"], start_date=_day(7), days=7, queues=[f"queues/{uuid.uuid4()}"]
            )
        ),
        lead_b.ListDailyAdherence(
            pb.ListDailyAdherenceRequest(parent=p.people["ana"], start_date=_day(-1), end_date=_day(0))
        ),
        p.scheduling("bea").GetLeaveRequest(pb.GetLeaveRequestRequest(name=leave.name)),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await call
        _expect(denied.value, grpc.StatusCode.PERMISSION_DENIED, "OUT_OF_SCOPE")
    listed = await lead_b.ListLeaveRequests(pb.ListLeaveRequestsRequest(parent="employees/-"))
    assert list(listed.leave_requests) == []
    mine = await lead_a.ListLeaveRequests(pb.ListLeaveRequestsRequest(parent="employees/-"))
    assert [r.name for r in mine.leave_requests] == [leave.name]
    # The administrator may see everything, so it learns what does not exist.
    with pytest.raises(grpc.aio.AioRpcError) as absent:
        await p.scheduling().GetShiftTemplate(pb.GetShiftTemplateRequest(name=missing_template))
    _expect(absent.value, grpc.StatusCode.NOT_FOUND, "SHIFT_TEMPLATE_NOT_FOUND")


def _change(employee: str, moment: datetime, state: int) -> adherence_pb2.AgentStateChange:
    return adherence_pb2.AgentStateChange(employee=employee, state=state, time=_ts(moment))


async def test_attendance_from_agent_states_counts_once(platform: Platform) -> None:
    p = platform
    admin = p.scheduling()
    from zoneinfo import ZoneInfo

    day = datetime.now(UTC).date() - timedelta(days=2)
    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(TZ))
    at = lambda hours, minutes=0: local + timedelta(hours=hours, minutes=minutes)  # noqa: E731
    s = adherence_pb2
    day_states = [
        _change(p.people["ana"], at(8), s.AGENT_STATE_READY),
        _change(p.people["ana"], at(9), s.AGENT_STATE_ON_CONTACT),
        _change(p.people["ana"], at(10), s.AGENT_STATE_BREAK),
        _change(p.people["ana"], at(10, 15), s.AGENT_STATE_READY),
        _change(p.people["ana"], at(12), s.AGENT_STATE_LUNCH),
        _change(p.people["ana"], at(12, 30), s.AGENT_STATE_TRAINING),
        _change(p.people["ana"], at(13, 30), s.AGENT_STATE_READY),
        _change(p.people["ana"], at(16, 30), s.AGENT_STATE_OFFLINE),
    ]
    first = await admin.RecordAgentStates(pb.RecordAgentStatesRequest(changes=day_states))
    assert (first.recorded, first.duplicates) == (8, 0)
    replay = await admin.RecordAgentStates(pb.RecordAgentStatesRequest(changes=list(reversed(day_states))))
    assert (replay.recorded, replay.duplicates) == (0, 8)
    when = pb.ListDailyAdherenceRequest(parent=p.people["ana"], start_date=_day(-2), end_date=_day(-2))
    (figures,) = (await admin.ListDailyAdherence(when)).days
    assert figures.worked_minutes == 8 * 60 + 30 and figures.revision == 1
    recorded = await _published(p.nats_url, "cadre.scheduling.v1.attendance.recorded")
    assert [(e.worked_minutes, e.training_minutes, e.revision) for e in recorded] == [(510, 60, 1)]
    assert recorded[0].day_kind == events_pb2.DAY_KIND_REST_DAY and recorded[0].org_unit == p.units["a"]

    # A late state over the bus (a telephony adapter) changes the day: a new revision.
    connection = await nats.connect(p.nats_url)
    try:
        late = s.AgentStatesReportedEvent(
            changes=[
                _change(p.people["ana"], at(17), s.AGENT_STATE_ON_CONTACT),
                _change(p.people["ana"], at(17, 20), s.AGENT_STATE_OFFLINE),
            ]
        )
        event = build_event(
            source="telephony", event_type=AGENT_STATES_SUBJECT, entity=p.people["ana"], payload=late
        )
        js = connection.jetstream()
        for _ in range(2):  # sent twice, as an at-least-once adapter may
            await js.publish(AGENT_STATES_SUBJECT, event.envelope, stream=STREAM)
    finally:
        await connection.close()
    recorded = await _published(p.nats_url, "cadre.scheduling.v1.attendance.recorded", at_least=2)
    assert [(e.worked_minutes, e.revision) for e in recorded] == [(510, 1), (530, 2)]
    await _caught_up(p.nats_url, STREAM, "scheduling-agent-states")
    again = await admin.RecordAgentStates(pb.RecordAgentStatesRequest(changes=day_states))
    assert again.recorded == 0
    (figures,) = (await admin.ListDailyAdherence(when)).days
    assert (figures.worked_minutes, figures.revision) == (530, 2)
    assert len(await _published(p.nats_url, "cadre.scheduling.v1.attendance.recorded")) == 2
