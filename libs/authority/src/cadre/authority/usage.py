"""Reporting a decision taken under a grant, so its grantor can review the use (roster's
`ListGrantUses`). Call it inside the transaction that records the decision: the report
goes out through the same outbox, or not at all."""

from __future__ import annotations

from datetime import datetime

from cadre.authority.policy import Action, Amount, Decision
from cadre.chassis.db import UnitOfWork
from cadre.events.v1 import authority_exercised_pb2
from cadre.roster.v1 import grant_pb2


def event_type(service: str) -> str:
    return f"cadre.{service}.v1.authority.exercised"


def record_use(
    unit: UnitOfWork,
    *,
    decision: Decision,
    actor: str,
    action: Action,
    target: str,
    amount: Amount,
    decision_name: str,
    decided_at: datetime,
) -> None:
    """Publishes `cadre.<this service>.v1.authority.exercised` for an allowed decision."""
    if not decision.allowed or not decision.chain:
        return  # nothing delegated was used (denied, or an administrator's own authority)
    payload = authority_exercised_pb2.AuthorityExercisedEvent(
        actor=actor,
        action=grant_pb2.Action.Value(f"ACTION_{action.value}"),
        grant_chain=[f"grants/{g.id}" for g in decision.chain],
        target=target,
        amount=grant_pb2.Amount(days=amount.days, minutes=amount.minutes, amount_minor=amount.money_minor),
        decision=decision_name,
    )
    payload.decide_time.FromDatetime(decided_at)
    unit.publish(event_type=event_type(unit.source), entity=decision_name, payload=payload)
