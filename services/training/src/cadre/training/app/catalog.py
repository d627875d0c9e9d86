"""Courses and sessions: create, read, change, cancel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from cadre.chassis.errors import aborted, already_exists, failed_precondition, invalid_field, not_found
from cadre.training.app.access import Caller
from cadre.training.app.ports import CourseRepository, SessionRepository, TrainingUnit
from cadre.training.domain import course as course_rules
from cadre.training.domain import session as session_rules
from cadre.training.domain.course import Course, CourseSpec
from cadre.training.domain.events import SessionCancelled, SessionScheduled
from cadre.training.domain.people import Person
from cadre.training.domain.schedule import BookedMeeting, WorkingTime, check_clashes
from cadre.training.domain.session import HOLDS_SEAT, Meeting, Session, SessionSpec, SessionState


def create_course(
    unit: TrainingUnit, caller: Caller, *, course_id: str, spec: CourseSpec, now: datetime
) -> Course:
    caller.require_catalogue()
    course_rules.check_spec(spec)
    for index, prerequisite in enumerate(spec.prerequisite_courses):
        if unit.courses.get(prerequisite) is None:
            raise invalid_field(f"course.prerequisite_courses[{index}]", "UNKNOWN_COURSE", "no such course")
    if unit.courses.code_taken(spec.code):
        raise already_exists(
            "COURSE_CODE_TAKEN", "course.code: another course has this code", field="course.code"
        )
    course = Course(id=course_id, spec=spec, created_at=now)
    unit.courses.add(course)
    return course


def require_course(courses: CourseRepository, course_id: str) -> Course:
    course = courses.get(course_id)
    if course is None:
        raise not_found("COURSE_NOT_FOUND", "no such course", course=course_id)
    return course


def update_course(
    unit: TrainingUnit,
    caller: Caller,
    *,
    course_id: str,
    proposed: CourseSpec,
    fields: frozenset[str],
    expected_version: int | None,
) -> Course:
    caller.require_catalogue()
    current = require_course(unit.courses, course_id)
    if expected_version is not None and expected_version != current.version:
        raise aborted(
            "ETAG_MISMATCH", "the course changed since it was read; read it again", course=course_id
        )
    changed = course_rules.update(current, proposed, fields)
    for index, prerequisite in enumerate(changed.spec.prerequisite_courses):
        if unit.courses.get(prerequisite) is None:
            raise invalid_field(f"course.prerequisite_courses[{index}]", "UNKNOWN_COURSE", "no such course")
    unit.courses.save(changed, expected_version=current.version)
    return changed


def require_session(
    sessions: SessionRepository, session_id: str, course_id: str, *, lock: bool = False
) -> Session:
    session = sessions.get(session_id, for_update=lock)
    if session is None or session.course_id != course_id:
        raise not_found("SESSION_NOT_FOUND", "no such session", session=session_id)
    return session


def working_time(
    unit: TrainingUnit, person: Person, meetings: Sequence[Meeting], *, other_than: str = ""
) -> WorkingTime:
    """The person's shifts, covered days, leave and other sessions around `meetings`."""
    start = min(m.start for m in meetings) - timedelta(days=1)
    end = max(m.end for m in meetings) + timedelta(days=1)
    team = unit.facts.team(person.team_id)
    zone = team.zone if team else None
    first = start.astimezone(zone).date() if zone else start.date()
    last = end.astimezone(zone).date() if zone else end.date()
    booked = [
        BookedMeeting(f"courses/{s.course_id}/sessions/{s.id}", m.start, m.end)
        for _, state, s in unit.enrollments.booked(person.id, start=start, end=end)
        if s.id != other_than and state in ("ENROLLED", "WAITLISTED")
        for m in s.spec.meetings
    ]
    booked += [
        BookedMeeting(f"courses/{s.course_id}/sessions/{s.id}", m.start, m.end)
        for s in unit.sessions.trainer_sessions(person.id, start=start, end=end)
        if s.id != other_than
        for m in s.spec.meetings
    ]
    return WorkingTime(
        shifts=tuple(unit.facts.shifts([person.id], start=start, end=end)),
        covered_days=frozenset(unit.facts.covered_days(person.team_id, first=first, last=last)),
        leave=tuple(unit.facts.leave(person.id)),
        booked=tuple(booked),
    )


def check_person_free(
    unit: TrainingUnit, person: Person, meetings: Sequence[Meeting], *, other_than: str = ""
) -> None:
    team = unit.facts.team(person.team_id)
    zone = team.zone if team else None
    check_clashes(
        who=f"employees/{person.id}",
        meetings=tuple((m.start, m.end) for m in meetings),
        facts=working_time(unit, person, meetings, other_than=other_than),
        local_day=lambda moment: moment.astimezone(zone).date() if zone else moment.date(),
    )


def _require_trainer(unit: TrainingUnit, spec: SessionSpec, *, other_than: str = "") -> None:
    trainer = unit.facts.person(spec.trainer_id)
    if trainer is None or not trainer.current:
        raise failed_precondition(
            "TRAINER_UNKNOWN",
            "session.trainer: not a current employee known to training",
            field="session.trainer",
        )
    team = unit.facts.team(trainer.team_id)
    day = spec.meetings[0].start.astimezone(team.zone).date() if team else spec.meetings[0].start.date()
    if not trainer.can_train_on(day):
        raise failed_precondition(
            "NOT_A_TRAINER",
            "session.trainer: holds neither the trainer role nor a part-time-trainer position then",
            field="session.trainer",
        )
    check_person_free(unit, trainer, spec.meetings, other_than=other_than)


