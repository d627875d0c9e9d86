"""Interval history imports: the local grid, every bad record named, and the history the forecast reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from cadre.chassis.errors import DomainError, ErrorKind
from cadre.scheduling.domain.history import (
    MAX_RECORDS_PER_IMPORT,
    MAX_REPORTED_VIOLATIONS,
    IntervalRecord,
    RecordDraft,
    checked_records,
    interval_history,
)
from cadre.scheduling.domain.queue import Queue, QueueSettings

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _queue(time_zone: str = "Europe/Berlin", interval_minutes: int = 30) -> Queue:
    settings = QueueSettings("Q", 0.8, 20.0, 0.0, 0.0, 0.0, interval_minutes, time_zone, (), 0.0)
    return Queue(id="q", settings=settings, created_at=NOW)


def _draft(
    start: datetime | None, offered: int = 10, handled: int = 9, abandoned: int = 1, aht: float = 200.0
):
    return RecordDraft(start, offered, handled, abandoned, aht)


@pytest.mark.parametrize(
    ("time_zone", "interval", "utc_start", "on_grid"),
    [
        ("Europe/Berlin", 30, datetime(2026, 9, 1, 6, 30, tzinfo=UTC), True),
        ("Europe/Berlin", 30, datetime(2026, 9, 1, 6, 15, tzinfo=UTC), False),
        ("Europe/Berlin", 15, datetime(2026, 9, 1, 6, 15, tzinfo=UTC), True),
        ("Asia/Kolkata", 30, datetime(2026, 9, 1, 3, 30, tzinfo=UTC), True),  # 09:00 local (+05:30)
        ("Asia/Kathmandu", 30, datetime(2026, 9, 1, 3, 0, tzinfo=UTC), False),  # 08:45 local (+05:45)
        ("Asia/Kathmandu", 15, datetime(2026, 9, 1, 3, 0, tzinfo=UTC), True),
        ("Europe/Berlin", 30, datetime(2026, 9, 1, 6, 30, 1, tzinfo=UTC), False),
        # Both 02:00s of the fall-back night in Berlin are interval starts.
        ("Europe/Berlin", 30, datetime(2026, 10, 25, 0, 0, tzinfo=UTC), True),
        ("Europe/Berlin", 30, datetime(2026, 10, 25, 1, 0, tzinfo=UTC), True),
    ],
)
def test_records_sit_on_the_local_grid(
    time_zone: str, interval: int, utc_start: datetime, on_grid: bool
) -> None:
    queue = _queue(time_zone, interval)
    if on_grid:
        (record,) = checked_records([_draft(utc_start)], queue=queue, now=NOW)
        assert record.start_time == utc_start and record.start_time.tzinfo is UTC
    else:
        with pytest.raises(DomainError) as raised:
            checked_records([_draft(utc_start)], queue=queue, now=NOW)
        assert [(v.field, v.reason) for v in raised.value.violations] == [
            ("records[0].start_time", "OFF_INTERVAL_GRID")
        ]


def test_every_bad_record_is_named_with_its_field() -> None:
    t0 = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
    drafts = [
        _draft(t0),
        _draft(t0 + timedelta(minutes=30), offered=-1, handled=-2, abandoned=0),
        _draft(t0 + timedelta(minutes=60), offered=5, handled=5, abandoned=1),
        _draft(t0 + timedelta(minutes=90), handled=3, aht=0.0),
        _draft(t0 + timedelta(minutes=120), aht=float("nan")),
        _draft(t0),
        _draft(None),
        _draft(NOW + timedelta(hours=1)),
        _draft(
            t0 + timedelta(minutes=150), offered=0, handled=0, abandoned=0, aht=0.0
        ),  # fine: nothing handled
    ]
    with pytest.raises(DomainError) as raised:
        checked_records(drafts, queue=_queue(), now=NOW)
    error = raised.value
    assert error.kind is ErrorKind.INVALID_ARGUMENT and error.metadata["bad_records"] == "7"
    assert [(v.field, v.reason) for v in error.violations] == [
        ("records[1].offered", "NEGATIVE_COUNT"),
        ("records[1].handled", "NEGATIVE_COUNT"),
        ("records[2].handled", "COUNTS_EXCEED_OFFERED"),
        ("records[3].aht_seconds", "AHT_NOT_POSITIVE"),
        ("records[4].aht_seconds", "OUT_OF_RANGE"),
        ("records[5].start_time", "DUPLICATE_INTERVAL"),
        ("records[6].start_time", "REQUIRED_FIELD_MISSING"),
        ("records[7].start_time", "INTERVAL_IN_FUTURE"),
    ]
    assert "records[0]" in error.violations[5].description


def test_a_huge_bad_import_lists_a_bounded_number_of_problems() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    drafts = [_draft(t0 + timedelta(minutes=30 * i), offered=-1, handled=0, abandoned=0) for i in range(3000)]
    with pytest.raises(DomainError) as raised:
        checked_records(drafts, queue=_queue(), now=NOW)
    assert len(raised.value.violations) == MAX_REPORTED_VIOLATIONS
    assert raised.value.metadata["bad_records"] == "3000"


def test_empty_and_oversized_imports_are_refused() -> None:
    with pytest.raises(DomainError) as raised:
        checked_records([], queue=_queue(), now=NOW)
    assert raised.value.reason == "REQUIRED_FIELD_MISSING"
    too_many = [_draft(None)] * (MAX_RECORDS_PER_IMPORT + 1)
    with pytest.raises(DomainError) as raised:
        checked_records(too_many, queue=_queue(), now=NOW)
    assert raised.value.reason == "TOO_MANY_RECORDS" and len(raised.value.violations) == 1


def test_the_forecast_reads_offered_volume_and_fills_missing_handle_time() -> None:
    t0 = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
    records = [
        IntervalRecord(t0, 10, 10, 0, 100.0),
        IntervalRecord(t0 + timedelta(minutes=30), 30, 30, 0, 200.0),
        IntervalRecord(t0 + timedelta(minutes=60), 4, 0, 4, 0.0),  # all abandoned: no AHT of its own
        IntervalRecord(t0 + timedelta(minutes=90), 0, 0, 0, 0.0),
    ]
    history = interval_history(_queue(), records)
    assert history.offered.tolist() == [10, 30, 4, 0]
    assert history.aht_seconds.tolist() == [100.0, 200.0, 175.0, 0.0]  # (10·100 + 30·200) / 40
    with pytest.raises(DomainError) as raised:
        interval_history(_queue(), [replace(r, handled=0, aht_seconds=0.0) for r in records])
    assert raised.value.reason == "NO_HANDLED_CONTACTS"
    assert np.all(np.isfinite(history.aht_seconds))
