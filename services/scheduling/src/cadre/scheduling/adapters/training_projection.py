"""Training sessions as blocked time: `cadre.training.v1.session.scheduled` / `session.cancelled`.

An optional consumer: the training service may not be deployed yet, and scheduling serves
without it. A session's newest version replaces what was held for it; an older version
arriving late changes nothing. The newest version seen is kept per session in
`training_sessions`, also once a cancellation has freed the time (a tombstone), so a
`session.scheduled` older than the cancellation cannot bring the blocks back. At the same
version a cancellation wins: cancelled is final for that version.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from google.protobuf.message import Message
from sqlalchemy import delete, insert, select

from cadre.chassis.db import UnitOfWork
from cadre.events.v1 import envelope_pb2
from cadre.scheduling.adapters.roster_projection import upsert
from cadre.scheduling.adapters.workforce_tables import training_blocks, training_sessions

STREAM = "CADRE_TRAINING"
SUBJECTS = ["cadre.training.v1.session.scheduled", "cadre.training.v1.session.cancelled"]


def apply(unit: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    c = unit.connection
    p: Any = payload
    cancelled = envelope.type.endswith("session.cancelled")
    seen = c.execute(select(training_sessions).where(training_sessions.c.session == p.session)).first()
    # Older than what is held, or a schedule of a version already cancelled: nothing changes.
    if seen is not None and (seen.version, seen.cancelled) > (p.version, cancelled):
        return
    upsert(c, training_sessions, {"session": p.session, "version": p.version, "cancelled": cancelled})
    c.execute(delete(training_blocks).where(training_blocks.c.session == p.session))
    if cancelled:
        return
    people = {name.rsplit("/", 1)[-1] for name in [*p.participants, p.trainer] if name}
    rows = [
        {
            "session": p.session,
            "employee_id": person,
            "start_time": meeting.start_time.ToDatetime().replace(tzinfo=UTC),
            "end_time": meeting.end_time.ToDatetime().replace(tzinfo=UTC),
            "version": p.version,
        }
        for person in sorted(people)
        for meeting in p.meetings
        if meeting.end_time.seconds > meeting.start_time.seconds
    ]
    if rows:
        c.execute(insert(training_blocks), rows)
