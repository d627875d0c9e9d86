"""Enrollment, the waitlist, attendance, assessment, certification and its expiry.

Every change to a session's seats first locks the session's row (FOR UPDATE on PostgreSQL;
SQLite's writers are serialized already) and saves the session with a higher version, so
two withdrawals racing for the same freed seat promote the first on the waitlist once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from cadre.authority.policy import Action, Amount
from cadre.chassis.errors import failed_precondition, not_found, permission_denied
from cadre.training.app.access import Caller
from cadre.training.app.catalog import check_person_free, participants, require_course, require_session
from cadre.training.app.ports import TrainingUnit
from cadre.training.domain import certification as certification_rules
from cadre.training.domain import session as session_rules
from cadre.training.domain.certification import Certification
from cadre.training.domain.events import (
    CertificationExpired,
    CertificationGranted,
    SessionScheduled,
    TrainingTimeRecorded,
)
from cadre.training.domain.people import Person
from cadre.training.domain.session import Enrollment, EnrollmentState, Session


def _today(unit: TrainingUnit, person: Person | None, now: datetime) -> date:
    team = unit.facts.team(person.team_id) if person else None
    return now.astimezone(team.zone).date() if team else now.date()


def _seats_changed(unit: TrainingUnit, session: Session) -> Session:
    """The session one version on, published with its participants as they now are."""
    changed = replace(session, version=session.version + 1)
    unit.sessions.save(changed, expected_version=session.version)
    unit.record(SessionScheduled(changed, participants(unit, changed)))
    return changed


def enroll(
    unit: TrainingUnit,
    caller: Caller,
    *,
    enrollment_id: str,
    course_id: str,
    session_id: str,
    employee_id: str,
    now: datetime,
) -> Enrollment:
    session = require_session(unit.sessions, session_id, course_id, lock=True)
    decision = caller.enroll_decision(employee_id, session.minutes)
    person = unit.facts.person(employee_id)
    if person is None or not person.current:
        raise caller.missing("EMPLOYEE_NOT_FOUND", "no such current employee", employee=employee_id)
    course = require_course(unit.courses, course_id)
    today = _today(unit, person, now)
    missing = certification_rules.prerequisites_missing(
        course,
        certified_courses=unit.certifications.current_courses(employee_id, on=today),
        skills={code: (held.level, held.expire_date) for code, held in person.skills.items()},
        on=today,
    )
    if missing:
        raise failed_precondition(
            "PREREQUISITES_MISSING",
            "the person lacks " + ", ".join(missing),
            employee=f"employees/{employee_id}",
        )
    holding = unit.enrollments.of_session(session.id)
    enrollment = session_rules.place(
        enrollment_id=enrollment_id,
        session=session,
        employee_id=employee_id,
        enrolled_by=caller.principal,
        holding=holding,
        now=now,
    )
    check_person_free(unit, person, session.spec.meetings, other_than=session.id)
    unit.enrollments.add(enrollment)
    name = f"courses/{course_id}/sessions/{session_id}/enrollments/{enrollment_id}"
    if decision is not None:
        unit.report_use(
            decision=decision,
            actor=caller.principal,
            action=Action.ENROLL_TRAINING,
            target=f"employees/{employee_id}",
            amount=Amount(minutes=session.minutes),
            decision_name=name,
            decided_at=now,
        )
    _seats_changed(unit, session)
    return enrollment


def require_enrollment(unit: TrainingUnit, caller: Caller, enrollment_id: str, session_id: str) -> Enrollment:
    enrollment = unit.enrollments.get(enrollment_id)
    if enrollment is None or enrollment.session_id != session_id:
        raise caller.missing("ENROLLMENT_NOT_FOUND", "no such enrollment", enrollment=enrollment_id)
    return enrollment


def _require_may_see(unit: TrainingUnit, caller: Caller, enrollment: Enrollment, session: Session) -> None:
    if caller.principal in (enrollment.enrolled_by, f"employees/{session.spec.trainer_id}"):
        return
    person = unit.facts.person(enrollment.employee_id)
    team = unit.facts.team(person.team_id) if person else None
    caller.require_person(enrollment.employee_id, team.path if team else None)


def get_enrollment(
    unit: TrainingUnit, caller: Caller, *, enrollment_id: str, course_id: str, session_id: str
) -> Enrollment:
    session = require_session(unit.sessions, session_id, course_id)
    enrollment = require_enrollment(unit, caller, enrollment_id, session_id)
    _require_may_see(unit, caller, enrollment, session)
    return enrollment


def cancel(
    unit: TrainingUnit, caller: Caller, *, enrollment_id: str, course_id: str, session_id: str, now: datetime
) -> Enrollment:
    session = require_session(unit.sessions, session_id, course_id, lock=True)
    enrollment = require_enrollment(unit, caller, enrollment_id, session_id)
    if caller.principal != enrollment.enrolled_by:
        caller.enroll_decision(enrollment.employee_id, session.minutes)
    withdrawn = session_rules.withdraw(enrollment, session, now=now)
    unit.enrollments.save(withdrawn, expected_version=enrollment.version)
    holding = [withdrawn if e.id == withdrawn.id else e for e in unit.enrollments.of_session(session.id)]
    for promoted in session_rules.promotions(session, holding):
        unit.enrollments.save(promoted, expected_version=promoted.version - 1)
    _seats_changed(unit, session)
    return withdrawn


def _require_trainer_or_admin(caller: Caller, session: Session) -> None:
    if caller.sees_everything or caller.employee_id == session.spec.trainer_id:
        return
    raise permission_denied(
        "NOT_THE_TRAINER", "attendance and assessment are recorded by the session's trainer"
    )


def record_attendance(
    unit: TrainingUnit,
    caller: Caller,
    *,
    enrollment_id: str,
    course_id: str,
    session_id: str,
    meeting_index: int,
    attended: bool,
    now: datetime,
) -> Enrollment:
    session = require_session(unit.sessions, session_id, course_id)
    _require_trainer_or_admin(caller, session)
    enrollment = require_enrollment(unit, caller, enrollment_id, session_id)
    changed = session_rules.record_attendance(
        enrollment, meeting_index=meeting_index, attended=attended, session=session
    )
    meeting = session.spec.meetings[meeting_index]
    if meeting.start > now:
        raise failed_precondition("MEETING_NOT_STARTED", "attendance is taken once the meeting has begun")
    unit.enrollments.save(changed, expected_version=enrollment.version)
    person = unit.facts.person(enrollment.employee_id)
    team = unit.facts.team(person.team_id) if person else None
    zone = team.zone if team else None

    def day(moment: datetime) -> date:
        return moment.astimezone(zone).date() if zone else moment.date()

    work_date = day(meeting.start)
    minutes = sum(
        m.minutes
        for m, mark in zip(session.spec.meetings, changed.attended, strict=True)
        if mark and day(m.start) == work_date
    )
    if changed.attended != enrollment.attended:
        unit.record(TrainingTimeRecorded(enrollment.employee_id, session, work_date, minutes))
    return changed


def record_assessment(
    unit: TrainingUnit,
    caller: Caller,
    *,
    enrollment_id: str,
    course_id: str,
    session_id: str,
    score: int,
    certification_id: str,
    now: datetime,
) -> Enrollment:
    session = require_session(unit.sessions, session_id, course_id)
    _require_trainer_or_admin(caller, session)
    enrollment = require_enrollment(unit, caller, enrollment_id, session_id)
    course = require_course(unit.courses, course_id)
    assessed = session_rules.assess(enrollment, score=score, course=course)
    if assessed.state is EnrollmentState.PASSED:
        person = unit.facts.person(enrollment.employee_id)
        existing = unit.certifications.of(enrollment.employee_id, course_id)
        certification = certification_rules.grant_or_renew(
            existing,
            certification_id=certification_id,
            employee_id=enrollment.employee_id,
            course=course,
            enrollment_id=f"courses/{course_id}/sessions/{session_id}/enrollments/{enrollment.id}",
            today=_today(unit, person, now),
        )
        if existing is None:
            unit.certifications.add(certification)
        else:
            unit.certifications.save(certification, expected_version=existing.version)
        unit.record(CertificationGranted(certification))
        assessed = replace(assessed, certification_id=certification.id)
    unit.enrollments.save(assessed, expected_version=enrollment.version)
    return assessed


def get_certification(
    unit: TrainingUnit, caller: Caller, *, employee_id: str, certification_id: str
) -> Certification:
    person = unit.facts.person(employee_id)
    team = unit.facts.team(person.team_id) if person else None
    caller.require_person(employee_id, team.path if team else None)
    certification = unit.certifications.get(certification_id)
    if certification is None or certification.employee_id != employee_id:
        raise not_found("CERTIFICATION_NOT_FOUND", "no such certification", certification=certification_id)
    return certification


def expire_due(unit: TrainingUnit, *, now: datetime, limit: int = 500) -> list[Certification]:
    """Certifications whose last valid day is behind, in each person's team time zone."""
    lapsed = []
    # Candidates by the latest "today" anywhere (UTC+14); each is checked in its own zone.
    latest_today = (now + timedelta(hours=14)).date()
    for certification in unit.certifications.lapsing(before=latest_today, limit=limit):
        person = unit.facts.person(certification.employee_id)
        changed = certification_rules.lapse(certification, today=_today(unit, person, now))
        if changed is None:
            continue
        unit.certifications.save(changed, expected_version=certification.version)
        unit.record(CertificationExpired(changed))
        lapsed.append(changed)
    return lapsed
