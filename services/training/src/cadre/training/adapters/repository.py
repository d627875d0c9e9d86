"""Training repositories over SQLAlchemy Core. They never commit: the unit of work does."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from cadre.authority import usage
from cadre.authority.policy import Action, Amount, Decision
from cadre.chassis.db import UnitOfWork
from cadre.chassis.errors import aborted, already_exists
from cadre.training.adapters import event_mapping
from cadre.training.adapters.tables import (
    approved_leave,
    certifications,
    courses,
    enrollments,
    known_people,
    known_teams,
    published_requirements,
    published_schedules,
    published_shifts,
    sessions,
)
from cadre.training.domain.certification import Certification, CertificationState
from cadre.training.domain.course import Course, CourseSpec, Delivery, SkillRequirement
from cadre.training.domain.events import TrainingEvent
from cadre.training.domain.people import HeldSkill, Person, Team, TrainerPosition
from cadre.training.domain.schedule import Activity, Leave, Requirement, Shift
from cadre.training.domain.session import (
    Enrollment,
    EnrollmentState,
    Meeting,
    Session,
    SessionSpec,
    SessionState,
)

LIVE = (EnrollmentState.ENROLLED.value, EnrollmentState.WAITLISTED.value)


def _lost_update(what: str) -> Exception:
    return aborted("CONCURRENT_CHANGE", f"the {what} changed meanwhile; read it again and retry")


# ---------------------------------------------------------------- courses


def _course(row: Row[Any]) -> Course:
    return Course(
        id=row.id,
        spec=CourseSpec(
            code=row.code,
            title=row.title,
            skill=row.skill,
            level=row.level,
            duration_minutes=row.duration_minutes,
            pass_mark=row.pass_mark,
            validity_months=row.validity_months,
            prerequisite_courses=tuple(json.loads(row.prerequisite_courses)),
            prerequisite_skills=tuple(
                SkillRequirement(s, lv) for s, lv in json.loads(row.prerequisite_skills)
            ),
            delivery=Delivery(row.delivery),
            required_for_queues=tuple(json.loads(row.required_for_queues)),
        ),
        created_at=row.created_at,
        version=row.version,
    )


def _course_values(course: Course) -> dict[str, Any]:
    s = course.spec
    assert s.delivery is not None
    return {
        "code": s.code,
        "title": s.title.strip(),
        "skill": s.skill,
        "level": s.level,
        "duration_minutes": s.duration_minutes,
        "pass_mark": s.pass_mark,
        "validity_months": s.validity_months,
        "prerequisite_courses": json.dumps(list(s.prerequisite_courses)),
        "prerequisite_skills": json.dumps([[r.skill, r.min_level] for r in s.prerequisite_skills]),
        "delivery": s.delivery.value,
        "required_for_queues": json.dumps(list(s.required_for_queues)),
        "version": course.version,
    }


class SqlCourses:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, course_id: str) -> Course | None:
        row = self._c.execute(select(courses).where(courses.c.id == course_id)).first()
        return _course(row) if row else None

    def code_taken(self, code: str) -> bool:
        return self._c.execute(select(courses.c.id).where(courses.c.code == code)).first() is not None

    def add(self, course: Course) -> None:
        try:
            with self._c.begin_nested():
                self._c.execute(
                    insert(courses).values(
                        id=course.id, created_at=course.created_at, **_course_values(course)
                    )
                )
        except IntegrityError:
            raise already_exists(
                "COURSE_CODE_TAKEN", "course.code: another course has this code", field="course.code"
            ) from None

    def save(self, course: Course, *, expected_version: int) -> None:
        done = self._c.execute(
            update(courses)
            .where(courses.c.id == course.id, courses.c.version == expected_version)
            .values(**_course_values(course))
        )
        if done.rowcount != 1:
            raise _lost_update("course")

    def list(self, *, after: str | None, limit: int) -> Sequence[Course]:
        query = select(courses).order_by(courses.c.code).limit(limit)
        if after is not None:
            query = query.where(courses.c.code > after)
        return [_course(r) for r in self._c.execute(query)]

    def requiring_queues(self) -> Sequence[Course]:
        return [
            _course(r) for r in self._c.execute(select(courses).where(courses.c.required_for_queues != "[]"))
        ]


# ---------------------------------------------------------------- sessions


def _session(row: Row[Any]) -> Session:
    return Session(
        id=row.id,
        course_id=row.course_id,
        spec=SessionSpec(
            meetings=tuple(
                Meeting(datetime.fromisoformat(a), datetime.fromisoformat(b))
                for a, b in json.loads(row.meetings)
            ),
            trainer_id=row.trainer_id,
            room=row.room,
            virtual_link=row.virtual_link,
            capacity=row.capacity,
            min_group_size=row.min_group_size,
        ),
        state=SessionState(row.state),
        created_at=row.created_at,
        version=row.version,
    )


def _session_values(session: Session) -> dict[str, Any]:
    s = session.spec
    return {
        "course_id": session.course_id,
        "trainer_id": s.trainer_id,
        "room": s.room,
        "virtual_link": s.virtual_link,
        "capacity": s.capacity,
        "min_group_size": s.min_group_size,
        "state": session.state.value,
        "meetings": json.dumps([[m.start.isoformat(), m.end.isoformat()] for m in s.meetings]),
        "first_start": s.meetings[0].start,
        "last_end": s.meetings[-1].end,
        "version": session.version,
    }


class SqlSessions:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, session_id: str, *, for_update: bool = False) -> Session | None:
        query = select(sessions).where(sessions.c.id == session_id)
        if for_update:
            query = query.with_for_update()
        row = self._c.execute(query).first()
        return _session(row) if row else None

    def add(self, session: Session) -> None:
        self._c.execute(
            insert(sessions).values(id=session.id, created_at=session.created_at, **_session_values(session))
        )

    def save(self, session: Session, *, expected_version: int) -> None:
        done = self._c.execute(
            update(sessions)
            .where(sessions.c.id == session.id, sessions.c.version == expected_version)
            .values(**_session_values(session))
        )
        if done.rowcount != 1:
            raise _lost_update("session")

    def list(self, *, course_id: str | None, after: tuple[str, str] | None, limit: int) -> Sequence[Session]:
        query = select(sessions).order_by(sessions.c.first_start, sessions.c.id).limit(limit)
        if course_id is not None:
            query = query.where(sessions.c.course_id == course_id)
        if after is not None:
            start = datetime.fromisoformat(after[0])
            query = query.where(
                or_(
                    sessions.c.first_start > start,
                    and_(sessions.c.first_start == start, sessions.c.id > after[1]),
                )
            )
        return [_session(r) for r in self._c.execute(query)]

    def trainer_sessions(self, trainer_id: str, *, start: datetime, end: datetime) -> Sequence[Session]:
        query = select(sessions).where(
            sessions.c.trainer_id == trainer_id,
            sessions.c.state == SessionState.SCHEDULED.value,
            sessions.c.first_start < end,
            sessions.c.last_end > start,
        )
        return [_session(r) for r in self._c.execute(query)]

    def needing_a_minimum(self, *, after: datetime, until: datetime) -> Sequence[Session]:
        query = select(sessions).where(
            sessions.c.state == SessionState.SCHEDULED.value,
            sessions.c.min_group_size > 0,
            sessions.c.first_start > after,
            sessions.c.first_start <= until,
        )
        return [_session(r) for r in self._c.execute(query)]

    def counts(self, session_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
        """(seated, waitlisted) per session."""
        rows = self._c.execute(
            select(enrollments.c.session_id, enrollments.c.state, func.count())
            .where(enrollments.c.session_id.in_(list(session_ids)))
            .group_by(enrollments.c.session_id, enrollments.c.state)
        ).all()
        found: dict[str, list[int]] = {}
        for session_id, state, count in rows:
            entry = found.setdefault(session_id, [0, 0])
            if state == EnrollmentState.WAITLISTED.value:
                entry[1] += count
            elif state != EnrollmentState.CANCELLED.value:
                entry[0] += count
        return {k: (v[0], v[1]) for k, v in found.items()}


# ---------------------------------------------------------------- enrollments


def _enrollment(row: Row[Any]) -> Enrollment:
    return Enrollment(
        id=row.id,
        session_id=row.session_id,
        course_id=row.course_id,
        employee_id=row.employee_id,
        state=EnrollmentState(row.state),
        enrolled_by=row.enrolled_by,
        created_at=row.created_at,
        queued_at=row.queued_at,
        attended=tuple(json.loads(row.attended)),
        score=row.score,
        certification_id=row.certification_id,
        version=row.version,
    )


def _enrollment_values(e: Enrollment) -> dict[str, Any]:
    return {
        "session_id": e.session_id,
        "course_id": e.course_id,
        "employee_id": e.employee_id,
        "state": e.state.value,
        "enrolled_by": e.enrolled_by,
        "queued_at": e.queued_at,
        "attended": json.dumps(list(e.attended)),
        "score": e.score,
        "certification_id": e.certification_id,
        "version": e.version,
    }


class SqlEnrollments:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, enrollment_id: str) -> Enrollment | None:
        row = self._c.execute(select(enrollments).where(enrollments.c.id == enrollment_id)).first()
        return _enrollment(row) if row else None

    def of_session(self, session_id: str) -> Sequence[Enrollment]:
        rows = self._c.execute(
            select(enrollments)
            .where(enrollments.c.session_id == session_id)
            .order_by(enrollments.c.queued_at, enrollments.c.id)
        )
        return [_enrollment(r) for r in rows]

    def add(self, enrollment: Enrollment) -> None:
        self._c.execute(
            insert(enrollments).values(
                id=enrollment.id, created_at=enrollment.created_at, **_enrollment_values(enrollment)
            )
        )

    def save(self, enrollment: Enrollment, *, expected_version: int) -> None:
        done = self._c.execute(
            update(enrollments)
            .where(enrollments.c.id == enrollment.id, enrollments.c.version == expected_version)
            .values(**_enrollment_values(enrollment))
        )
        if done.rowcount != 1:
            raise _lost_update("enrollment")

    def booked(
        self, employee_id: str, *, start: datetime, end: datetime
    ) -> Sequence[tuple[str, str, Session]]:
        rows = self._c.execute(
            select(
                enrollments.c.id.label("enrollment_id"),
                enrollments.c.state.label("enrollment_state"),
                sessions,
            )
            .join(sessions, sessions.c.id == enrollments.c.session_id)
            .where(
                enrollments.c.employee_id == employee_id,
                enrollments.c.state.in_(LIVE),
                sessions.c.state == SessionState.SCHEDULED.value,
                sessions.c.first_start < end,
                sessions.c.last_end > start,
            )
        ).all()
        return [(r.enrollment_id, r.enrollment_state, _session(r)) for r in rows]

    def list(self, session_id: str, *, after: tuple[str, str] | None, limit: int) -> Sequence[Enrollment]:
        query = (
            select(enrollments)
            .where(enrollments.c.session_id == session_id)
            .order_by(enrollments.c.queued_at, enrollments.c.id)
            .limit(limit)
        )
        if after is not None:
            queued = datetime.fromisoformat(after[0])
            query = query.where(
                or_(
                    enrollments.c.queued_at > queued,
                    and_(enrollments.c.queued_at == queued, enrollments.c.id > after[1]),
                )
            )
        return [_enrollment(r) for r in self._c.execute(query)]

    def outcomes_by_team(self, team_ids: Sequence[str]) -> dict[str, tuple[int, int, int]]:
        rows = self._c.execute(
            select(known_people.c.team_id, enrollments.c.state, func.count())
            .join(known_people, known_people.c.id == enrollments.c.employee_id)
            .where(known_people.c.team_id.in_(list(team_ids)), enrollments.c.state != "CANCELLED")
            .group_by(known_people.c.team_id, enrollments.c.state)
        ).all()
        found: dict[str, list[int]] = {}
        for team_id, state, count in rows:
            entry = found.setdefault(team_id, [0, 0, 0])
            entry[0] += count
            if state in ("PASSED", "FAILED"):
                entry[1] += count
            if state == "PASSED":
                entry[2] += count
        return {k: (v[0], v[1], v[2]) for k, v in found.items()}


# ---------------------------------------------------------------- certifications


def _certification(row: Row[Any]) -> Certification:
    return Certification(
        id=row.id,
        employee_id=row.employee_id,
        course_id=row.course_id,
        skill=row.skill,
        level=row.level,
        grant_date=row.grant_date,
        expire_date=row.expire_date,
        state=CertificationState(row.state),
        enrollment_id=row.enrollment,
        version=row.version,
    )


def _certification_values(c: Certification) -> dict[str, Any]:
    return {
        "employee_id": c.employee_id,
        "course_id": c.course_id,
        "skill": c.skill,
        "level": c.level,
        "grant_date": c.grant_date,
        "expire_date": c.expire_date,
        "state": c.state.value,
        "enrollment": c.enrollment_id,
        "version": c.version,
    }


class SqlCertifications:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, certification_id: str) -> Certification | None:
        row = self._c.execute(select(certifications).where(certifications.c.id == certification_id)).first()
        return _certification(row) if row else None

    def of(self, employee_id: str, course_id: str) -> Certification | None:
        row = self._c.execute(
            select(certifications).where(
                certifications.c.employee_id == employee_id, certifications.c.course_id == course_id
            )
        ).first()
        return _certification(row) if row else None

    def add(self, certification: Certification) -> None:
        self._c.execute(
            insert(certifications).values(id=certification.id, **_certification_values(certification))
        )

    def save(self, certification: Certification, *, expected_version: int) -> None:
        done = self._c.execute(
            update(certifications)
            .where(certifications.c.id == certification.id, certifications.c.version == expected_version)
            .values(**_certification_values(certification))
        )
        if done.rowcount != 1:
            raise _lost_update("certification")

    def current_courses(self, employee_id: str, *, on: date) -> set[str]:
        rows = self._c.execute(
            select(certifications.c.course_id).where(
                certifications.c.employee_id == employee_id,
                certifications.c.state == CertificationState.ACTIVE.value,
                or_(certifications.c.expire_date.is_(None), certifications.c.expire_date >= on),
            )
        ).scalars()
        return set(rows)

    def lapsing(self, *, before: date, limit: int) -> Sequence[Certification]:
        rows = self._c.execute(
            select(certifications)
            .where(
                certifications.c.state == CertificationState.ACTIVE.value,
                certifications.c.expire_date < before,
            )
            .order_by(certifications.c.expire_date, certifications.c.id)
            .limit(limit)
        )
        return [_certification(r) for r in rows]

    def list(
        self,
        *,
        employee_ids: Sequence[str] | None,
        expiring_by: date | None,
        after: str | None,
        limit: int,
    ) -> Sequence[Certification]:
        query = select(certifications).order_by(certifications.c.id).limit(limit)
        if employee_ids is not None:
            query = query.where(certifications.c.employee_id.in_(list(employee_ids)))
        if expiring_by is not None:
            query = query.where(
                certifications.c.state == CertificationState.ACTIVE.value,
                certifications.c.expire_date.is_not(None),
                certifications.c.expire_date <= expiring_by,
            )
        if after is not None:
            query = query.where(certifications.c.id > after)
        return [_certification(r) for r in self._c.execute(query)]


# ---------------------------------------------------------------- facts from roster and scheduling


def _person(row: Row[Any]) -> Person:
    skills = {
        code: HeldSkill(level, date.fromisoformat(expire) if expire else None)
        for code, (level, expire) in json.loads(row.skills).items()
    }
    positions = tuple(
        TrainerPosition(date.fromisoformat(a), date.fromisoformat(b) if b else None)
        for a, b in json.loads(row.trainer_positions)
    )
    return Person(row.id, row.team_id, row.role, row.state, skills, positions)


def _team(row: Row[Any]) -> Team:
    return Team(row.id, row.time_zone, tuple(row.path.strip("/").split("/")))


def _shift(row: Row[Any]) -> Shift:
    return Shift(
        schedule=row.schedule,
        employee_id=row.employee_id,
        queue=row.queue,
        start=row.start_time,
        end=row.end_time,
        activities=tuple(
            Activity(kind, datetime.fromisoformat(a), datetime.fromisoformat(b))
            for kind, a, b in json.loads(row.activities)
        ),
    )


class SqlFacts:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def person(self, employee_id: str) -> Person | None:
        row = self._c.execute(select(known_people).where(known_people.c.id == employee_id)).first()
        return _person(row) if row else None

    def team(self, team_id: str) -> Team | None:
        row = self._c.execute(select(known_teams).where(known_teams.c.id == team_id)).first()
        return _team(row) if row else None

    def members(self, team_ids: Sequence[str]) -> Sequence[Person]:
        rows = self._c.execute(
            select(known_people).where(known_people.c.team_id.in_(list(team_ids))).order_by(known_people.c.id)
        )
        return [_person(r) for r in rows]

    def teams_under(self, unit_id: str) -> Sequence[Team]:
        rows = self._c.execute(select(known_teams).where(known_teams.c.path.contains(f"/{unit_id}/")))
        return [_team(r) for r in rows]

    def shifts(self, employee_ids: Sequence[str], *, start: datetime, end: datetime) -> Sequence[Shift]:
        rows = self._c.execute(
            select(published_shifts)
            .where(
                published_shifts.c.employee_id.in_(list(employee_ids)),
                published_shifts.c.start_time < end,
                published_shifts.c.end_time > start,
            )
            .order_by(published_shifts.c.start_time)
        )
        return [_shift(r) for r in rows]

    def shifts_on_queues(self, queues: Sequence[str], *, start: datetime, end: datetime) -> Sequence[Shift]:
        rows = self._c.execute(
            select(published_shifts).where(
                published_shifts.c.queue.in_(list(queues)),
                published_shifts.c.start_time < end,
                published_shifts.c.end_time > start,
            )
        )
        return [_shift(r) for r in rows]

    def covered_days(self, team_id: str, *, first: date, last: date) -> set[date]:
        days: set[date] = set()
        for row in self._c.execute(
            select(published_schedules.c.start_date, published_schedules.c.days).where(
                published_schedules.c.org_unit_id == team_id
            )
        ):
            for offset in range(row.days):
                day = row.start_date + timedelta(days=offset)
                if first <= day <= last:
                    days.add(day)
        return days

    def leave(self, employee_id: str) -> Sequence[Leave]:
        rows = self._c.execute(select(approved_leave).where(approved_leave.c.employee_id == employee_id))
        return [
            Leave(r.leave_request, tuple(date.fromisoformat(d) for d in json.loads(r.days))) for r in rows
        ]

    def requirement(self, queue: str) -> Requirement | None:
        row = self._c.execute(
            select(published_requirements).where(published_requirements.c.queue == queue)
        ).first()
        if row is None:
            return None
        return Requirement(
            queue=row.queue,
            start=row.start_time,
            interval_minutes=row.interval_minutes,
            volumes=tuple(json.loads(row.volumes)),
            aht_seconds=tuple(json.loads(row.aht_seconds)),
            agents=tuple(json.loads(row.agents)),
            answer_seconds=row.answer_seconds,
            patience_seconds=row.patience_seconds,
        )


class SqlTrainingUnit:
    """Training's view of one chassis unit of work."""

    def __init__(self, unit: UnitOfWork) -> None:
        self._unit = unit
        self.courses = SqlCourses(unit.connection)
        self.sessions = SqlSessions(unit.connection)
        self.enrollments = SqlEnrollments(unit.connection)
        self.certifications = SqlCertifications(unit.connection)
        self.facts = SqlFacts(unit.connection)

    def record(self, event: TrainingEvent, *, acting_under: str = "") -> None:
        for publication in event_mapping.publications(event):
            self._unit.publish(
                event_type=publication.event_type, entity=publication.entity, payload=publication.payload
            )
        for entry in event_mapping.audit_entries(event):
            self._unit.audit(
                action=entry[0], entity=entry[1], before=None, after=entry[2], acting_under=acting_under
            )

    def report_use(
        self,
        *,
        decision: Decision,
        actor: str,
        action: Action,
        target: str,
        amount: Amount,
        decision_name: str,
        decided_at: datetime,
    ) -> None:
        usage.record_use(
            self._unit,
            decision=decision,
            actor=actor,
            action=action,
            target=target,
            amount=amount,
            decision_name=decision_name,
            decided_at=decided_at,
        )
        self._unit.audit(
            action="training.enrollment.decided_under_grant",
            entity=decision_name,
            before=None,
            after={"target": target, "minutes": amount.minutes},
            acting_under=" → ".join(f"grants/{g.id}" for g in decision.chain),
        )


class SqlTrainingReader(SqlTrainingUnit):
    """Read-only repositories over a plain connection: records nothing."""

    def __init__(self, connection: Connection) -> None:
        self.courses = SqlCourses(connection)
        self.sessions = SqlSessions(connection)
        self.enrollments = SqlEnrollments(connection)
        self.certifications = SqlCertifications(connection)
        self.facts = SqlFacts(connection)

    def record(self, event: TrainingEvent, *, acting_under: str = "") -> None:
        raise RuntimeError("a read-only view records nothing")
