"""Queue use cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from cadre.chassis.errors import aborted, not_found
from cadre.scheduling.app.ports import QueueRepository, SchedulingUnit
from cadre.scheduling.domain import queue as rules
from cadre.scheduling.domain.queue import Queue, QueueSettings

# Audit actions (queue changes raise no events: nobody downstream plans on a queue's settings yet).
CREATED = "scheduling.queue.created"
UPDATED = "scheduling.queue.updated"
DELETED = "scheduling.queue.deleted"


def require_queue(queues: QueueRepository, queue_id: str, *, field: str, for_update: bool = False) -> Queue:
    queue = queues.get(queue_id, for_update=for_update)
    if queue is None:
        raise not_found("QUEUE_NOT_FOUND", f"{field}: no such queue", field=field, queue=queue_id)
    return queue


def create_queue(unit: SchedulingUnit, *, queue_id: str, settings: QueueSettings, now: datetime) -> Queue:
    queue = rules.new_queue(queue_id=queue_id, settings=settings, now=now)
    unit.queues.add(queue)
    unit.audit_queue(action=CREATED, before=None, after=queue)
    return queue


def get_queue(queues: QueueRepository, *, queue_id: str) -> Queue:
    return require_queue(queues, queue_id, field="name")


def list_queues(queues: QueueRepository, *, after: str | None, limit: int) -> Sequence[Queue]:
    return queues.list(after=after, limit=limit)


def _lost_race(queue: Queue) -> Exception:
    return aborted("ETAG_MISMATCH", "etag: the queue changed while this update ran; retry", queue=queue.id)


def update_queue(
    unit: SchedulingUnit,
    *,
    queue_id: str,
    changes: Mapping[str, object],
    expected_version: int | None,
) -> Queue:
    """Applies `changes` if the caller saw the current version; concurrent updates: one wins."""
    current = require_queue(unit.queues, queue_id, field="queue.name", for_update=True)
    rules.check_version(current, expected_version)
    has_history = unit.records.span(queue_id)[0] is not None
    updated = rules.update_queue(current, changes=changes, has_history=has_history)
    # Compare-and-set on the version as well: the read above does not lock on every database.
    if not unit.queues.replace(updated, previous_version=current.version):
        raise _lost_race(current)
    unit.audit_queue(action=UPDATED, before=current, after=updated)
    return updated


def delete_queue(unit: SchedulingUnit, *, queue_id: str, expected_version: int | None) -> None:
    current = require_queue(unit.queues, queue_id, field="name", for_update=True)
    rules.check_version(current, expected_version)
    unit.queues.delete(queue_id)
    unit.audit_queue(action=DELETED, before=current, after=None)
