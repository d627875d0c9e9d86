"""Training's domain events as what goes on the bus and into the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from cadre.chassis.proto_dates import date_to_proto
from cadre.training.domain.certification import Certification
from cadre.training.domain.events import (
    CertificationExpired,
    CertificationGranted,
    SessionCancelled,
    SessionScheduled,
    TrainingEvent,
    TrainingTimeRecorded,
)
from cadre.training.domain.session import Session
from cadre.training.v1 import events_pb2

SESSION_SCHEDULED = "cadre.training.v1.session.scheduled"
SESSION_CANCELLED = "cadre.training.v1.session.cancelled"
CERTIFICATION_GRANTED = "cadre.training.v1.certification.granted"
CERTIFICATION_EXPIRED = "cadre.training.v1.certification.expired"
TRAINING_TIME_RECORDED = "cadre.training.v1.training_time.recorded"


@dataclass(frozen=True)
class Publication:
    event_type: str
    entity: str
    payload: Message


def session_name(session: Session) -> str:
    return f"courses/{session.course_id}/sessions/{session.id}"


def certification_name(certification: Certification) -> str:
    return f"employees/{certification.employee_id}/certifications/{certification.id}"


def _meetings(session: Session) -> list[events_pb2.SessionMeeting]:
    meetings = []
    for meeting in session.spec.meetings:
        proto = events_pb2.SessionMeeting()
        proto.start_time.FromDatetime(meeting.start)
        proto.end_time.FromDatetime(meeting.end)
        meetings.append(proto)
    return meetings


def publications(event: TrainingEvent) -> list[Publication]:
    match event:
        case SessionScheduled(session=session, participant_ids=people):
            name = session_name(session)
            return [
                Publication(
                    SESSION_SCHEDULED,
                    name,
                    events_pb2.SessionScheduledEvent(
                        session=name,
                        course=f"courses/{session.course_id}",
                        meetings=_meetings(session),
                        trainer=f"employees/{session.spec.trainer_id}",
                        participants=[f"employees/{p}" for p in people],
                        version=session.version,
                    ),
                )
            ]
        case SessionCancelled(session=session):
            name = session_name(session)
            return [
                Publication(
                    SESSION_CANCELLED,
                    name,
                    events_pb2.SessionCancelledEvent(session=name, version=session.version),
                )
            ]
        case CertificationGranted(certification=c):
            name = certification_name(c)
            return [
                Publication(
                    CERTIFICATION_GRANTED,
                    name,
                    events_pb2.CertificationGrantedEvent(
                        certification=name,
                        employee=f"employees/{c.employee_id}",
                        course=f"courses/{c.course_id}",
                        skill=c.skill,
                        level=c.level,
                        grant_date=date_to_proto(c.grant_date),
                        expire_date=date_to_proto(c.expire_date),
                    ),
                )
            ]
        case CertificationExpired(certification=c):
            name = certification_name(c)
            return [
                Publication(
                    CERTIFICATION_EXPIRED,
                    name,
                    events_pb2.CertificationExpiredEvent(
                        certification=name, employee=f"employees/{c.employee_id}", skill=c.skill
                    ),
                )
            ]
        case TrainingTimeRecorded(employee_id=employee_id, session=session, work_date=day, minutes=minutes):
            return [
                Publication(
                    TRAINING_TIME_RECORDED,
                    f"employees/{employee_id}",
                    events_pb2.TrainingTimeRecordedEvent(
                        employee=f"employees/{employee_id}",
                        session=session_name(session),
                        work_date=date_to_proto(day),
                        minutes=minutes,
                        paid=True,
                    ),
                )
            ]
    return []


def audit_entries(event: TrainingEvent) -> list[tuple[str, str, dict[str, object]]]:
    """(action, entity, after) for what changes someone's record: certifications."""
    match event:
        case CertificationGranted(certification=c) | CertificationExpired(certification=c):
            action = "training.certification." + (
                "granted" if isinstance(event, CertificationGranted) else "expired"
            )
            return [
                (
                    action,
                    certification_name(c),
                    {
                        "skill": c.skill,
                        "level": c.level,
                        "grant_date": c.grant_date.isoformat(),
                        "expire_date": c.expire_date.isoformat() if c.expire_date else None,
                        "state": c.state.value,
                    },
                )
            ]
    return []
