"""Attendance, assessment, certification and its expiry; planning and compliance — over gRPC,
with the events a payroll and roster would read."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import numpy as np
import pytest

from cadre.chassis.grpc_errors import error_info
from cadre.roster.v1 import employee_pb2
from cadre.scheduling.v1 import events_pb2 as se
from cadre.training.domain.planning import QueueLoad, service_level
from cadre.training.v1 import certification_pb2, course_pb2, events_pb2, session_pb2
from cadre.training.v1 import training_service_pb2 as ts

E = employee_pb2.Employee
Course, Session, Enrollment = course_pb2.Course, session_pb2.Session, session_pb2.Enrollment
QUEUE = "queues/33333333-3333-4333-8333-333333333333"


async def _wait_for(training, subject: str, count: int = 1) -> list:
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        found = [p for _, p in await training.events(subject)]
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_passing_grants_a_certification_that_renews_and_then_lapses(training) -> None:
    team = await training.team(time_zone="Europe/Lisbon")
    trainer = await training.hire(team, E.ROLE_TRAINER)
    agent = await training.hire(team)
    admin = training.as_()
    course = await admin.CreateCourse(
        ts.CreateCourseRequest(
            course=Course(
                code="BILL-201",
                title="Billing",
                skill="billing",
                level=3,
                duration_minutes=120,
                pass_mark=70,
                validity_months=12,
                delivery=Course.DELIVERY_CLASSROOM,
                required_for_queues=[QUEUE],
            )
        )
    )
    start = datetime.now(UTC) + timedelta(days=3)
    meetings = []
    for hours in (0, 24):  # two one-hour meetings on two days
        meeting = events_pb2.SessionMeeting()
        meeting.start_time.FromDatetime(start + timedelta(hours=hours))
        meeting.end_time.FromDatetime(start + timedelta(hours=hours, minutes=60))
        meetings.append(meeting)
    session = await admin.CreateSession(
        ts.CreateSessionRequest(
            parent=course.name, session=Session(meetings=meetings, trainer=trainer, capacity=5, room="Room 1")
        )
    )
    enrolled = await admin.CreateEnrollment(ts.CreateEnrollmentRequest(parent=session.name, employee=agent))
    as_trainer = training.as_(trainer)

    # Attendance is taken once a meeting has begun, by the trainer, not by the participant.
    with pytest.raises(grpc.aio.AioRpcError) as early:
        await as_trainer.RecordAttendance(
            ts.RecordAttendanceRequest(name=enrolled.name, meeting_index=0, attended=True)
        )
    assert error_info(early.value)[0].reason == "MEETING_NOT_STARTED"
    training.clock.offset = timedelta(days=4, hours=2)
    with pytest.raises(grpc.aio.AioRpcError) as self_marking:
        await training.as_(agent).RecordAttendance(
            ts.RecordAttendanceRequest(name=enrolled.name, meeting_index=0, attended=True)
        )
    assert self_marking.value.code() == grpc.StatusCode.PERMISSION_DENIED
    for index in (0, 1):
        await as_trainer.RecordAttendance(
            ts.RecordAttendanceRequest(name=enrolled.name, meeting_index=index, attended=True)
        )
    failed = await as_trainer.RecordAssessment(ts.RecordAssessmentRequest(name=enrolled.name, score=69))
    assert failed.state == Enrollment.STATE_FAILED and not failed.certification

    second = await admin.CreateSession(
        ts.CreateSessionRequest(
            parent=course.name,
            session=Session(
                meetings=[
                    events_pb2.SessionMeeting(
                        start_time={"seconds": int((training.clock() + timedelta(days=1)).timestamp())},
                        end_time={
                            "seconds": int((training.clock() + timedelta(days=1, hours=2)).timestamp())
                        },
                    )
                ],
                trainer=trainer,
                capacity=5,
                room="Room 1",
            ),
        )
    )
    again = await admin.CreateEnrollment(ts.CreateEnrollmentRequest(parent=second.name, employee=agent))
    training.clock.offset += timedelta(days=2)
    await as_trainer.RecordAttendance(
        ts.RecordAttendanceRequest(name=again.name, meeting_index=0, attended=True)
    )
    passed = await as_trainer.RecordAssessment(ts.RecordAssessmentRequest(name=again.name, score=85))
    assert passed.state == Enrollment.STATE_PASSED and passed.score == 85
    certification = await admin.GetCertification(ts.GetCertificationRequest(name=passed.certification))
    granted_on = training.clock().astimezone(ZoneInfo("Europe/Lisbon")).date()
    assert (certification.skill, certification.level) == ("billing", 3)
    assert (
        date(certification.grant_date.year, certification.grant_date.month, certification.grant_date.day)
        == granted_on
    )
    expire = date(
        certification.expire_date.year, certification.expire_date.month, certification.expire_date.day
    )
    assert granted_on.replace(year=granted_on.year + 1) - timedelta(days=1) == expire

    granted = await _wait_for(training, "cadre.training.v1.certification.granted")
    assert [(g.certification, g.employee, g.skill, g.level) for g in granted] == [
        (passed.certification, agent, "billing", 3)
    ]
    times = await _wait_for(training, "cadre.training.v1.training_time.recorded", 3)
    assert sorted((t.session, t.minutes, t.paid) for t in times) == sorted(
        [(session.name, 60, True), (session.name, 60, True), (second.name, 120, True)]
    )

    # Expiring soon shows in the list and the compliance report; the day after the last valid
    # day (Lisbon time) the periodic job lapses it.
    soon = await admin.ListCertifications(
        ts.ListCertificationsRequest(parent=agent, expiring_within_days=400)
    )
    assert [c.name for c in soon.certifications] == [passed.certification]
    training.clock.offset += timedelta(days=366)
    expired = await _wait_for(training, "cadre.training.v1.certification.expired")
    assert [(e.certification, e.employee, e.skill) for e in expired] == [
        (passed.certification, agent, "billing")
    ]
    lapsed = await admin.GetCertification(ts.GetCertificationRequest(name=passed.certification))
    assert lapsed.state == certification_pb2.Certification.STATE_EXPIRED


async def test_proposed_slots_follow_the_published_requirement_and_schedule(training) -> None:
    """A week: 12 agents on the queue 08:00–16:00, except Wednesday 13:00–15:00 with 16 and
    Tuesday 09:00–11:00 with 8; the best two-hour slot for two of them is Wednesday 13:00."""
    team = await training.team()
    trainer = await training.hire(await training.team(), E.ROLE_TRAINER)
    monday = datetime.now(UTC).date() + timedelta(days=7 - datetime.now(UTC).weekday())
    start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    participants = [await training.hire(team) for _ in range(2)]
    others = [await training.hire(team) for _ in range(14)]
    shifts = []
    for day in range(5):
        base = start + timedelta(days=day)
        for person in participants + others[:10]:
            shifts.append(
                training.shift(person, QUEUE, base + timedelta(hours=8), base + timedelta(hours=16))
            )
    wednesday = start + timedelta(days=2)
    for person in others[10:14]:
        shifts.append(
            training.shift(person, QUEUE, wednesday + timedelta(hours=13), wednesday + timedelta(hours=15))
        )
    tuesday = start + timedelta(days=1)
    tuesday_shift = int((tuesday + timedelta(hours=8)).timestamp())
    for person in others[:4]:  # Tuesday 09:00–11:00 four of them are on a long break
        shifts = [s for s in shifts if (s.employee, s.start_time.seconds) != (person, tuesday_shift)]
        shifts.append(
            training.shift(
                person,
                QUEUE,
                tuesday + timedelta(hours=8),
                tuesday + timedelta(hours=16),
                breaks=[(tuesday + timedelta(hours=9), tuesday + timedelta(hours=11))],
            )
        )
    await training.schedule(team, monday, 7, shifts)
    intervals = 7 * 48
    requirement = se.RequirementPublishedEvent(
        requirement=f"{QUEUE}/requirements/r1",
        queue=QUEUE,
        interval_minutes=30,
        volumes=[60.0] * intervals,
        aht_seconds=[240.0] * intervals,
        agents=[10] * intervals,
        scheduled_agents=[12] * intervals,
        service_level=0.8,
        answer_seconds=20,
        shrinkage=0.2,
    )
    requirement.start_time.FromDatetime(start)
    await training.publish(
        "scheduling", "cadre.scheduling.v1.requirement.published", requirement.requirement, requirement
    )
    admin = training.as_()
    course = await admin.CreateCourse(
        ts.CreateCourseRequest(
            course=Course(
                code="PLAN-1",
                title="Plan",
                skill="billing",
                level=1,
                duration_minutes=120,
                delivery=Course.DELIVERY_VIRTUAL,
            )
        )
    )
    request = ts.ProposeSessionSlotsRequest(
        course=course.name,
        participants=participants,
        trainer=trainer,
        service_level_floor=0.5,
        max_proposals=3,
    )
    request.start_time.FromDatetime(start)
    request.end_time.FromDatetime(start + timedelta(days=7))
    answer = await admin.ProposeSessionSlots(request)
    best = answer.proposals[0]
    assert best.start_time.ToDatetime(tzinfo=UTC) == wednesday + timedelta(hours=13)
    assert sorted(best.participants) == sorted(participants)
    # Shown per interval with and without, as the Erlang C projection of the published facts.
    load = QueueLoad(QUEUE, np.array([30.0]), np.array([240.0]), np.array([16.0]), answer_seconds=20)
    first = best.intervals[0]
    assert (first.agents_without, first.agents_with) == (16, 14)
    assert first.service_level_without == pytest.approx(service_level(load, np.array([16.0]), 15)[0])
    assert first.service_level_with == pytest.approx(service_level(load, np.array([14.0]), 15)[0])
    for proposal in answer.proposals:
        slot = proposal.start_time.ToDatetime(tzinfo=UTC)
        assert not (
            tuesday + timedelta(hours=7) < slot < tuesday + timedelta(hours=11)
        )  # 8 left: below the floor
        assert all(i.service_level_with >= 0.5 for i in proposal.intervals)
    assert answer.candidates_below_floor > 0

    # A trainer whose published week has one shift, Thursday 08:00–16:00: only Thursday fits.
    trainers_team = await training.team()
    busy_trainer = await training.hire(trainers_team, E.ROLE_TRAINER)
    thursday = start + timedelta(days=3)
    await training.schedule(
        trainers_team,
        monday,
        7,
        [training.shift(busy_trainer, QUEUE, thursday + timedelta(hours=8), thursday + timedelta(hours=16))],
    )
    request.trainer = busy_trainer
    with_trainer = await admin.ProposeSessionSlots(request)
    assert with_trainer.proposals
    for proposal in with_trainer.proposals:
        slot = proposal.start_time.ToDatetime(tzinfo=UTC)
        assert thursday + timedelta(hours=8) <= slot <= thursday + timedelta(hours=14)
    request.trainer = trainer

    # Any two of the team: the same slot, and two people named.
    team_request = ts.ProposeSessionSlotsRequest(
        course=course.name, team=team, participant_count=2, service_level_floor=0.5, max_proposals=1
    )
    team_request.start_time.CopyFrom(request.start_time)
    team_request.end_time.CopyFrom(request.end_time)
    picked = (await admin.ProposeSessionSlots(team_request)).proposals[0]
    assert picked.start_time.ToDatetime(tzinfo=UTC) == wednesday + timedelta(hours=13)
    assert len(set(picked.participants)) == 2

    # Compliance: everyone scheduled on the queue lacks a course it requires.
    await admin.UpdateCourse(
        ts.UpdateCourseRequest(
            course=Course(name=course.name, required_for_queues=[QUEUE], etag=course.etag),
            update_mask={"paths": ["required_for_queues"]},
        )
    )
    training.clock.offset = start - datetime.now(UTC)
    report = await admin.GetComplianceReport(ts.GetComplianceReportRequest(org_unit=team))
    assert sorted(g.employee for g in report.gaps) == sorted(participants + others)
    assert {g.course for g in report.gaps} == {course.name}
