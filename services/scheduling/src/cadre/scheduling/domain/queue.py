"""Queues: where contacts wait, and the service the center promises them.

A queue's settings are validated as a whole, on create and after every update, so a queue
can never be stored half-valid. Field paths in errors are the request's
(`queue.service_level.fraction`), so a caller sees exactly what to fix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cadre.chassis.errors import Violations, aborted, failed_precondition
from cadre.staffing.erlang import QueueTargets

MAX_NAME_LENGTH = 200
INTERVAL_MINUTES = (15, 30)
MINUTES_PER_DAY = 24 * 60
WEEKDAYS = range(1, 8)  # ISO: Monday = 1 … Sunday = 7, as google.type.DayOfWeek numbers them

# Changing these re-cuts the calendar the history was recorded on: refused once there is history.
GRID_FIELDS = frozenset({"interval_minutes", "time_zone"})


@dataclass(frozen=True)
class OpeningHours:
    """One window on one weekday, in minutes after local midnight: [open_minute, close_minute)."""

    weekday: int
    open_minute: int
    close_minute: int


@dataclass(frozen=True)
class QueueSettings:
    """What the people who run a queue decide about it."""

    display_name: str
    service_level: float  # share answered within answer_seconds, e.g. 0.8
    answer_seconds: float  # e.g. 20
    asa_target_seconds: float  # 0: no ASA target
    max_occupancy: float  # 0: no cap
    shrinkage: float
    interval_minutes: int
    time_zone: str
    opening_hours: tuple[OpeningHours, ...]  # empty: around the clock
    patience_seconds: float  # 0: unknown (Erlang C only)


SETTING_NAMES = frozenset(f.name for f in fields(QueueSettings))


@dataclass(frozen=True)
class Queue:
    id: str
    settings: QueueSettings
    created_at: datetime
    version: int = 1

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.time_zone)

    @property
    def interval_seconds(self) -> int:
        return self.settings.interval_minutes * 60

    @property
    def targets(self) -> QueueTargets:
        """The queue's promises in the terms of the Erlang math (0 means "no such target")."""
        s = self.settings
        return QueueTargets(
            service_level=s.service_level,
            answer_seconds=s.answer_seconds,
            max_occupancy=s.max_occupancy or None,
            asa_seconds=s.asa_target_seconds or None,
        )

    def is_open(self, local: datetime) -> bool:
        """Whether the queue takes contacts at this local wall-clock time."""
        hours = self.settings.opening_hours
        if not hours:
            return True
        minute = local.hour * 60 + local.minute
        weekday = local.isoweekday()
        return any(h.weekday == weekday and h.open_minute <= minute < h.close_minute for h in hours)


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    # available_timezones() walks the zone database on every call.
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    if name not in _known_zones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _finite(value: float) -> bool:
    return math.isfinite(value)


def _check_opening_hours(hours: tuple[OpeningHours, ...], violations: Violations) -> None:
    by_day: dict[int, list[tuple[int, int, int]]] = {}
    for i, window in enumerate(hours):
        path = f"queue.opening_hours[{i}]"
        if window.weekday not in WEEKDAYS:
            reason = "REQUIRED_FIELD_MISSING" if window.weekday == 0 else "UNKNOWN_ENUM_VALUE"
            violations.add(f"{path}.day", reason, "must be a weekday (MONDAY … SUNDAY)")
            continue
        if not 0 <= window.open_minute < MINUTES_PER_DAY:
            violations.add(
                f"{path}.open", "INVALID_TIME_OF_DAY", "must be a whole minute from 00:00 to 23:59"
            )
            continue
        if not 0 < window.close_minute <= MINUTES_PER_DAY:
            violations.add(
                f"{path}.close", "INVALID_TIME_OF_DAY", "must be a whole minute from 00:01 to 24:00"
            )
            continue
        if window.close_minute <= window.open_minute:
            violations.add(f"{path}.close", "CLOSES_BEFORE_OPENING", "must be after `open`")
            continue
        by_day.setdefault(window.weekday, []).append((window.open_minute, window.close_minute, i))
    for windows in by_day.values():
        windows.sort()
        for (_, close, _), (start, _, index) in pairwise(windows):
            if start < close:
                violations.add(
                    f"queue.opening_hours[{index}]",
                    "OVERLAPPING_OPENING_HOURS",
                    "overlaps another window on the same day",
                )


