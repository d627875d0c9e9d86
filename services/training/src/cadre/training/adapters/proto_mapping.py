"""Between training's domain objects and its protobuf messages."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from cadre.chassis.errors import DomainError, Violations, invalid_field
from cadre.chassis.proto_dates import date_to_proto
from cadre.chassis.resource_names import parse_name
from cadre.training.adapters.event_mapping import certification_name, session_name
from cadre.training.domain.certification import Certification
from cadre.training.domain.course import Course, CourseSpec, Delivery, SkillRequirement
from cadre.training.domain.planning import Proposal
from cadre.training.domain.session import Enrollment, Meeting, Session, SessionSpec
from cadre.training.v1 import certification_pb2, course_pb2, events_pb2, planning_pb2, session_pb2

COURSES = "courses"
EMPLOYEES = "employees"
ORG_UNITS = "orgUnits"
QUEUES = "queues"

_DELIVERY = {d: course_pb2.Course.Delivery.Value(f"DELIVERY_{d.value}") for d in Delivery}
_DELIVERY_FROM = {v: k for k, v in _DELIVERY.items()}


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    proto = timestamp_pb2.Timestamp()
    proto.FromDatetime(moment)
    return proto


def moment(value: timestamp_pb2.Timestamp, field_path: str, violations: Violations) -> datetime | None:
    if value.seconds == 0 and value.nanos == 0:
        violations.add(field_path, "REQUIRED_FIELD_MISSING", "must be set")
        return None
    try:
        return value.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        violations.add(field_path, "OUT_OF_RANGE", "is not a representable time")
        return None


def etag(version: int) -> str:
    return f'W/"{version}"'


def version_from_etag(value: str, field_path: str) -> int | None:
    if not value:
        return None
    digits = value.removeprefix('W/"').removesuffix('"')
    if not digits.isdigit() or len(digits) > 12:
        raise invalid_field(field_path, "MALFORMED_ETAG", "is not an etag this API issued")
    return int(digits)


def nested_ids(name: str, collections: tuple[str, ...], field_path: str) -> tuple[str, ...]:
    """The ids of `a/{a}/b/{b}/...`, each a UUID, or INVALID_ARGUMENT naming the field."""
    parts = name.split("/")
    if len(parts) != 2 * len(collections) or any(parts[2 * i] != c for i, c in enumerate(collections)):
        if not name:
            raise invalid_field(field_path, "REQUIRED_FIELD_MISSING", "must be set")
        pattern = "/".join(f"{c}/{{id}}" for c in collections)
        raise invalid_field(field_path, "MALFORMED_RESOURCE_NAME", f"must look like {pattern}")
    return tuple(parse_name(f"{c}/{parts[2 * i + 1]}", c, field_path) for i, c in enumerate(collections))


def course_spec_from_proto(course: course_pb2.Course) -> CourseSpec:
    v = Violations()
    prerequisites = []
    for index, name in enumerate(course.prerequisite_courses):
        try:
            prerequisites.append(parse_name(name, COURSES, f"course.prerequisite_courses[{index}]"))
        except DomainError as error:  # collected with the others
            v.add(f"course.prerequisite_courses[{index}]", "MALFORMED_RESOURCE_NAME", error.message)
    queues = []
    for index, name in enumerate(course.required_for_queues):
        try:
            queues.append(f"{QUEUES}/{parse_name(name, QUEUES, f'course.required_for_queues[{index}]')}")
        except DomainError:
            v.add(
                f"course.required_for_queues[{index}]",
                "MALFORMED_RESOURCE_NAME",
                "must look like queues/{id}",
            )
    delivery = _DELIVERY_FROM.get(course.delivery)  # type: ignore[call-overload]
    if delivery is None and course.delivery != 0:
        v.add("course.delivery", "UNKNOWN_ENUM_VALUE", f"{course.delivery} is not a known delivery")
    v.raise_if_any()
    return CourseSpec(
        code=course.code,
        title=course.title,
        skill=course.skill,
        level=course.level,
        duration_minutes=course.duration_minutes,
        pass_mark=course.pass_mark,
        validity_months=course.validity_months,
        prerequisite_courses=tuple(prerequisites),
        prerequisite_skills=tuple(SkillRequirement(s.skill, s.min_level) for s in course.prerequisite_skills),
        delivery=delivery,
        required_for_queues=tuple(queues),
    )


def course_to_proto(course: Course) -> course_pb2.Course:
    s = course.spec
    assert s.delivery is not None
    return course_pb2.Course(
        name=f"{COURSES}/{course.id}",
        code=s.code,
        title=s.title,
        skill=s.skill,
        level=s.level,
        duration_minutes=s.duration_minutes,
        pass_mark=s.pass_mark,
        validity_months=s.validity_months,
        prerequisite_courses=[f"{COURSES}/{c}" for c in s.prerequisite_courses],
        prerequisite_skills=[
            course_pb2.SkillRequirement(skill=r.skill, min_level=r.min_level) for r in s.prerequisite_skills
        ],
        delivery=_DELIVERY[s.delivery],
        required_for_queues=list(s.required_for_queues),
        create_time=_timestamp(course.created_at),
        etag=etag(course.version),
    )


def session_spec_from_proto(session: session_pb2.Session, *, need_trainer: bool = True) -> SessionSpec:
    v = Violations()
    meetings = []
    for index, meeting in enumerate(session.meetings):
        start = moment(meeting.start_time, f"session.meetings[{index}].start_time", v)
        end = moment(meeting.end_time, f"session.meetings[{index}].end_time", v)
        if start and end:
            meetings.append(Meeting(start, end))
    trainer = ""
    if session.trainer or need_trainer:
        try:
            trainer = parse_name(session.trainer, EMPLOYEES, "session.trainer")
        except DomainError as error:
            v.add("session.trainer", error.reason, "must look like employees/{id}")
    v.raise_if_any()
    return SessionSpec(
        meetings=tuple(meetings),
        trainer_id=trainer,
        room=session.room,
        virtual_link=session.virtual_link,
        capacity=session.capacity,
        min_group_size=session.min_group_size,
    )


def session_to_proto(session: Session, counts: tuple[int, int] = (0, 0)) -> session_pb2.Session:
    s = session.spec
    return session_pb2.Session(
        name=session_name(session),
        meetings=[
            events_pb2.SessionMeeting(start_time=_timestamp(m.start), end_time=_timestamp(m.end))
            for m in s.meetings
        ],
        trainer=f"{EMPLOYEES}/{s.trainer_id}",
        room=s.room,
        virtual_link=s.virtual_link,
        capacity=s.capacity,
        min_group_size=s.min_group_size,
        state=session_pb2.Session.State.Value(f"STATE_{session.state.value}"),
        enrolled_count=counts[0],
        waitlisted_count=counts[1],
        create_time=_timestamp(session.created_at),
        etag=etag(session.version),
    )


def enrollment_to_proto(enrollment: Enrollment, position: int = 0) -> session_pb2.Enrollment:
    proto = session_pb2.Enrollment(
        name=f"{COURSES}/{enrollment.course_id}/sessions/{enrollment.session_id}/enrollments/{enrollment.id}",
        employee=f"{EMPLOYEES}/{enrollment.employee_id}",
        state=session_pb2.Enrollment.State.Value(f"STATE_{enrollment.state.value}"),
        enrolled_by=enrollment.enrolled_by,
        waitlist_position=position,
        attended=[bool(mark) for mark in enrollment.attended],
        certification=(
            f"{EMPLOYEES}/{enrollment.employee_id}/certifications/{enrollment.certification_id}"
            if enrollment.certification_id
            else ""
        ),
        create_time=_timestamp(enrollment.created_at),
        etag=etag(enrollment.version),
    )
    if enrollment.score is not None:
        proto.score = enrollment.score
    return proto


def certification_to_proto(c: Certification) -> certification_pb2.Certification:
    return certification_pb2.Certification(
        name=certification_name(c),
        course=f"{COURSES}/{c.course_id}",
        skill=c.skill,
        level=c.level,
        grant_date=date_to_proto(c.grant_date),
        expire_date=date_to_proto(c.expire_date),
        state=certification_pb2.Certification.State.Value(f"STATE_{c.state.value}"),
        enrollment=c.enrollment_id,
    )


def proposal_to_proto(p: Proposal) -> planning_pb2.SlotProposal:
    return planning_pb2.SlotProposal(
        start_time=_timestamp(p.start),
        end_time=_timestamp(p.end),
        participants=list(p.participants),
        contacts_answered_late=p.contacts_answered_late,
        lowest_service_level=p.lowest_service_level,
        intervals=[
            planning_pb2.IntervalImpact(
                queue=i.queue,
                start_time=_timestamp(i.start),
                agents_without=i.agents_without,
                agents_with=i.agents_with,
                service_level_without=i.service_level_without,
                service_level_with=i.service_level_with,
            )
            for i in p.intervals
        ],
    )
