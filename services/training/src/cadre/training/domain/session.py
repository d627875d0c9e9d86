"""Sessions of a course, and people's places in them: seats, the waitlist, outcomes."""

from __future__ import annotations

import enum
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cadre.chassis.errors import Violations, failed_precondition, invalid_field
from cadre.training.domain.course import Course, Delivery

MAX_MEETINGS = 20
MAX_CAPACITY = 500
MAX_AHEAD = timedelta(days=366)


class SessionState(enum.Enum):
    SCHEDULED = "SCHEDULED"
    CANCELLED = "CANCELLED"


class EnrollmentState(enum.Enum):
    ENROLLED = "ENROLLED"
    WAITLISTED = "WAITLISTED"
    CANCELLED = "CANCELLED"
    PASSED = "PASSED"
    FAILED = "FAILED"


HOLDS_SEAT = frozenset({EnrollmentState.ENROLLED, EnrollmentState.PASSED, EnrollmentState.FAILED})


@dataclass(frozen=True)
class Meeting:
    start: datetime
    end: datetime

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


@dataclass(frozen=True)
class SessionSpec:
    meetings: tuple[Meeting, ...]
    trainer_id: str
    room: str
    virtual_link: str
    capacity: int
    min_group_size: int


@dataclass(frozen=True)
class Session:
    id: str
    course_id: str
    spec: SessionSpec
    state: SessionState
    created_at: datetime
    version: int = 1

    @property
    def first_start(self) -> datetime:
        return self.spec.meetings[0].start

    @property
    def minutes(self) -> int:
        return sum(m.minutes for m in self.spec.meetings)


def check_spec(spec: SessionSpec, course: Course, *, now: datetime) -> SessionSpec:
    """The spec with meetings in time order, or INVALID_ARGUMENT naming every bad field."""
    v = Violations()
    if not spec.meetings:
        v.add("session.meetings", "REQUIRED_FIELD_MISSING", "at least one meeting")
    if len(spec.meetings) > MAX_MEETINGS:
        v.add("session.meetings", "TOO_MANY", f"at most {MAX_MEETINGS} meetings")
    for index, meeting in enumerate(spec.meetings):
        if meeting.end <= meeting.start:
            v.add(f"session.meetings[{index}].end_time", "ENDS_BEFORE_START", "must be after start_time")
        elif meeting.start > now + MAX_AHEAD:
            v.add(f"session.meetings[{index}].start_time", "TOO_FAR_AHEAD", "must be within a year")
        elif meeting.end - meeting.start > timedelta(hours=12):
            v.add(f"session.meetings[{index}].end_time", "TOO_LONG", "a meeting lasts at most 12 hours")
    ordered = tuple(sorted(spec.meetings, key=lambda m: m.start))
    if not v:
        for earlier, later in itertools.pairwise(ordered):
            if later.start < earlier.end:
                v.add(
                    "session.meetings",
                    "MEETINGS_OVERLAP",
                    f"two meetings overlap at {later.start.isoformat()}",
                )
                break
        total = sum(m.minutes for m in ordered)
        if ordered and total != course.spec.duration_minutes:
            v.add(
                "session.meetings",
                "DURATION_MISMATCH",
                f"meetings last {total} minutes; the course lasts {course.spec.duration_minutes}",
            )
    if not 1 <= spec.capacity <= MAX_CAPACITY:
        v.add("session.capacity", "OUT_OF_RANGE", f"must be 1–{MAX_CAPACITY}")
    elif not 0 <= spec.min_group_size <= spec.capacity:
        v.add("session.min_group_size", "OUT_OF_RANGE", "must be 0 to capacity")
    if len(spec.room) > 200 or len(spec.virtual_link) > 2000:
        v.add("session.room", "OUT_OF_RANGE", "room at most 200, virtual_link at most 2000 characters")
    if course.spec.delivery is Delivery.CLASSROOM and not spec.room.strip():
        v.add("session.room", "REQUIRED_FIELD_MISSING", "a classroom course needs a room")
    if course.spec.delivery is Delivery.VIRTUAL and not spec.virtual_link.strip():
        v.add("session.virtual_link", "REQUIRED_FIELD_MISSING", "a virtual course needs a link")
    v.raise_if_any()
    return replace(spec, meetings=ordered)


def underfilled(session: Session, seated: int) -> bool:
    """Fewer people hold a seat than the session needs to run."""
    return seated < session.spec.min_group_size


def require_scheduled(session: Session) -> None:
    if session.state is not SessionState.SCHEDULED:
        raise failed_precondition("SESSION_CANCELLED", "the session was cancelled", session=session.id)