def participants(unit: TrainingUnit, session: Session) -> tuple[str, ...]:
    return tuple(
        sorted(e.employee_id for e in unit.enrollments.of_session(session.id) if e.state in HOLDS_SEAT)
    )


def create_session(
    unit: TrainingUnit, caller: Caller, *, session_id: str, course_id: str, spec: SessionSpec, now: datetime
) -> Session:
    caller.require_catalogue()
    course = require_course(unit.courses, course_id)
    spec = session_rules.check_spec(spec, course, now=now)
    if spec.meetings[0].start <= now:
        raise invalid_field("session.meetings", "IN_THE_PAST", "a session is scheduled ahead")
    _require_trainer(unit, spec)
    session = Session(
        id=session_id, course_id=course.id, spec=spec, state=SessionState.SCHEDULED, created_at=now
    )
    unit.sessions.add(session)
    unit.record(SessionScheduled(session, ()))
    return session


SESSION_FIELDS = frozenset({"meetings", "trainer", "room", "virtual_link", "capacity", "min_group_size"})


def update_session(
    unit: TrainingUnit,
    caller: Caller,
    *,
    session_id: str,
    course_id: str,
    proposed: SessionSpec,
    fields: frozenset[str],
    expected_version: int | None,
    now: datetime,
) -> Session:
    caller.require_catalogue()
    for name in sorted(fields):
        if name not in SESSION_FIELDS:
            raise invalid_field(
                "update_mask", "UNKNOWN_FIELD", f"{name} is not a field UpdateSession changes"
            )
    if not fields:
        raise invalid_field("update_mask", "REQUIRED_FIELD_MISSING", "name the fields to change")
    current = require_session(unit.sessions, session_id, course_id, lock=True)
    if expected_version is not None and expected_version != current.version:
        raise aborted(
            "ETAG_MISMATCH", "the session changed since it was read; read it again", session=session_id
        )
    session_rules.require_scheduled(current)
    session_rules.require_not_started(current, now, "changing it")
    renames = {"trainer": "trainer_id"}
    spec = replace(current.spec, **{renames.get(f, f): getattr(proposed, renames.get(f, f)) for f in fields})
    course = require_course(unit.courses, course_id)
    spec = session_rules.check_spec(spec, course, now=now)
    holding = unit.enrollments.of_session(session_id)
    seated = [e for e in holding if e.state in HOLDS_SEAT]
    if spec.capacity < len(seated):
        raise failed_precondition(
            "CAPACITY_BELOW_ENROLLED",
            f"session.capacity: {len(seated)} people hold seats; withdraw some first",
            field="session.capacity",
        )
    if "meetings" in fields or "trainer" in fields:
        _require_trainer(unit, spec, other_than=session_id)
    if "meetings" in fields:
        for enrollment in seated:
            person = unit.facts.person(enrollment.employee_id)
            if person is not None:
                check_person_free(unit, person, spec.meetings, other_than=session_id)
    changed = replace(current, spec=spec, version=current.version + 1)
    if "meetings" in fields and len(spec.meetings) != len(current.spec.meetings):
        for enrollment in holding:
            unit.enrollments.save(
                replace(enrollment, attended=(None,) * len(spec.meetings), version=enrollment.version + 1),
                expected_version=enrollment.version,
            )
        holding = unit.enrollments.of_session(session_id)
    for promoted in session_rules.promotions(changed, holding):
        unit.enrollments.save(promoted, expected_version=promoted.version - 1)
    unit.sessions.save(changed, expected_version=current.version)
    unit.record(SessionScheduled(changed, participants(unit, changed)))
    return changed


def cancel_session(
    unit: TrainingUnit, caller: Caller, *, session_id: str, course_id: str, now: datetime
) -> Session:
    caller.require_catalogue()
    current = require_session(unit.sessions, session_id, course_id, lock=True)
    session_rules.require_scheduled(current)
    session_rules.require_not_started(current, now, "cancelling it")
    return _cancel(unit, current)


def _cancel(unit: TrainingUnit, current: Session) -> Session:
    changed = replace(current, state=SessionState.CANCELLED, version=current.version + 1)
    unit.sessions.save(changed, expected_version=current.version)
    unit.record(SessionCancelled(changed))
    return changed


def cancel_underfilled(unit: TrainingUnit, *, now: datetime, notice: timedelta) -> list[Session]:
    """Sessions starting within `notice` that still have fewer seated people than their minimum
    group size are called off, so their trainer and participants go back on the phones and
    scheduling frees the blocked time (`session.cancelled`). A session created already inside
    that notice was planned at short notice on purpose and is left to its planner."""
    candidates = [
        s
        for s in unit.sessions.needing_a_minimum(after=now, until=now + notice)
        if s.created_at <= s.first_start - notice
    ]
    seats = unit.sessions.counts([s.id for s in candidates])
    return [
        _cancel(unit, session)
        for session in candidates
        if session_rules.underfilled(session, seats.get(session.id, (0, 0))[0])
    ]
