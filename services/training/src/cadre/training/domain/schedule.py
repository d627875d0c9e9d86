"""The person's published working time and approved leave, and what clashes with it.

Training is placed inside scheduled working time, as Verint and NICE place it: it replaces
phone time within a shift. A meeting clashes when it falls on approved leave, overlaps
another session the person holds a seat in, or (on a day a published schedule covers)
lies outside the person's shifts or over a break or lunch. On a day no published schedule
covers yet, scheduling will plan around the session (it is blocked time), so only leave
and other sessions clash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from cadre.chassis.errors import failed_precondition

WORK, BREAK, LUNCH, TRAINING, MEETING = "WORK", "BREAK", "LUNCH", "TRAINING", "MEETING"
OFF_THE_PHONES_UNPAID = frozenset({BREAK, LUNCH})


@dataclass(frozen=True)
class Activity:
    kind: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Shift:
    schedule: str  # orgUnits/{team}/schedules/{schedule}
    employee_id: str
    queue: str  # queues/{queue}
    start: datetime
    end: datetime
    activities: tuple[Activity, ...] = ()

    def describe(self) -> str:
        who = f"employees/{self.employee_id}"
        return f"{self.schedule} shift of {who} {self.start.isoformat()}–{self.end.isoformat()}"

    def working(self, start: datetime, end: datetime) -> bool:
        """On the phones (or at least not on a break or lunch) for the whole of [start, end)."""
        if not (self.start <= start and end <= self.end):
            return False
        return not any(
            a.kind in OFF_THE_PHONES_UNPAID and a.start < end and start < a.end for a in self.activities
        )


@dataclass(frozen=True)
class Leave:
    leave_request: str  # employees/{e}/leaveRequests/{l}
    days: tuple[date, ...]


@dataclass(frozen=True)
class BookedMeeting:
    session: str  # courses/{c}/sessions/{s}
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Requirement:
    """A queue's published requirement: forecast load per interval and the targets."""

    queue: str
    start: datetime
    interval_minutes: int
    volumes: tuple[float, ...]
    aht_seconds: tuple[float, ...]
    agents: tuple[int, ...]  # needed on the queue, net of shrinkage
    answer_seconds: float
    patience_seconds: float


@dataclass(frozen=True)
class WorkingTime:
    """One person's facts for the days a session touches."""

    shifts: tuple[Shift, ...]
    covered_days: frozenset[date]  # days (team time) some published schedule covers
    leave: tuple[Leave, ...]
    booked: tuple[BookedMeeting, ...]


def check_clashes(
    *,
    who: str,
    meetings: tuple[tuple[datetime, datetime], ...],
    facts: WorkingTime,
    local_day: Callable[[datetime], date],
) -> None:
    """FAILED_PRECONDITION naming the clashing leave, shift or session, else nothing.

    `local_day(moment)` gives the day of a moment in the person's team time zone."""
    day_of = local_day
    for index, (start, end) in enumerate(meetings):
        day = day_of(start)
        for leave in facts.leave:
            if day in leave.days:
                raise failed_precondition(
                    "CLASHES_WITH_LEAVE",
                    f"meeting {index + 1} on {day} falls on approved leave {leave.leave_request}",
                    employee=who,
                    leave_request=leave.leave_request,
                    meeting_index=str(index),
                )
        for booked in facts.booked:
            if booked.start < end and start < booked.end:
                raise failed_precondition(
                    "CLASHES_WITH_SESSION",
                    f"meeting {index + 1} overlaps {booked.session} at {booked.start.isoformat()}",
                    employee=who,
                    session=booked.session,
                    meeting_index=str(index),
                )
        if day not in facts.covered_days:
            continue
        if any(shift.working(start, end) for shift in facts.shifts):
            continue
        overlapping = [s for s in facts.shifts if s.start < end and start < s.end]
        if overlapping:
            shift = overlapping[0]
            raise failed_precondition(
                "CLASHES_WITH_SHIFT",
                f"meeting {index + 1} ({start.isoformat()}–{end.isoformat()}) is not inside working time of "
                f"the published {shift.describe()} (outside it, or over a break or lunch)",
                employee=who,
                schedule=shift.schedule,
                shift_start=shift.start.isoformat(),
                shift_end=shift.end.isoformat(),
                meeting_index=str(index),
            )
        same_day = [s for s in facts.shifts if day_of(s.start) == day]
        if same_day:
            shift = same_day[0]
            raise failed_precondition(
                "CLASHES_WITH_SHIFT",
                f"meeting {index + 1} ({start.isoformat()}–{end.isoformat()}) lies outside the published "
                f"{shift.describe()}",
                employee=who,
                schedule=shift.schedule,
                shift_start=shift.start.isoformat(),
                shift_end=shift.end.isoformat(),
                meeting_index=str(index),
            )
        raise failed_precondition(
            "CLASHES_WITH_DAY_OFF",
            f"meeting {index + 1} falls on {day}, a day off in the published schedule",
            employee=who,
            meeting_index=str(index),
        )
