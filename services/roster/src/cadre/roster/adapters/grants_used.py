"""Decisions other services report taking under roster's grants, kept in roster's audit log
beside roster's own, where `ListGrantUses` finds them by grant."""

from __future__ import annotations

from google.protobuf import json_format
from google.protobuf.message import Message

from cadre.chassis.db import UnitOfWork
from cadre.events.v1 import authority_exercised_pb2, envelope_pb2


def record_reported_use(unit: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    assert isinstance(payload, authority_exercised_pb2.AuthorityExercisedEvent)
    unit.audit(
        action=envelope.type,
        entity=payload.decision,
        before=None,
        after=json_format.MessageToDict(payload),
        acting_under=" → ".join(payload.grant_chain),
        actor=payload.actor,
    )
