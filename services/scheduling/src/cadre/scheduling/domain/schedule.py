"""Schedules: versions of a team's shifts for a date range, and how they compare.

A schedule is generated as a draft (by the rostering engine), published under the
PUBLISH_SCHEDULE authority, and superseded by the next publication of the same range. What a
publication announces is every shift plus the people whose shifts changed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cadre.chassis.errors import aborted, failed_precondition


class ActivityKind(enum.Enum):
    WORK = "WORK"
    BREAK = "BREAK"
    LUNCH = "LUNCH"
    TRAINING = "TRAINING"
    MEETING = "MEETING"


# Off the phones: coverage does not count these minutes.
OFF_QUEUE = frozenset({ActivityKind.BREAK, ActivityKind.LUNCH, ActivityKind.TRAINING, ActivityKind.MEETING})


@dataclass(frozen=True)
class Activity:
    kind: ActivityKind
    start: datetime
    end: datetime
    paid: bool


@dataclass(frozen=True)
class Shift:
    employee_id: str
    queue_id: str
    template_id: str
    start: datetime
    end: datetime
    activities: tuple[Activity, ...] = ()
    overtime: bool = False

    def activity_at(self, moment: datetime) -> ActivityKind | None:
        """What the person is scheduled to do at `moment`; None outside the shift."""
        if not self.start <= moment < self.end:
            return None
        for a in self.activities:
            if a.start <= moment < a.end:
                return a.kind
        return ActivityKind.WORK

    def on_queue_throughout(self, start: datetime, end: datetime) -> bool:
        if start < self.start or end > self.end:
            return False
        return not any(a.kind in OFF_QUEUE and a.start < end and start < a.end for a in self.activities)

    @property
    def paid_minutes(self) -> int:
        unpaid = sum((a.end - a.start).total_seconds() for a in self.activities if not a.paid)
        return int(((self.end - self.start).total_seconds() - unpaid) // 60)

    def key(self) -> tuple[object, ...]:
        """What makes two shifts the same assignment."""
        return (self.employee_id, self.queue_id, self.start, self.end, self.activities, self.overtime)


class ScheduleState(enum.Enum):
    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    SUPERSEDED = "SUPERSEDED"


@dataclass(frozen=True)
class Schedule:
    id: str
    org_unit_id: str
    start_date: date
    days: int
    queue_ids: tuple[str, ...]
    state: ScheduleState
    publication: int
    base_schedule_id: str | None
    shifts: tuple[Shift, ...]
    objective: float
    lower_bound: float
    optimal: bool
    unmet_rules: tuple[str, ...]
    changed_assignments: int
    created_at: datetime
    published_at: datetime | None
    version: int

    @property
    def end_date(self) -> date:
        """The first day after the range."""
        return self.start_date + timedelta(days=self.days)

    def covers(self, day: date) -> bool:
        return self.start_date <= day < self.end_date


def _differing(before: Iterable[Shift], after: Iterable[Shift]) -> list[Shift]:
    """Shifts of either version that the other does not have (the same `Shift.key`)."""
    old, new = tuple(before), tuple(after)
    old_keys, new_keys = {s.key() for s in old}, {s.key() for s in new}
    return [s for s in old if s.key() not in new_keys] + [s for s in new if s.key() not in old_keys]


def changed_employees(before: Iterable[Shift], after: Iterable[Shift]) -> list[str]:
    """People whose set of shifts differs between two versions."""
    return sorted({s.employee_id for s in _differing(before, after)})


def changed_days(before: Iterable[Shift], after: Iterable[Shift], time_zone: str) -> list[tuple[str, date]]:
    """(person, local day) for every day a shift added, removed or changed between two versions
    touches (a night shift touches two): the days whose scheduled activities differ."""
    zone = ZoneInfo(time_zone)
    found: set[tuple[str, date]] = set()
    for s in _differing(before, after):
        day = s.start.astimezone(zone).date()
        last = (s.end - timedelta(microseconds=1)).astimezone(zone).date()  # the end is exclusive
        while day <= last:
            found.add((s.employee_id, day))
            day += timedelta(days=1)
    return sorted(found)


def changed_assignments(before: Iterable[Shift], after: Iterable[Shift]) -> int:
    """Shifts added or removed between two versions (a moved shift counts twice); a break
    placed differently inside the same shift is not a changed assignment."""
    old = {(s.employee_id, s.queue_id, s.start, s.end) for s in before}
    new = {(s.employee_id, s.queue_id, s.start, s.end) for s in after}
    return len(old ^ new)


def coverage(shifts: Sequence[Shift], queue_id: str, starts: Sequence[datetime], minutes: int) -> list[int]:
    """People on `queue_id` and on the phones for the whole of each interval."""
    step = timedelta(minutes=minutes)
    on_queue = [s for s in shifts if s.queue_id == queue_id]
    return [sum(s.on_queue_throughout(t, t + step) for s in on_queue) for t in starts]


def publish(schedule: Schedule, *, publication: int, now: datetime, expected_version: int | None) -> Schedule:
    if expected_version is not None and expected_version != schedule.version:
        raise aborted("ETAG_MISMATCH", "etag: the schedule changed since it was read; read it again")
    if schedule.state is not ScheduleState.DRAFT:
        raise failed_precondition(
            "SCHEDULE_NOT_DRAFT", f"only a draft can be published; this one is {schedule.state.value}"
        )
    return replace(
        schedule,
        state=ScheduleState.PUBLISHED,
        publication=publication,
        published_at=now,
        version=schedule.version + 1,
    )


def supersede(schedule: Schedule) -> Schedule:
    return replace(schedule, state=ScheduleState.SUPERSEDED, version=schedule.version + 1)