def require_not_started(session: Session, now: datetime, what: str) -> None:
    if session.first_start <= now:
        raise failed_precondition("SESSION_STARTED", f"the session has started: {what} no longer possible")


@dataclass(frozen=True)
class Enrollment:
    id: str
    session_id: str
    course_id: str
    employee_id: str
    state: EnrollmentState
    enrolled_by: str
    created_at: datetime
    queued_at: datetime  # waitlist order: first come, first served
    attended: tuple[bool | None, ...]
    score: int | None = None
    certification_id: str = ""
    version: int = 1


def place(
    *,
    enrollment_id: str,
    session: Session,
    employee_id: str,
    enrolled_by: str,
    holding: Sequence[Enrollment],
    now: datetime,
) -> Enrollment:
    """A seat while one is free, else a place on the waitlist."""
    require_scheduled(session)
    require_not_started(session, now, "enrollment")
    for existing in holding:
        if existing.employee_id == employee_id and existing.state is not EnrollmentState.CANCELLED:
            raise failed_precondition(
                "ALREADY_ENROLLED",
                "the person already has a seat or a waitlist place",
                enrollment=existing.id,
            )
    seats_taken = sum(1 for e in holding if e.state in HOLDS_SEAT)
    state = EnrollmentState.ENROLLED if seats_taken < session.spec.capacity else EnrollmentState.WAITLISTED
    return Enrollment(
        id=enrollment_id,
        session_id=session.id,
        course_id=session.course_id,
        employee_id=employee_id,
        state=state,
        enrolled_by=enrolled_by,
        created_at=now,
        queued_at=now,
        attended=(None,) * len(session.spec.meetings),
    )


def withdraw(enrollment: Enrollment, session: Session, *, now: datetime) -> Enrollment:
    if enrollment.state not in (EnrollmentState.ENROLLED, EnrollmentState.WAITLISTED):
        raise failed_precondition(
            "ENROLLMENT_CLOSED", f"an enrollment that is {enrollment.state.value} cannot be cancelled"
        )
    require_not_started(session, now, "withdrawal")
    return replace(enrollment, state=EnrollmentState.CANCELLED, version=enrollment.version + 1)


def promotions(session: Session, holding: Sequence[Enrollment]) -> list[Enrollment]:
    """The waitlisted who now get a seat, first come first served, for every free seat."""
    if session.state is not SessionState.SCHEDULED:
        return []
    free = session.spec.capacity - sum(1 for e in holding if e.state in HOLDS_SEAT)
    waiting = sorted(
        (e for e in holding if e.state is EnrollmentState.WAITLISTED), key=lambda e: (e.queued_at, e.id)
    )
    return [
        replace(e, state=EnrollmentState.ENROLLED, version=e.version + 1) for e in waiting[: max(free, 0)]
    ]


def waitlist_positions(holding: Sequence[Enrollment]) -> dict[str, int]:
    waiting = sorted(
        (e for e in holding if e.state is EnrollmentState.WAITLISTED), key=lambda e: (e.queued_at, e.id)
    )
    return {e.id: index + 1 for index, e in enumerate(waiting)}


def record_attendance(
    enrollment: Enrollment, *, meeting_index: int, attended: bool, session: Session
) -> Enrollment:
    if enrollment.state is not EnrollmentState.ENROLLED:
        raise failed_precondition(
            "NOT_ENROLLED",
            f"attendance is taken for seated participants; this one is {enrollment.state.value}",
        )
    if not 0 <= meeting_index < len(session.spec.meetings):
        raise invalid_field(
            "meeting_index", "OUT_OF_RANGE", f"the session has {len(session.spec.meetings)} meetings"
        )
    marks = list(enrollment.attended)
    marks[meeting_index] = attended
    return replace(enrollment, attended=tuple(marks), version=enrollment.version + 1)


def assess(enrollment: Enrollment, *, score: int, course: Course) -> Enrollment:
    """Passed at or above the pass mark with every meeting attended; failed otherwise."""
    if not 0 <= score <= 100:
        raise invalid_field("score", "OUT_OF_RANGE", "must be 0–100")
    if enrollment.state is not EnrollmentState.ENROLLED:
        raise failed_precondition(
            "NOT_ENROLLED", f"only a seated participant is assessed; this one is {enrollment.state.value}"
        )
    if any(mark is None for mark in enrollment.attended):
        raise failed_precondition(
            "ATTENDANCE_INCOMPLETE", "record attendance for every meeting before the assessment"
        )
    passed = score >= course.spec.pass_mark and all(enrollment.attended)
    return replace(
        enrollment,
        state=EnrollmentState.PASSED if passed else EnrollmentState.FAILED,
        score=score,
        version=enrollment.version + 1,
    )
