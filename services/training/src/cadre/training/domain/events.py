"""Facts training raises; the adapters publish them through the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cadre.training.domain.certification import Certification
from cadre.training.domain.session import Session


@dataclass(frozen=True)
class SessionScheduled:
    """Published on every change of a scheduled session, participants included."""

    session: Session
    participant_ids: tuple[str, ...]


@dataclass(frozen=True)
class SessionCancelled:
    session: Session


@dataclass(frozen=True)
class CertificationGranted:
    certification: Certification


@dataclass(frozen=True)
class CertificationExpired:
    certification: Certification


@dataclass(frozen=True)
class TrainingTimeRecorded:
    employee_id: str
    session: Session
    work_date: date
    minutes: int


TrainingEvent = (
    SessionScheduled | SessionCancelled | CertificationGranted | CertificationExpired | TrainingTimeRecorded
)
