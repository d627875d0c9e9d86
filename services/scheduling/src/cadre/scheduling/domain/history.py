"""Interval history: what happened in each past interval of a queue, and the rules for importing it.

An import is all or nothing: every record is checked, every bad one is named by its index
(`records[7].handled`), and only a clean set is stored. Records sit on the queue's local
interval grid (08:00, 08:15, … in the queue's time zone), so a 30-minute offset zone or a
DST change never produces records the forecast cannot place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from cadre.chassis.errors import DomainError, FieldViolation, failed_precondition, invalid_argument
from cadre.scheduling.domain.forecast import IntervalHistory
from cadre.scheduling.domain.queue import Queue

MAX_RECORDS_PER_IMPORT = 50_000
# A reply naming 50,000 bad records would not fit in a gRPC message; the count says how many.
MAX_REPORTED_VIOLATIONS = 1_000


@dataclass(frozen=True)
class RecordDraft:
    """A record as a caller sent it; `start_time` is None when it was left out."""

    start_time: datetime | None
    offered: int
    handled: int
    abandoned: int
    aht_seconds: float


@dataclass(frozen=True)
class IntervalRecord:
    """A checked record. `start_time` is tz-aware UTC; AHT is that of the handled contacts."""

    start_time: datetime
    offered: int
    handled: int
    abandoned: int
    aht_seconds: float


def _record_problems(draft: RecordDraft, queue: Queue, now: datetime) -> list[tuple[str, str, str]]:
    """(field, reason, description) for each rule this record breaks."""
    problems: list[tuple[str, str, str]] = []
    for name in ("offered", "handled", "abandoned"):
        if getattr(draft, name) < 0:
            problems.append((name, "NEGATIVE_COUNT", "must not be negative"))
    if not problems and draft.handled + draft.abandoned > draft.offered:
        problems.append(("handled", "COUNTS_EXCEED_OFFERED", "handled + abandoned must not exceed offered"))
    if not math.isfinite(draft.aht_seconds) or draft.aht_seconds < 0:
        problems.append(("aht_seconds", "OUT_OF_RANGE", "must be a finite number of seconds, 0 or above"))
    elif draft.handled > 0 and draft.aht_seconds <= 0:
        problems.append(("aht_seconds", "AHT_NOT_POSITIVE", "must be above 0 when contacts were handled"))
    start = draft.start_time
    if start is None:
        problems.append(("start_time", "REQUIRED_FIELD_MISSING", "must be set"))
        return problems
    local = start.astimezone(queue.zone)
    minutes = queue.settings.interval_minutes
    if (local.hour * 60 + local.minute) % minutes or local.second or local.microsecond:
        problems.append(
            (
                "start_time",
                "OFF_INTERVAL_GRID",
                f"{local.isoformat()} is not the start of a {minutes}-minute interval "
                f"in {queue.settings.time_zone}",
            )
        )
    elif start > now:
        problems.append(("start_time", "INTERVAL_IN_FUTURE", "history cannot start after now"))
    return problems


def checked_records(drafts: Sequence[RecordDraft], *, queue: Queue, now: datetime) -> list[IntervalRecord]:
    """The records of one import, or INVALID_ARGUMENT naming every bad record and field."""
    if not drafts:
        raise invalid_argument(
            "REQUIRED_FIELD_MISSING",
            "records: at least one record is needed",
            [FieldViolation("records", "at least one record is needed", "REQUIRED_FIELD_MISSING")],
            field="records",
        )
    if len(drafts) > MAX_RECORDS_PER_IMPORT:
        description = f"at most {MAX_RECORDS_PER_IMPORT} per call, got {len(drafts)}; split the import"
        raise invalid_argument(
            "TOO_MANY_RECORDS",
            f"records: {description}",
            [FieldViolation("records", description, "TOO_MANY_RECORDS")],
            field="records",
        )
    violations: list[FieldViolation] = []
    bad_records = 0
    first_index: dict[datetime, int] = {}
    for i, draft in enumerate(drafts):
        problems = _record_problems(draft, queue, now)
        if draft.start_time is not None:
            earlier = first_index.setdefault(draft.start_time, i)
            if earlier != i:
                problems.append(
                    ("start_time", "DUPLICATE_INTERVAL", f"the same interval as records[{earlier}]")
                )
        if problems:
            bad_records += 1
            violations.extend(
                FieldViolation(f"records[{i}].{name}", description, reason)
                for name, reason, description in problems
            )
    if violations:
        raise _bad_records(violations, bad_records)
    return [
        IntervalRecord(
            start_time=d.start_time.astimezone(UTC),  # type: ignore[union-attr]
            offered=d.offered,
            handled=d.handled,
            abandoned=d.abandoned,
            aht_seconds=d.aht_seconds,
        )
        for d in drafts
    ]


def _bad_records(violations: list[FieldViolation], bad_records: int) -> DomainError:
    first = violations[0]
    message = f"{bad_records} bad records, nothing imported; first {first.field}: {first.description}"
    if len(violations) > MAX_REPORTED_VIOLATIONS:
        message += f" (the first {MAX_REPORTED_VIOLATIONS} of {len(violations)} problems are listed)"
    return invalid_argument(
        first.reason,
        message,
        violations[:MAX_REPORTED_VIOLATIONS],
        field=first.field,
        bad_records=str(bad_records),
    )


def interval_history(queue: Queue, records: Sequence[IntervalRecord]) -> IntervalHistory:
    """The history as the forecast reads it: offered contacts and their handle time per interval.

    Where contacts were offered but none handled (all abandoned), the interval has no handle
    time of its own; it gets the queue's handled-weighted mean AHT, so the interval's volume
    still counts and the AHT profile is not dragged towards zero.
    """
    handled = np.fromiter((r.handled for r in records), dtype=np.float64, count=len(records))
    aht = np.fromiter((r.aht_seconds for r in records), dtype=np.float64, count=len(records))
    offered = np.fromiter((r.offered for r in records), dtype=np.float64, count=len(records))
    if handled.sum() <= 0:
        raise failed_precondition(
            "NO_HANDLED_CONTACTS",
            "the history has no handled contacts, so there is no handle time to forecast",
            queue=queue.id,
        )
    mean_aht = float((handled * aht).sum() / handled.sum())
    aht = np.where(handled > 0, aht, np.where(offered > 0, mean_aht, 0.0))
    return IntervalHistory(
        time_zone=queue.settings.time_zone,
        interval_minutes=queue.settings.interval_minutes,
        timestamps=tuple(r.start_time for r in records),
        offered=offered,
        aht_seconds=aht,
    )
