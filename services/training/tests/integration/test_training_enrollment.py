"""Courses, sessions, enrollment within authority, the waitlist, and clashes — over gRPC."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import nats
import pytest
from google.type import date_pb2

from cadre.chassis.events import build_event
from cadre.chassis.grpc_errors import error_info
from cadre.cli import testing
from cadre.roster.v1 import employee_pb2
from cadre.roster.v1 import events_pb2 as roster_events
from cadre.training.v1 import course_pb2, events_pb2, session_pb2
from cadre.training.v1 import training_service_pb2 as ts

E = employee_pb2.Employee
Course, Session, Enrollment = course_pb2.Course, session_pb2.Session, session_pb2.Enrollment


async def _course(training, code="BILL-101", minutes=60, **extra) -> str:
    course = await training.as_().CreateCourse(
        ts.CreateCourseRequest(
            course=Course(
                code=code,
                title="Billing disputes",
                skill="billing",
                level=2,
                duration_minutes=minutes,
                pass_mark=70,
                validity_months=12,
                delivery=Course.DELIVERY_VIRTUAL,
                **extra,
            )
        )
    )
    return course.name


def _meeting(start: datetime, minutes: int) -> events_pb2.SessionMeeting:
    meeting = events_pb2.SessionMeeting()
    meeting.start_time.FromDatetime(start)
    meeting.end_time.FromDatetime(start + timedelta(minutes=minutes))
    return meeting


async def _session(training, course: str, trainer: str, start: datetime, minutes=60, capacity=10) -> Session:
    return await training.as_().CreateSession(
        ts.CreateSessionRequest(
            parent=course,
            session=Session(
                meetings=[_meeting(start, minutes)],
                trainer=trainer,
                capacity=capacity,
                virtual_link="https://meet/x",
            ),
        )
    )


def _tomorrow(hour: int) -> datetime:
    day = datetime.now(UTC).date() + timedelta(days=2)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


async def _reason(call) -> tuple[grpc.StatusCode, str, dict[str, str]]:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    info, _ = error_info(raised.value)
    return raised.value.code(), info.reason if info else "", dict(info.metadata) if info else {}


async def test_waitlist_promotion_happens_once_per_freed_seat_under_concurrent_cancellations(
    training,
) -> None:
    team = await training.team()
    trainer = await training.hire(team, E.ROLE_TRAINER)
    people = [await training.hire(team) for _ in range(8)]
    course = await _course(training)
    session = await _session(training, course, trainer, _tomorrow(9), capacity=3)
    admin = training.as_()
    placed = [
        await admin.CreateEnrollment(ts.CreateEnrollmentRequest(parent=session.name, employee=p))
        for p in people
    ]
    assert [e.state for e in placed] == [Enrollment.STATE_ENROLLED] * 3 + [Enrollment.STATE_WAITLISTED] * 5
    assert [e.waitlist_position for e in placed[3:]] == [1, 2, 3, 4, 5]

    # The three seated withdraw at the same moment, each on its own connection.
    stubs = [training.as_(p) for p in people[:3]]
    cancelled = await asyncio.gather(
        *(
            stub.CancelEnrollment(ts.CancelEnrollmentRequest(name=e.name))
            for stub, e in zip(stubs, placed[:3], strict=True)
        )
    )
    assert all(c.state == Enrollment.STATE_CANCELLED for c in cancelled)

    listed = (await admin.ListEnrollments(ts.ListEnrollmentsRequest(parent=session.name))).enrollments
    by_person = {e.employee: e for e in listed}
    # The first three on the waitlist hold the three seats; the last two still wait, in order.
    assert [by_person[p].state for p in people[3:6]] == [Enrollment.STATE_ENROLLED] * 3
    assert [(by_person[p].state, by_person[p].waitlist_position) for p in people[6:]] == [
        (Enrollment.STATE_WAITLISTED, 1),
        (Enrollment.STATE_WAITLISTED, 2),
    ]
    refreshed = await admin.GetSession(ts.GetSessionRequest(name=session.name))
    assert (refreshed.enrolled_count, refreshed.waitlisted_count) == (3, 2)

    # Scheduling's view: the latest session.scheduled names exactly those seated.
    await asyncio.sleep(0.5)
    scheduled = [p for t, p in await training.events("cadre.training.v1.session.scheduled")]
    latest = max(scheduled, key=lambda p: p.version)
    assert sorted(latest.participants) == sorted(people[3:6])
    assert f'W/"{latest.version}"' == refreshed.etag  # one version per change: 1 + 8 + 3


async def test_a_team_leader_enrolls_within_their_grant_and_no_further(training) -> None:
    center = await training.team()  # the lead's unit; teams sit below it
    team_a = await training.team(parent=[center])
    team_b = await training.team(parent=[center])
    lead = await training.hire(team_a, E.ROLE_TEAM_LEADER)
    trainer = await training.hire(team_b, E.ROLE_AGENT, trainer_position=True)
    agent_a = await training.hire(team_a)
    agent_b = await training.hire(team_b)
    grant = await training.grant(lead, [center, team_a], max_minutes=90)
    short = await _session(training, await _course(training, "SHORT-1", 60), trainer, _tomorrow(9))
    long = await _session(
        training, await _course(training, "LONG-1", 120), trainer, _tomorrow(11), minutes=120
    )
    as_lead = training.as_(lead)

    allowed = await as_lead.CreateEnrollment(ts.CreateEnrollmentRequest(parent=short.name, employee=agent_a))
    assert allowed.state == Enrollment.STATE_ENROLLED and allowed.enrolled_by == lead

    assert await _reason(
        as_lead.CreateEnrollment(ts.CreateEnrollmentRequest(parent=short.name, employee=agent_b))
    ) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "OUT_OF_SCOPE",
        {},
    )
    code, reason, _ = await _reason(
        as_lead.CreateEnrollment(ts.CreateEnrollmentRequest(parent=long.name, employee=agent_a))
    )
    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "OVER_LIMIT")
    # Someone who does not exist is refused the same way as someone out of scope.
    ghost = "employees/00000000-0000-4000-8000-000000000000"
    code, reason, _ = await _reason(
        as_lead.CreateEnrollment(ts.CreateEnrollmentRequest(parent=short.name, employee=ghost))
    )
    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "OUT_OF_SCOPE")
    # An agent enrolls themselves without any grant; but not a colleague.
    own = await training.as_(agent_b).CreateEnrollment(
        ts.CreateEnrollmentRequest(parent=short.name, employee=agent_b)
    )
    assert own.state == Enrollment.STATE_ENROLLED
    code, _, _ = await _reason(
        training.as_(agent_b).CreateEnrollment(ts.CreateEnrollmentRequest(parent=long.name, employee=agent_a))
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED

    # The decision under the grant is reported for the grantor's review.
    await asyncio.sleep(0.5)
    uses = [p for _, p in await training.events("cadre.training.v1.authority.exercised")]
    assert [(u.actor, u.target, list(u.grant_chain), u.amount.minutes) for u in uses] == [
        (lead, agent_a, [grant], 60)
    ]
    listed = (await training.as_().ListEnrollments(ts.ListEnrollmentsRequest(parent=short.name))).enrollments
    assert sorted(e.employee for e in listed) == sorted([agent_a, agent_b])


async def test_a_session_clashing_with_the_published_schedule_names_the_shift(training) -> None:
    team = await training.team()
    trainer = await training.hire(await training.team(), E.ROLE_TRAINER)
    agent = await training.hire(team)
    day = _tomorrow(0)
    queue = "queues/11111111-1111-4111-8111-111111111111"
    schedule = await training.schedule(
        team,
        day.date(),
        7,
        [
            training.shift(
                agent,
                queue,
                day + timedelta(hours=8),
                day + timedelta(hours=12),
                breaks=[(day + timedelta(hours=10), day + timedelta(hours=10, minutes=15))],
            )
        ],
    )
    course = await _course(training)
    admin = training.as_()
    afternoon = await _session(training, course, trainer, day + timedelta(hours=13))
    over_break = await _session(training, course, trainer, day + timedelta(hours=9, minutes=30))
    day_off = await _session(training, course, trainer, day + timedelta(days=1, hours=9))
    inside = await _session(training, course, trainer, day + timedelta(hours=8, minutes=30))

    code, reason, meta = await _reason(
        admin.CreateEnrollment(ts.CreateEnrollmentRequest(parent=afternoon.name, employee=agent))
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CLASHES_WITH_SHIFT")
    assert meta["schedule"] == schedule
    assert datetime.fromisoformat(meta["shift_start"]) == day + timedelta(hours=8)
    assert datetime.fromisoformat(meta["shift_end"]) == day + timedelta(hours=12)
    code, reason, meta = await _reason(
        admin.CreateEnrollment(ts.CreateEnrollmentRequest(parent=over_break.name, employee=agent))
    )
    assert (code, reason, meta["schedule"]) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CLASHES_WITH_SHIFT",
        schedule,
    )
    code, reason, _ = await _reason(
        admin.CreateEnrollment(ts.CreateEnrollmentRequest(parent=day_off.name, employee=agent))
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "CLASHES_WITH_DAY_OFF")
    ok = await admin.CreateEnrollment(ts.CreateEnrollmentRequest(parent=inside.name, employee=agent))
    assert ok.state == Enrollment.STATE_ENROLLED
    # Nothing was written by the refused attempts.
    for refused in (afternoon, over_break, day_off):
        assert not (await admin.ListEnrollments(ts.ListEnrollmentsRequest(parent=refused.name))).enrollments


async def test_approved_leave_and_prerequisites_block_enrollment(training) -> None:
    from cadre.scheduling.v1 import events_pb2 as se

    team = await training.team()
    trainer = await training.hire(team, E.ROLE_TRAINER)
    agent = await training.hire(team, skills=[("billing", 1)])
    day = _tomorrow(0)
    leave = f"{agent}/leaveRequests/22222222-2222-4222-8222-222222222222"
    await training.publish(
        "scheduling",
        "cadre.scheduling.v1.leave.approved",
        leave,
        se.LeaveApprovedEvent(
            leave_request=leave,
            employee=agent,
            leave_type="annual",
            paid=True,
            days=[se.LeaveDay(date={"year": day.year, "month": day.month, "day": day.day}, minutes=480)],
        ),
    )
    basic = await _course(training, "BASIC-1")
    advanced = await _course(
        training,
        "ADV-1",
        prerequisite_courses=[basic],
        prerequisite_skills=[course_pb2.SkillRequirement(skill="billing", min_level=2)],
    )
    on_leave = await _session(training, basic, trainer, day + timedelta(hours=9))
    admin = training.as_()
    code, reason, meta = await _reason(
        admin.CreateEnrollment(ts.CreateEnrollmentRequest(parent=on_leave.name, employee=agent))
    )
    assert (code, reason, meta["leave_request"]) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CLASHES_WITH_LEAVE",
        leave,
    )
    # The leave is withdrawn: the clash goes with it.
    await training.publish(
        "scheduling",
        "cadre.scheduling.v1.leave.cancelled",
        leave,
        se.LeaveCancelledEvent(leave_request=leave, employee=agent),
    )
    assert (
        await admin.CreateEnrollment(ts.CreateEnrollmentRequest(parent=on_leave.name, employee=agent))
    ).state == (Enrollment.STATE_ENROLLED)
    later = await _session(training, advanced, trainer, day + timedelta(days=1, hours=9))
    code, reason, _ = await _reason(
        admin.CreateEnrollment(ts.CreateEnrollmentRequest(parent=later.name, employee=agent))
    )
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "PREREQUISITES_MISSING")


async def test_bad_requests_name_their_fields_and_change_nothing(training) -> None:
    admin = training.as_()
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await admin.CreateCourse(
            ts.CreateCourseRequest(
                course=Course(code="bad code", title="", skill="Billing", level=9, duration_minutes=5)
            )
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    _, bad = error_info(raised.value)
    assert {v.field for v in bad.field_violations} >= {
        "course.code",
        "course.title",
        "course.skill",
        "course.level",
        "course.duration_minutes",
        "course.delivery",
    }
    assert not (await admin.ListCourses(ts.ListCoursesRequest())).courses
    code, reason, _ = await _reason(admin.GetSession(ts.GetSessionRequest(name="courses/x/sessions/y")))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_RESOURCE_NAME")
    code, reason, _ = await _reason(admin.ListCourses(ts.ListCoursesRequest(page_size=-1)))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "PAGE_SIZE_NEGATIVE")


async def test_a_trainer_must_hold_the_role_or_a_trainer_position(training) -> None:
    team = await training.team()
    agent = await training.hire(team)
    course = await _course(training)
    code, reason, _ = await _reason(_session(training, course, agent, _tomorrow(9)))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_A_TRAINER")
    part_timer = await training.hire(team, trainer_position=True)
    session = await _session(training, course, part_timer, _tomorrow(9))
    assert session.state == Session.STATE_SCHEDULED


async def test_a_hire_arriving_after_later_changes_leaves_the_newer_record(training) -> None:
    """Roster's hire is the record's first version: a copy of it arriving after an update and a
    transfer (replayed, re-published) puts neither the old positions nor the old team back."""
    center = await training.team()
    team_a = await training.team(parent=[center])
    team_b = await training.team(parent=[center])
    lead = await training.hire(team_a, E.ROLE_TEAM_LEADER)
    await training.grant(lead, [center, team_a], max_minutes=90)
    trainer = await training.hire(team_b, trainer_position=True)  # hired, then updated to version 2
    moved = await training.hire(team_a)
    await training.publish(
        "roster",
        "cadre.roster.v1.employee.transferred",
        moved,
        roster_events.EmployeeTransferredEvent(
            employee=moved, from_org_unit=team_a, to_org_unit=team_b, transfer="transfers/1"
        ),
    )
    for employee, team in ((trainer, team_b), (moved, team_a)):
        await training.publish(
            "roster",
            "cadre.roster.v1.employee.hired",
            employee,
            roster_events.EmployeeHiredEvent(employee=employee, org_unit=team, role=E.ROLE_AGENT),
        )

    session = await _session(training, await _course(training), trainer, _tomorrow(9))
    assert session.state == Session.STATE_SCHEDULED  # still a part-time trainer
    code, reason, _ = await _reason(
        training.as_(lead).CreateEnrollment(ts.CreateEnrollmentRequest(parent=session.name, employee=moved))
    )
    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "OUT_OF_SCOPE")  # still in team B


async def test_changes_published_before_the_hire_are_applied_once_it_is_in(training) -> None:
    """The hires lost by the broker and re-published after the people's later changes (R2, R20):
    an update and a transfer wait for the hire, through the real consumer, instead of changing
    nothing; the trainer keeps the position and the authority copy has the moved person in B."""
    center = await training.team()
    team_a = await training.team(parent=[center])
    team_b = await training.team(parent=[center])
    lead = await training.hire(team_a, E.ROLE_TEAM_LEADER)
    await training.grant(lead, [center, team_a], max_minutes=90)
    trainer, moved = f"employees/{uuid.uuid4()}", f"employees/{uuid.uuid4()}"
    early = [
        (
            "cadre.roster.v1.employee.updated",
            trainer,
            roster_events.EmployeeUpdatedEvent(
                employee=trainer,
                role=E.ROLE_AGENT,
                virtual_positions=[
                    employee_pb2.VirtualPosition(
                        kind=employee_pb2.VirtualPosition.KIND_PART_TIME_TRAINER,
                        fte_share=0.2,
                        start_date=date_pb2.Date(year=2025, month=1, day=6),
                    )
                ],
                version=2,
            ),
        ),
        (
            "cadre.roster.v1.employee.transferred",
            moved,
            roster_events.EmployeeTransferredEvent(
                employee=moved, from_org_unit=team_a, to_org_unit=team_b, transfer="transfers/1"
            ),
        ),
    ]
    hires = [
        (
            "cadre.roster.v1.employee.hired",
            employee,
            roster_events.EmployeeHiredEvent(employee=employee, org_unit=team, role=E.ROLE_AGENT),
        )
        for employee, team in ((trainer, team_b), (moved, team_a))
    ]
    client = await nats.connect(training.nats_url)
    try:
        for events in (early, hires):  # as the relay publishes them, without waiting in between
            for event_type, entity, payload in events:
                event = build_event(source="roster", event_type=event_type, entity=entity, payload=payload)
                await client.jetstream().publish(
                    event_type, event.envelope, headers={"Nats-Msg-Id": event.event_id}, stream="CADRE_ROSTER"
                )
            await asyncio.sleep(0.1)  # the changes have been tried and are held
    finally:
        await client.close()
    expected = training.published + len(early) + len(hires)
    await testing.until(lambda: sum(c.applied for c in training.host.consumers) >= expected)
    training.published = expected

    session = await _session(training, await _course(training), trainer, _tomorrow(9))
    assert session.state == Session.STATE_SCHEDULED  # a part-time trainer
    code, reason, _ = await _reason(
        training.as_(lead).CreateEnrollment(ts.CreateEnrollmentRequest(parent=session.name, employee=moved))
    )
    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "OUT_OF_SCOPE")  # in team B


async def test_a_retried_enrollment_with_its_request_id_enrolls_once(training) -> None:
    team = await training.team()
    trainer = await training.hire(team, E.ROLE_TRAINER)
    agent = await training.hire(team)
    session = await _session(training, await _course(training), trainer, _tomorrow(9))
    request = ts.CreateEnrollmentRequest(
        parent=session.name, employee=agent, request_id="6f1c1f9e-5b1a-4c4e-9a3e-0d7f0f3f7a11"
    )
    answers = await asyncio.gather(*(training.as_().CreateEnrollment(request) for _ in range(4)))
    assert len({a.name for a in answers}) == 1
    listed = (
        await training.as_().ListEnrollments(ts.ListEnrollmentsRequest(parent=session.name))
    ).enrollments
    assert [e.name for e in listed] == [answers[0].name]
    request.employee = await training.hire(team)
    code, reason, _ = await _reason(training.as_().CreateEnrollment(request))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "REQUEST_ID_REUSED")


async def test_a_session_still_below_its_minimum_group_two_days_ahead_is_called_off(training) -> None:
    team = await training.team()
    trainer = await training.hire(team, E.ROLE_TRAINER)
    people = [await training.hire(team) for _ in range(4)]
    course = await _course(training)
    admin = training.as_()
    in_three_days = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)

    async def session(start: datetime, minimum: int, seated: list[str]) -> Session:
        created = await admin.CreateSession(
            ts.CreateSessionRequest(
                parent=course,
                session=Session(
                    meetings=[_meeting(start, 60)],
                    trainer=trainer,
                    capacity=10,
                    min_group_size=minimum,
                    virtual_link="https://meet/x",
                ),
            )
        )
        for person in seated:
            await admin.CreateEnrollment(ts.CreateEnrollmentRequest(parent=created.name, employee=person))
        return created

    short = await session(in_three_days, 3, people[:2])
    full = await session(in_three_days + timedelta(hours=2), 2, people[2:4])
    late_planned = await session(datetime.now(UTC) + timedelta(hours=30), 3, [])
    await asyncio.sleep(0.6)  # the check runs every 0.2 s: nothing is due yet
    for s in (short, full, late_planned):
        assert (await admin.GetSession(ts.GetSessionRequest(name=s.name))).state == Session.STATE_SCHEDULED

    training.clock.offset = timedelta(days=1, hours=1)  # now inside the 48-hour notice of both
    deadline = asyncio.get_running_loop().time() + 10
    while (await admin.GetSession(ts.GetSessionRequest(name=short.name))).state != Session.STATE_CANCELLED:
        assert asyncio.get_running_loop().time() < deadline, "the under-filled session was not called off"
        await asyncio.sleep(0.1)
    assert (await admin.GetSession(ts.GetSessionRequest(name=full.name))).state == Session.STATE_SCHEDULED
    # Planned at short notice on purpose: left to its planner.
    assert (
        await admin.GetSession(ts.GetSessionRequest(name=late_planned.name))
    ).state == Session.STATE_SCHEDULED
    await asyncio.sleep(0.5)
    cancelled = [p for _, p in await training.events("cadre.training.v1.session.cancelled")]
    assert [c.session for c in cancelled] == [short.name]
