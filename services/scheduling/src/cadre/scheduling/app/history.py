"""Interval history use cases: import (all or nothing, re-import replaces) and listing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cadre.scheduling.app.ports import SchedulingReads, SchedulingUnit
from cadre.scheduling.app.queues import require_queue
from cadre.scheduling.domain.history import IntervalRecord, RecordDraft, checked_records
from cadre.scheduling.domain.queue import Queue


@dataclass(frozen=True)
class ImportResult:
    inserted: int
    replaced: int


def _checked_import(
    reads: SchedulingReads, *, queue_id: str, drafts: Sequence[RecordDraft], now: datetime, lock: bool
) -> tuple[Queue, list[IntervalRecord], ImportResult]:
    # Locking the queue row serializes imports into one queue, so the counts below are exact
    # on PostgreSQL too, and a concurrent DeleteQueue cannot leave orphan records.
    queue = require_queue(reads.queues, queue_id, field="parent", for_update=lock)
    records = checked_records(drafts, queue=queue, now=now)
    replaced = len(reads.records.existing_starts(queue_id, [r.start_time for r in records]))
    return queue, records, ImportResult(inserted=len(records) - replaced, replaced=replaced)


def validate_interval_records(
    reads: SchedulingReads, *, queue_id: str, drafts: Sequence[RecordDraft], now: datetime
) -> ImportResult:
    """What an import would do, writing nothing (validate_only)."""
    _, _, result = _checked_import(reads, queue_id=queue_id, drafts=drafts, now=now, lock=False)
    return result


def import_interval_records(
    unit: SchedulingUnit, *, queue_id: str, drafts: Sequence[RecordDraft], now: datetime
) -> ImportResult:
    queue, records, result = _checked_import(unit, queue_id=queue_id, drafts=drafts, now=now, lock=True)
    unit.records.upsert(queue_id, records)
    unit.audit_import(queue=queue, inserted=result.inserted, replaced=result.replaced)
    return result


def list_interval_records(
    reads: SchedulingReads,
    *,
    queue_id: str,
    start: datetime | None,
    end: datetime | None,
    after: datetime | None,
    limit: int,
) -> Sequence[IntervalRecord]:
    require_queue(reads.queues, queue_id, field="parent")
    return reads.records.list(queue_id, start=start, end=end, after=after, limit=limit)
