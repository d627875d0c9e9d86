"""Agent states against the published schedule: adherence, conformance and worked minutes.

A state lasts from its timestamp until the next change (the last one until the end of the day
or now, whichever is first). Per local day, minute by minute:
- worked: logged in (any state but offline);
- adherent: a scheduled paid minute spent in the scheduled activity (work ↔ ready or on a
  contact; break, lunch, training ↔ the same state; a meeting ↔ any logged-in state).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cadre.scheduling.domain.schedule import ActivityKind, Shift


class AgentState(enum.IntEnum):
    """Numbers as in `cadre.scheduling.v1.AgentState`."""

    READY = 1
    ON_CONTACT = 2
    BREAK = 3
    LUNCH = 4
    OFFLINE = 5
    TRAINING = 6


_MATCHES: dict[ActivityKind, set[AgentState]] = {
    ActivityKind.WORK: {AgentState.READY, AgentState.ON_CONTACT},
    ActivityKind.BREAK: {AgentState.BREAK},
    ActivityKind.LUNCH: {AgentState.LUNCH},
    ActivityKind.TRAINING: {AgentState.TRAINING},
    ActivityKind.MEETING: {s for s in AgentState if s is not AgentState.OFFLINE},
}


@dataclass(frozen=True)
class StateChange:
    employee_id: str
    time: datetime
    state: AgentState


@dataclass(frozen=True)
class DayFigures:
    employee_id: str
    day: date
    scheduled_minutes: int
    adherent_minutes: int
    worked_minutes: int
    training_minutes: int
    overtime_minutes: int
    work_day: bool

    @property
    def adherence(self) -> float:
        return self.adherent_minutes / self.scheduled_minutes if self.scheduled_minutes else 1.0

    @property
    def conformance(self) -> float:
        return self.worked_minutes / self.scheduled_minutes if self.scheduled_minutes else 0.0

    def same_figures(self, other: DayFigures) -> bool:
        return self == other


def day_bounds(day: date, time_zone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(time_zone)
    after = day + timedelta(days=1)
    return (
        datetime(day.year, day.month, day.day, tzinfo=zone),
        datetime(after.year, after.month, after.day, tzinfo=zone),
    )


def figures_for_day(
    *,
    employee_id: str,
    day: date,
    time_zone: str,
    changes: Sequence[StateChange],
    shifts: Sequence[Shift],
    now: datetime,
) -> DayFigures:
    """`changes`: the person's changes in time order, including the last one before the day."""
    start, end = day_bounds(day, time_zone)
    minutes = int((end - start).total_seconds() // 60)
    until = min(end, max(now, start))
    actual: list[AgentState | None] = [None] * minutes
    for i, change in enumerate(changes):
        span_end = changes[i + 1].time if i + 1 < len(changes) else until
        first = max(change.time, start)
        last = min(span_end, until)
        if last <= first:
            continue
        a = int((first - start).total_seconds() // 60)
        b = int((last - start).total_seconds() // 60)
        for m in range(a, b):
            actual[m] = change.state
    scheduled = adherent = overtime = 0
    day_shifts = [s for s in shifts if s.start < end and start < s.end]
    for m in range(minutes):
        moment = start + timedelta(minutes=m)
        for shift in day_shifts:
            kind = shift.activity_at(moment)
            if kind is None:
                continue
            paid = not any(a.start <= moment < a.end and not a.paid for a in shift.activities)
            state = actual[m]
            if shift.overtime and state is not None and state is not AgentState.OFFLINE:
                overtime += 1
            if not paid:
                break
            scheduled += 1
            if state is not None and state in _MATCHES[kind]:
                adherent += 1
            break
    worked = sum(1 for s in actual if s is not None and s is not AgentState.OFFLINE)
    training = sum(1 for s in actual if s is AgentState.TRAINING)
    return DayFigures(
        employee_id=employee_id,
        day=day,
        scheduled_minutes=scheduled,
        adherent_minutes=adherent,
        worked_minutes=worked,
        training_minutes=training,
        overtime_minutes=overtime,
        work_day=bool(day_shifts),
    )
