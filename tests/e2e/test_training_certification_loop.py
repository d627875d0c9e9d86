"""The certification → skill loop across roster and training: a team leader enrolls an agent
under a roster grant, the trainer passes them, roster's record gains the skill; when the
certification lapses, the skill goes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import grpc
import pytest
from google.type import date_pb2

from cadre.cli import testing
from cadre.cli.processes import NatsServer, ServiceProcess
from cadre.cli.testing import service_env
from cadre.roster.main import build as build_roster
from cadre.roster.settings import RosterSettings
from cadre.roster.v1 import employee_pb2, grant_pb2, org_unit_pb2
from cadre.roster.v1 import roster_service_pb2 as rs
from cadre.roster.v1 import roster_service_pb2_grpc as rg
from cadre.training.main import build as build_training
from cadre.training.settings import TrainingSettings
from cadre.training.v1 import course_pb2, events_pb2, session_pb2
from cadre.training.v1 import training_service_pb2 as ts
from cadre.training.v1 import training_service_pb2_grpc as tg

pytestmark = pytest.mark.e2e
E, Unit = employee_pb2.Employee, org_unit_pb2.OrgUnit
T = TypeVar("T")


async def _eventually(
    attempt: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float = 40
) -> T:
    """Retries `attempt` until `done` (or the time is up), tolerating FAILED_PRECONDITION and
    PERMISSION_DENIED while the other service's facts are still on their way."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            result = await attempt()
            if done(result):
                return result
        except grpc.aio.AioRpcError as error:
            if error.code() not in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.PERMISSION_DENIED):
                raise
            if asyncio.get_running_loop().time() > deadline:
                raise
        if asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.3)


async def _org(roster: rg.RosterServiceStub) -> dict[str, str]:
    parent = ""
    path = []
    for kind in (Unit.KIND_CENTER, Unit.KIND_DEPARTMENT, Unit.KIND_TEAM):
        parent = (
            await roster.CreateOrgUnit(
                rs.CreateOrgUnitRequest(
                    org_unit=Unit(display_name="U", kind=kind, parent=parent, time_zone="UTC")
                )
            )
        ).name
        path.append(parent)
    people = {}
    for who, role in (("lead", E.ROLE_TEAM_LEADER), ("trainer", E.ROLE_TRAINER), ("agent", E.ROLE_AGENT)):
        people[who] = (
            await roster.HireEmployee(
                rs.HireEmployeeRequest(
                    employee=E(
                        display_name=who.title(),
                        org_unit=parent,
                        role=role,
                        employment_type=E.EMPLOYMENT_TYPE_FULL_TIME,
                        hire_date=date_pb2.Date(year=2026, month=1, day=5),
                    )
                )
            )
        ).name
    people["team"] = parent
    people["grant"] = (
        await roster.CreateGrant(
            rs.CreateGrantRequest(
                grant=grant_pb2.Grant(
                    grantee=people["lead"],
                    action=grant_pb2.ACTION_ENROLL_TRAINING,
                    scope=parent,
                    limits=grant_pb2.Limits(max_minutes=240),
                    reason="my team's training",
                )
            )
        )
    ).name
    return people


async def _certify(
    address: str, people: dict[str, str], *, starts_in: timedelta, validity_months: int
) -> str:
    """Course, session, enrollment by the team leader, attendance and a pass; the certification."""
    async with (
        testing.channel(address) as admin_channel,
        testing.channel(address, people["lead"]) as lead_channel,
        testing.channel(address, people["trainer"]) as trainer_channel,
    ):
        admin, lead, trainer = (
            tg.TrainingServiceStub(c) for c in (admin_channel, lead_channel, trainer_channel)
        )
        course = await admin.CreateCourse(
            ts.CreateCourseRequest(
                course=course_pb2.Course(
                    code="BILL-301",
                    title="Billing disputes",
                    skill="billing",
                    level=3,
                    duration_minutes=15,
                    pass_mark=70,
                    validity_months=validity_months,
                    delivery=course_pb2.Course.DELIVERY_VIRTUAL,
                )
            )
        )
        meeting = events_pb2.SessionMeeting()
        start = datetime.now(UTC) + starts_in
        meeting.start_time.FromDatetime(start)
        meeting.end_time.FromDatetime(start + timedelta(minutes=15))
        request = ts.CreateSessionRequest(
            parent=course.name,
            session=session_pb2.Session(
                meetings=[meeting], trainer=people["trainer"], capacity=8, virtual_link="https://meet/1"
            ),
        )
        # Training learns the trainer from roster's events; until then the trainer is unknown.
        session = await _eventually(lambda: admin.CreateSession(request), lambda s: bool(s.name))
        enrolled = await _eventually(
            lambda: lead.CreateEnrollment(
                ts.CreateEnrollmentRequest(parent=session.name, employee=people["agent"])
            ),
            lambda e: bool(e.name),
        )
        assert enrolled.enrolled_by == people["lead"]
        return await _attend_and_pass(trainer, enrolled.name, start)


