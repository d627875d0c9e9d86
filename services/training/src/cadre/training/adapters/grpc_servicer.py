"""TrainingService over gRPC: parses requests, runs use cases on the database pool.

Requests are checked field by field before any database work, so bad input takes no
write lock and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from sqlalchemy import select

from cadre.chassis import paging
from cadre.chassis.db import Database, UnitOfWork
from cadre.chassis.errors import DomainError, Violations, invalid_field
from cadre.chassis.idempotency import fingerprint, run_idempotent
from cadre.chassis.resource_names import new_id, parse_name
from cadre.chassis.tables import request_ledger
from cadre.training.adapters import proto_mapping as m
from cadre.training.adapters.access import CallerResolver
from cadre.training.adapters.repository import SqlTrainingReader, SqlTrainingUnit
from cadre.training.app import catalog, compliance, enrollment, planning
from cadre.training.app.access import Caller, out_of_scope
from cadre.training.domain.session import waitlist_positions
from cadre.training.v1 import (
    certification_pb2,
    course_pb2,
    session_pb2,
    training_service_pb2,
    training_service_pb2_grpc,
)

T = TypeVar("T")
M = TypeVar("M", bound=Message)
Clock = Callable[[], datetime]
SERVICE = training_service_pb2.DESCRIPTOR.services_by_name["TrainingService"].full_name
pb = training_service_pb2
SESSION = (m.COURSES, "sessions")
ENROLLMENT = (m.COURSES, "sessions", "enrollments")
CERTIFICATION = (m.EMPLOYEES, "certifications")


def _course_parent(name: str, field_path: str) -> str | None:
    """`courses/{id}`, or None for `courses/-`."""
    if name == f"{m.COURSES}/-":
        return None
    return parse_name(name, m.COURSES, field_path)


class TrainingServicer(training_service_pb2_grpc.TrainingServiceServicer):
    def __init__(self, db: Database, *, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self._db = db
        self._clock = clock
        self._callers = CallerResolver()

    def _once(
        self,
        method: str,
        request: Any,
        response_type: type[M],
        work: Callable[[SqlTrainingUnit, Caller, datetime], M],
    ) -> M:
        """`work` in one transaction, done once per request id: a retry gets the first answer."""

        def run(unit: UnitOfWork) -> M:
            now = self._clock()
            caller = self._callers.caller(unit.connection, now=now)
            return work(SqlTrainingUnit(unit), caller, now)

        request_id = getattr(request, "request_id", "")
        try:
            return run_idempotent(
                self._db,
                method=f"{SERVICE}/{method}",
                request=request,
                request_id=request_id,
                response_type=response_type,
                work=run,
            )
        except DomainError:
            # A twin with the same request id may have committed while this one waited for the
            # session's lock (PostgreSQL checks the ledger before that wait): answer as it did.
            earlier = self._remembered(f"{SERVICE}/{method}", request, request_id, response_type)
            if earlier is None:
                raise
            return earlier

    def _remembered(self, method: str, request: Any, request_id: str, response_type: type[M]) -> M | None:
        if not request_id:
            return None
        with self._db.reader() as connection:
            row = connection.execute(
                select(request_ledger.c.fingerprint, request_ledger.c.response).where(
                    request_ledger.c.method == method, request_ledger.c.request_id == request_id
                )
            ).first()
        if row is None or row.fingerprint != fingerprint(request):
            return None
        return response_type.FromString(row.response)

    async def _write(
        self,
        method: str,
        request: Any,
        response_type: type[M],
        work: Callable[[SqlTrainingUnit, Caller, datetime], M],
    ) -> M:
        return await self._db.run(self._once, method, request, response_type, work)

    def _read_now(self, query: Callable[[SqlTrainingReader, Caller, datetime], T]) -> T:
        with self._db.reader() as connection:
            now = self._clock()
            return query(SqlTrainingReader(connection), self._callers.caller(connection, now=now), now)

    async def _read(self, query: Callable[[SqlTrainingReader, Caller, datetime], T]) -> T:
        return await self._db.run(self._read_now, query)

    # ------------------------------------------------------------ courses

    async def CreateCourse(
        self, request: pb.CreateCourseRequest, context: grpc.aio.ServicerContext
    ) -> course_pb2.Course:
        spec = m.course_spec_from_proto(request.course)
        course_id = new_id()
        return await self._write(
            "CreateCourse",
            request,
            course_pb2.Course,
            lambda u, c, now: m.course_to_proto(
                catalog.create_course(u, c, course_id=course_id, spec=spec, now=now)
            ),
        )

    async def GetCourse(
        self, request: pb.GetCourseRequest, context: grpc.aio.ServicerContext
    ) -> course_pb2.Course:
        course_id = parse_name(request.name, m.COURSES, "name")
        return await self._read(
            lambda r, c, now: m.course_to_proto(catalog.require_course(r.courses, course_id))
        )

    async def ListCourses(
        self, request: pb.ListCoursesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCoursesResponse:
        limit = paging.page_size(request.page_size)
        filters: dict[str, object] = {}
        cursor = paging.decode_page_token(request.page_token, filters)
        found = await self._read(
            lambda r, c, now: r.courses.list(after=cursor.after[0] if cursor else None, limit=limit + 1)
        )
        page, token = paging.trim_page(found, limit, lambda x: (x.spec.code,), filters)
        return pb.ListCoursesResponse(courses=[m.course_to_proto(x) for x in page], next_page_token=token)

    async def UpdateCourse(
        self, request: pb.UpdateCourseRequest, context: grpc.aio.ServicerContext
    ) -> course_pb2.Course:
        course_id = parse_name(request.course.name, m.COURSES, "course.name")
        expected = m.version_from_etag(request.course.etag, "course.etag")
        fields = frozenset(request.update_mask.paths)
        proposed = m.course_spec_from_proto(request.course)
        return await self._write(
            "UpdateCourse",
            request,
            course_pb2.Course,
            lambda u, c, now: m.course_to_proto(
                catalog.update_course(
                    u, c, course_id=course_id, proposed=proposed, fields=fields, expected_version=expected
                )
            ),
        )

    # ------------------------------------------------------------ sessions

    @staticmethod
    def _session_proto(reader: SqlTrainingReader | SqlTrainingUnit, session: Any) -> session_pb2.Session:
        return m.session_to_proto(session, reader.sessions.counts([session.id]).get(session.id, (0, 0)))

    async def CreateSession(
        self, request: pb.CreateSessionRequest, context: grpc.aio.ServicerContext
    ) -> session_pb2.Session:
        course_id = parse_name(request.parent, m.COURSES, "parent")
        spec = m.session_spec_from_proto(request.session)
        session_id = new_id()
        return await self._write(
            "CreateSession",
            request,
            session_pb2.Session,
            lambda u, c, now: self._session_proto(
                u,
                catalog.create_session(u, c, session_id=session_id, course_id=course_id, spec=spec, now=now),
            ),
        )

    async def GetSession(
        self, request: pb.GetSessionRequest, context: grpc.aio.ServicerContext
    ) -> session_pb2.Session:
        course_id, session_id = m.nested_ids(request.name, SESSION, "name")
        return await self._read(
            lambda r, c, now: self._session_proto(
                r, catalog.require_session(r.sessions, session_id, course_id)
            )
        )

    async def ListSessions(
        self, request: pb.ListSessionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSessionsResponse:
        course_id = _course_parent(request.parent, "parent")
        limit = paging.page_size(request.page_size)
        filters: dict[str, object] = {"parent": request.parent}
        cursor = paging.decode_page_token(request.page_token, filters)
        after = (cursor.after[0], cursor.after[1]) if cursor and len(cursor.after) == 2 else None

        def query(r: SqlTrainingReader, c: Caller, now: datetime) -> pb.ListSessionsResponse:
            if course_id is not None:
                catalog.require_course(r.courses, course_id)
            found = r.sessions.list(course_id=course_id, after=after, limit=limit + 1)
            page, token = paging.trim_page(found, limit, lambda s: (s.first_start.isoformat(), s.id), filters)
            counts = r.sessions.counts([s.id for s in page])
            return pb.ListSessionsResponse(
                sessions=[m.session_to_proto(s, counts.get(s.id, (0, 0))) for s in page],
                next_page_token=token,
            )

        return await self._read(query)

    async def UpdateSession(
        self, request: pb.UpdateSessionRequest, context: grpc.aio.ServicerContext
    ) -> session_pb2.Session:
        course_id, session_id = m.nested_ids(request.session.name, SESSION, "session.name")
        expected = m.version_from_etag(request.session.etag, "session.etag")
        fields = frozenset(request.update_mask.paths)
        proposed = m.session_spec_from_proto(request.session, need_trainer="trainer" in fields)
        return await self._write(
            "UpdateSession",
            request,
            session_pb2.Session,
            lambda u, c, now: self._session_proto(
                u,
                catalog.update_session(
                    u,
                    c,
                    session_id=session_id,
                    course_id=course_id,
                    proposed=proposed,
                    fields=fields,
                    expected_version=expected,
                    now=now,
                ),
            ),
        )

    async def CancelSession(
        self, request: pb.CancelSessionRequest, context: grpc.aio.ServicerContext
    ) -> session_pb2.Session:
        course_id, session_id = m.nested_ids(request.name, SESSION, "name")
        return await self._write(
            "CancelSession",
            request,
            session_pb2.Session,
            lambda u, c, now: self._session_proto(
                u, catalog.cancel_session(u, c, session_id=session_id, course_id=course_id, now=now)
            ),
        )

    # ------------------------------------------------------------ enrollment

    @staticmethod
    def _enrollment_proto(reader: SqlTrainingReader | SqlTrainingUnit, e: Any) -> session_pb2.Enrollment:
        positions = waitlist_positions(reader.enrollments.of_session(e.session_id))
        return m.enrollment_to_proto(e, positions.get(e.id, 0))

    async def CreateEnrollment(
        self, request: pb.CreateEnrollmentRequest, context: grpc.aio.ServicerContext
    ) -> session_pb2.Enrollment:
        course_id, session_id = m.nested_ids(request.parent, SESSION, "parent")
        employee_id = parse_name(request.employee, m.EMPLOYEES, "employee")
        enrollment_id = new_id()
        return await self._write(
            "CreateEnrollment",
            request,
            session_pb2.Enrollment,
            lambda u, c, now: self._enrollment_proto(
                u,
                enrollment.enroll(
                    u,
                    c,
                    enrollment_id=enrollment_id,
                    course_id=course_id,
                    session_id=session_id,
                    employee_id=employee_id,
                    now=now,
                ),
            ),
        )

    async def GetEnrollment(
        self, request: pb.GetEnrollmentRequest, context: grpc.aio.ServicerContext
    ) -> session_pb2.Enrollment:
        course_id, session_id, enrollment_id = m.nested_ids(request.name, ENROLLMENT, "name")
        return await self._read(
            lambda r, c, now: self._enrollment_proto(
                r,
                enrollment.get_enrollment(
                    r, c, enrollment_id=enrollment_id, course_id=course_id, session_id=session_id
                ),
            )
        )

    async def ListEnrollments(
        self, request: pb.ListEnrollmentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListEnrollmentsResponse:
        course_id, session_id = m.nested_ids(request.parent, SESSION, "parent")
        limit = paging.page_size(request.page_size)
        filters: dict[str, object] = {"parent": request.parent}
        cursor = paging.decode_page_token(request.page_token, filters)
        after = (cursor.after[0], cursor.after[1]) if cursor and len(cursor.after) == 2 else None

        def query(r: SqlTrainingReader, c: Caller, now: datetime) -> pb.ListEnrollmentsResponse:
            session = catalog.require_session(r.sessions, session_id, course_id)
            if not (
                c.sees_everything
                or c.role in ("TRAINER", "MANAGER", "HR_SPECIALIST")
                or c.employee_id == session.spec.trainer_id
            ):
                raise out_of_scope()
            found = r.enrollments.list(session_id, after=after, limit=limit + 1)
            page, token = paging.trim_page(found, limit, lambda e: (e.queued_at.isoformat(), e.id), filters)
            positions = waitlist_positions(r.enrollments.of_session(session_id))
            return pb.ListEnrollmentsResponse(
                enrollments=[m.enrollment_to_proto(e, positions.get(e.id, 0)) for e in page],
                next_page_token=token,
            )

        return await self._read(query)

    async def CancelEnrollment(
        self, request: pb.CancelEnrollmentRequest, context: grpc.aio.ServicerContext
    ) -> session_pb2.Enrollment:
        course_id, session_id, enrollment_id = m.nested_ids(request.name, ENROLLMENT, "name")
        return await self._write(
            "CancelEnrollment",
            request,
            session_pb2.Enrollment,
            lambda u, c, now: self._enrollment_proto(
                u,
                enrollment.cancel(
                    u, c, enrollment_id=enrollment_id, course_id=course_id, session_id=session_id, now=now
                ),
            ),
        )

    async def RecordAttendance(
        self, request: pb.RecordAttendanceRequest, context: grpc.aio.ServicerContext
    ) -> session_pb2.Enrollment:
        course_id, session_id, enrollment_id = m.nested_ids(request.name, ENROLLMENT, "name")
        if request.meeting_index < 0:
            raise invalid_field("meeting_index", "OUT_OF_RANGE", "must not be negative")
        return await self._write(
            "RecordAttendance",
            request,
            session_pb2.Enrollment,
            lambda u, c, now: self._enrollment_proto(
                u,
                enrollment.record_attendance(
                    u,
                    c,
                    enrollment_id=enrollment_id,
                    course_id=course_id,
                    session_id=session_id,
                    meeting_index=request.meeting_index,
                    attended=request.attended,
                    now=now,
                ),
            ),
        )

    async def RecordAssessment(
        self, request: pb.RecordAssessmentRequest, context: grpc.aio.ServicerContext
    ) -> session_pb2.Enrollment:
        course_id, session_id, enrollment_id = m.nested_ids(request.name, ENROLLMENT, "name")
        if not 0 <= request.score <= 100:
            raise invalid_field("score", "OUT_OF_RANGE", "must be 0–100")
        certification_id = new_id()
        return await self._write(
            "RecordAssessment",
            request,
            session_pb2.Enrollment,
            lambda u, c, now: self._enrollment_proto(
                u,
                enrollment.record_assessment(
                    u,
                    c,
                    enrollment_id=enrollment_id,
                    course_id=course_id,
                    session_id=session_id,
                    score=request.score,
                    certification_id=certification_id,
                    now=now,
                ),
            ),
        )

    # ------------------------------------------------------------ certifications

    async def GetCertification(
        self, request: pb.GetCertificationRequest, context: grpc.aio.ServicerContext
    ) -> certification_pb2.Certification:
        employee_id, certification_id = m.nested_ids(request.name, CERTIFICATION, "name")
        return await self._read(
            lambda r, c, now: m.certification_to_proto(
                enrollment.get_certification(r, c, employee_id=employee_id, certification_id=certification_id)
            )
        )

    async def ListCertifications(
        self, request: pb.ListCertificationsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCertificationsResponse:
        everyone = request.parent == f"{m.EMPLOYEES}/-"
        employee_id = None if everyone else parse_name(request.parent, m.EMPLOYEES, "parent")
        if not 0 <= request.expiring_within_days <= 3660:
            raise invalid_field("expiring_within_days", "OUT_OF_RANGE", "must be 0–3660")
        limit = paging.page_size(request.page_size)
        filters: dict[str, object] = {"parent": request.parent, "days": request.expiring_within_days}
        cursor = paging.decode_page_token(request.page_token, filters)

        def query(r: SqlTrainingReader, c: Caller, now: datetime) -> pb.ListCertificationsResponse:
            from datetime import timedelta

            if employee_id is not None:
                person = r.facts.person(employee_id)
                team = r.facts.team(person.team_id) if person else None
                c.require_person(employee_id, team.path if team else None)
                ids: list[str] | None = [employee_id]
            else:
                ids = compliance.visible_people(r, c)
            by = (
                now.date() + timedelta(days=request.expiring_within_days)
                if request.expiring_within_days
                else None
            )
            found = r.certifications.list(
                employee_ids=ids, expiring_by=by, after=cursor.after[0] if cursor else None, limit=limit + 1
            )
            page, token = paging.trim_page(found, limit, lambda x: (x.id,), filters)
            return pb.ListCertificationsResponse(
                certifications=[m.certification_to_proto(x) for x in page], next_page_token=token
            )

        return await self._read(query)

    # ------------------------------------------------------------ planning and compliance

    async def ProposeSessionSlots(
        self, request: pb.ProposeSessionSlotsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ProposeSessionSlotsResponse:
        v = Violations()
        course_id = parse_name(request.course, m.COURSES, "course")
        participants = [
            parse_name(name, m.EMPLOYEES, f"participants[{i}]")
            for i, name in enumerate(request.participants[:501])
        ]
        team_id = parse_name(request.team, m.ORG_UNITS, "team") if request.team else ""
        trainer_id = parse_name(request.trainer, m.EMPLOYEES, "trainer") if request.trainer else ""
        start = m.moment(request.start_time, "start_time", v)
        end = m.moment(request.end_time, "end_time", v)
        v.raise_if_any()
        assert start is not None and end is not None

        def query(r: SqlTrainingReader, c: Caller, now: datetime) -> pb.ProposeSessionSlotsResponse:
            result, _ = planning.propose_slots(
                r,
                c,
                course_id=course_id,
                participant_ids=participants,
                team_id=team_id,
                participant_count=request.participant_count,
                trainer_id=trainer_id,
                start=start,
                end=end,
                floor=request.service_level_floor,
                max_proposals=request.max_proposals,
            )
            return pb.ProposeSessionSlotsResponse(
                proposals=[m.proposal_to_proto(p) for p in result.proposals],
                candidates_considered=result.candidates_considered,
                candidates_below_floor=result.candidates_below_floor,
            )

        return await self._read(query)

    async def GetComplianceReport(
        self, request: pb.GetComplianceReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.ComplianceReport:
        unit_id = parse_name(request.org_unit, m.ORG_UNITS, "org_unit")
        if not 0 <= request.expiring_within_days <= 3660:
            raise invalid_field("expiring_within_days", "OUT_OF_RANGE", "must be 0–3660")
        days = request.expiring_within_days or 30

        def query(r: SqlTrainingReader, c: Caller, now: datetime) -> pb.ComplianceReport:
            found = compliance.report(r, c, org_unit_id=unit_id, within_days=days, now=now)
            return pb.ComplianceReport(
                gaps=[
                    pb.ComplianceReport.Gap(
                        employee=f"{m.EMPLOYEES}/{g.employee_id}",
                        queue=g.queue,
                        course=f"{m.COURSES}/{g.course_id}",
                    )
                    for g in found.gaps
                ],
                expiring=[m.certification_to_proto(x) for x in found.expiring],
                teams=[
                    pb.ComplianceReport.TeamCompletion(
                        team=f"{m.ORG_UNITS}/{t.team_id}",
                        assessed=t.assessed,
                        passed=t.passed,
                        enrolled=t.enrolled,
                        completion_rate=t.rate,
                    )
                    for t in found.teams
                ],
            )

        return await self._read(query)