def check_settings(settings: QueueSettings) -> None:
    """Raises INVALID_ARGUMENT naming every bad field."""
    s = settings
    violations = Violations()
    if not s.display_name.strip():
        violations.add("queue.display_name", "REQUIRED_FIELD_MISSING", "must not be empty")
    elif len(s.display_name) > MAX_NAME_LENGTH:
        violations.add(
            "queue.display_name", "FIELD_TOO_LONG", f"must be at most {MAX_NAME_LENGTH} characters"
        )
    if not (_finite(s.service_level) and 0.0 < s.service_level < 1.0):
        violations.add(
            "queue.service_level.fraction", "OUT_OF_RANGE", "must be above 0 and below 1, e.g. 0.8"
        )
    if not (_finite(s.answer_seconds) and s.answer_seconds > 0):
        violations.add("queue.service_level.answer_seconds", "OUT_OF_RANGE", "must be above 0, e.g. 20")
    if not (_finite(s.asa_target_seconds) and s.asa_target_seconds >= 0):
        violations.add("queue.asa_target_seconds", "OUT_OF_RANGE", "must be 0 (none) or above")
    if not (_finite(s.max_occupancy) and 0.0 <= s.max_occupancy <= 1.0):
        violations.add("queue.max_occupancy", "OUT_OF_RANGE", "must be from 0 (no cap) to 1")
    if not (_finite(s.shrinkage) and 0.0 <= s.shrinkage < 1.0):
        violations.add("queue.shrinkage", "OUT_OF_RANGE", "must be from 0 to below 1")
    if s.interval_minutes not in INTERVAL_MINUTES:
        violations.add("queue.interval_minutes", "UNSUPPORTED_INTERVAL", "must be 15 or 30")
    if not s.time_zone:
        violations.add("queue.time_zone", "REQUIRED_FIELD_MISSING", "must be an IANA time zone")
    elif not is_time_zone(s.time_zone):
        violations.add(
            "queue.time_zone", "UNKNOWN_TIME_ZONE", "must be an IANA time zone, e.g. Europe/Berlin"
        )
    _check_opening_hours(s.opening_hours, violations)
    if not (_finite(s.patience_seconds) and s.patience_seconds >= 0):
        violations.add("queue.patience_seconds", "OUT_OF_RANGE", "must be 0 (unknown) or above")
    violations.raise_if_any()


def normalized(settings: QueueSettings) -> QueueSettings:
    """The settings as stored: trimmed name, opening hours in day and time order."""
    return replace(
        settings,
        display_name=settings.display_name.strip(),
        opening_hours=tuple(sorted(settings.opening_hours, key=lambda h: (h.weekday, h.open_minute))),
    )


def new_queue(*, queue_id: str, settings: QueueSettings, now: datetime) -> Queue:
    check_settings(settings)
    return Queue(id=queue_id, settings=normalized(settings), created_at=now)


def check_version(queue: Queue, expected_version: int | None) -> None:
    """The caller read version `expected_version` (its etag); None means "whatever is current".

    A stale version means the caller decided on data that has changed since (RELIABILITY R11).
    """
    if expected_version is not None and expected_version != queue.version:
        raise aborted(
            "ETAG_MISMATCH",
            "etag: the queue changed since it was read; read it again and retry",
            queue=queue.id,
        )


def update_queue(queue: Queue, *, changes: Mapping[str, object], has_history: bool) -> Queue:
    """The queue with `changes` (setting name → new value) applied, validated as a whole."""
    unknown = set(changes) - SETTING_NAMES
    if unknown:
        raise ValueError(f"not queue settings: {sorted(unknown)}")
    regridded = [
        name for name in GRID_FIELDS & set(changes) if changes[name] != getattr(queue.settings, name)
    ]
    settings = replace(queue.settings, **changes)  # type: ignore[arg-type]
    check_settings(settings)
    if regridded and has_history:
        raise failed_precondition(
            "QUEUE_HAS_HISTORY",
            f"{', '.join(sorted(regridded))} cannot change once interval history is imported: "
            "the history sits on the current grid; create a new queue instead",
            queue=queue.id,
        )
    return replace(queue, settings=normalized(settings), version=queue.version + 1)