async def _attend_and_pass(trainer: tg.TrainingServiceStub, enrollment: str, start: datetime) -> str:
    await asyncio.sleep(max(0.0, (start - datetime.now(UTC)).total_seconds()) + 0.2)
    await trainer.RecordAttendance(
        ts.RecordAttendanceRequest(name=enrollment, meeting_index=0, attended=True)
    )
    passed = await trainer.RecordAssessment(ts.RecordAssessmentRequest(name=enrollment, score=90))
    assert passed.state == session_pb2.Enrollment.STATE_PASSED
    return passed.certification


async def test_passing_in_training_gives_the_skill_in_roster_across_processes(
    roster_process: ServiceProcess, nats_server: NatsServer, second_database_url: str, tmp_path: Path
) -> None:
    training = ServiceProcess(
        "training",
        service_env(second_database_url, nats_server, tmp_path),
        log_file=tmp_path / "training.log",
    )
    roster_process.start()
    training.start()
    try:
        async with testing.channel(roster_process.address) as channel:
            roster = rg.RosterServiceStub(channel)
            people = await _org(roster)
            certification = await _certify(
                training.address, people, starts_in=timedelta(seconds=6), validity_months=12
            )
            employee = await _eventually(
                lambda: roster.GetEmployee(rs.GetEmployeeRequest(name=people["agent"])),
                lambda e: bool(e.skills),
            )
            [skill] = employee.skills
            assert (skill.skill, skill.level, skill.source) == ("billing", 3, certification)
            today = datetime.now(UTC).date()
            last_day = today.replace(year=today.year + 1) - timedelta(days=1)
            assert (skill.expire_date.year, skill.expire_date.month, skill.expire_date.day) == (
                last_day.year,
                last_day.month,
                last_day.day,
            )
            # The team leader's decision under the grant reached the grantor's review in roster.
            uses = await _eventually(
                lambda: roster.ListGrantUses(rs.ListGrantUsesRequest(grant=people["grant"])),
                lambda u: bool(u.audit_records),
            )
            assert [(u.action, u.actor) for u in uses.audit_records] == [
                ("cadre.training.v1.authority.exercised", people["lead"])
            ]
    finally:
        training.terminate()
        roster_process.terminate()


class _Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def test_a_lapsed_certification_takes_the_skill_away_in_roster(
    database_url: str, second_database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    clock = _Clock()
    roster = build_roster(
        testing.host_settings(RosterSettings, database_url=database_url, nats=nats_server, data_dir=tmp_path)
    )
    training = build_training(
        testing.host_settings(
            TrainingSettings,
            database_url=second_database_url,
            nats=nats_server,
            data_dir=tmp_path,
            expiry_check_seconds=0.2,
        ),
        clock=clock,
    )
    async with (
        testing.serving(roster),
        testing.serving(training),
        testing.channel(f"127.0.0.1:{roster.bound_port}") as channel,
    ):
        stub = rg.RosterServiceStub(channel)
        people = await _org(stub)
        certification = await _certify(
            f"127.0.0.1:{training.bound_port}", people, starts_in=timedelta(seconds=2), validity_months=1
        )
        employee = await _eventually(
            lambda: stub.GetEmployee(rs.GetEmployeeRequest(name=people["agent"])), lambda e: bool(e.skills)
        )
        assert [s.source for s in employee.skills] == [certification]
        clock.offset = timedelta(days=40)  # past the month's last valid day
        employee = await _eventually(
            lambda: stub.GetEmployee(rs.GetEmployeeRequest(name=people["agent"])), lambda e: not e.skills
        )
        assert list(employee.skills) == []
