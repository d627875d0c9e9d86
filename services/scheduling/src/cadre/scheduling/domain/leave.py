"""Leave requests: what is asked, what it costs the balance, how it moves through its states.

Days and minutes are counted on the team's local calendar: a grant's `max_days` limits the
calendar days the leave touches; the balance is charged the leave's minutes each day, capped
at a working day (8 h), so a week's annual leave costs five working days' minutes only when
it is asked for as five days.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cadre.chassis.errors import Violations, aborted, failed_precondition
from cadre.scheduling.domain.coverage import indices_between, interval_minutes, projected_service_level
from cadre.scheduling.domain.schedule import Shift, coverage
from cadre.scheduling.domain.staffing import Requirement

MAX_SPAN = timedelta(days=60)
WORKING_DAY_MINUTES = 8 * 60
UNPAID = "unpaid"
_LEAVE_TYPE = re.compile(r"[a-z][a-z0-9_]{0,39}")


class LeaveState(enum.Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


AUTO_APPROVER = "rules/auto-approval"


@dataclass(frozen=True)
class Impact:
    """One interval of one queue, with and without the person."""

    queue_id: str
    start_time: datetime
    required_agents: int
    scheduled_agents: int
    service_level_with: float
    service_level_without: float
    target_service_level: float

    @property
    def keeps_target(self) -> bool:
        return self.service_level_without >= self.target_service_level


@dataclass(frozen=True)
class LeaveRequest:
    id: str
    employee_id: str
    leave_type: str
    start_time: datetime
    end_time: datetime
    paid: bool
    state: LeaveState
    day_minutes: tuple[tuple[date, int], ...]
    impact: tuple[Impact, ...]
    decided_by: str
    reason: str
    created_at: datetime
    decided_at: datetime | None
    version: int

    @property
    def days(self) -> int:
        return len(self.day_minutes)

    @property
    def minutes(self) -> int:
        return sum(minutes for _, minutes in self.day_minutes)


def check_request(*, leave_type: str, start: datetime | None, end: datetime | None, reason: str) -> None:
    violations = Violations()
    if not _LEAVE_TYPE.fullmatch(leave_type):
        violations.add(
            "leave_request.leave_type", "LEAVE_TYPE_INVALID", "must be 1–40 lowercase letters, digits or _"
        )
    if start is None:
        violations.add("leave_request.start_time", "REQUIRED", "is required")
    if end is None:
        violations.add("leave_request.end_time", "REQUIRED", "is required")
    if start is not None and end is not None:
        if end <= start:
            violations.add("leave_request.end_time", "LEAVE_EMPTY", "must be after start_time")
        elif end - start > MAX_SPAN:
            violations.add("leave_request.end_time", "LEAVE_TOO_LONG", "at most 60 days after start_time")
    if len(reason) > 500:
        violations.add("leave_request.reason", "TOO_LONG", "at most 500 characters")
    violations.raise_if_any()


def day_minutes(start: datetime, end: datetime, time_zone: str) -> tuple[tuple[date, int], ...]:
    """Minutes of leave on each local day it touches, capped at a working day."""
    zone = ZoneInfo(time_zone)
    days: list[tuple[date, int]] = []
    day = start.astimezone(zone).date()
    while True:
        day_start = datetime(day.year, day.month, day.day, tzinfo=zone)
        next_day = day + timedelta(days=1)
        day_end = datetime(next_day.year, next_day.month, next_day.day, tzinfo=zone)
        if day_start >= end:
            break
        overlap = min(end, day_end) - max(start, day_start)
        minutes = int(overlap.total_seconds() // 60)
        if minutes > 0:
            days.append((day, min(minutes, WORKING_DAY_MINUTES)))
        day = next_day
    return tuple(days)


def new_request(
    *,
    request_id: str,
    employee_id: str,
    leave_type: str,
    start: datetime,
    end: datetime,
    reason: str,
    time_zone: str,
    now: datetime,
) -> LeaveRequest:
    check_request(leave_type=leave_type, start=start, end=end, reason=reason)
    return LeaveRequest(
        id=request_id,
        employee_id=employee_id,
        leave_type=leave_type,
        start_time=start,
        end_time=end,
        paid=leave_type != UNPAID,
        state=LeaveState.PENDING,
        day_minutes=day_minutes(start, end, time_zone),
        impact=(),
        decided_by="",
        reason=reason,
        created_at=now,
        decided_at=None,
        version=1,
    )


def check_version(request: LeaveRequest, expected: int | None) -> None:
    if expected is not None and expected != request.version:
        raise aborted("ETAG_MISMATCH", "etag: the leave request changed since it was read; read it again")


def rule_allows(impact: tuple[Impact, ...], *, schedule_covers: bool) -> bool:
    """Auto-approval: a published schedule covers the leave and every interval it touches
    stays at or above the service-level target without the person."""
    return schedule_covers and all(i.keeps_target for i in impact)


def approve(request: LeaveRequest, *, by: str, now: datetime) -> LeaveRequest:
    if request.state is not LeaveState.PENDING:
        raise failed_precondition(
            "LEAVE_NOT_PENDING", f"only a pending request can be approved; this one is {request.state.value}"
        )
    return replace(
        request, state=LeaveState.APPROVED, decided_by=by, decided_at=now, version=request.version + 1
    )


def reject(request: LeaveRequest, *, by: str, now: datetime) -> LeaveRequest:
    if request.state is not LeaveState.PENDING:
        raise failed_precondition(
            "LEAVE_NOT_PENDING", f"only a pending request can be rejected; this one is {request.state.value}"
        )
    return replace(
        request, state=LeaveState.REJECTED, decided_by=by, decided_at=now, version=request.version + 1
    )


def cancel(request: LeaveRequest, *, by: str, now: datetime) -> LeaveRequest:
    if request.state not in (LeaveState.PENDING, LeaveState.APPROVED):
        raise failed_precondition(
            "LEAVE_NOT_CANCELLABLE", f"a {request.state.value} request cannot be cancelled"
        )
    return replace(
        request, state=LeaveState.CANCELLED, decided_by=by, decided_at=now, version=request.version + 1
    )


def charge(balance: int | None, request: LeaveRequest) -> int | None:
    """The balance after approving; None when the type keeps no balance for the person."""
    if balance is None:
        return None
    if request.minutes > balance:
        raise failed_precondition(
            "LEAVE_BALANCE_INSUFFICIENT",
            f"{request.leave_type}: {request.minutes} minutes asked, {balance} left",
        )
    return balance - request.minutes


def staffing_impact(
    *,
    employee_id: str,
    start: datetime,
    end: datetime,
    shifts: Sequence[Shift],
    requirements: Sequence[Requirement],
) -> tuple[Impact, ...]:
    """Every interval in the leave where the published schedule has the person on a queue,
    with the projected service level as published and without them."""
    mine = [s for s in shifts if s.employee_id == employee_id and s.start < end and start < s.end]
    found: list[Impact] = []
    for requirement in requirements:
        minutes = interval_minutes(requirement)
        step = timedelta(minutes=minutes)
        starts_at = requirement.interval_starts
        indices = [
            i
            for i in indices_between(requirement, start, end)
            if any(
                s.queue_id == requirement.queue_id
                and s.on_queue_throughout(starts_at[i], starts_at[i] + step)
                for s in mine
            )
        ]
        if not indices:
            continue
        starts = [requirement.interval_starts[i] for i in indices]
        scheduled = coverage(shifts, requirement.queue_id, starts, minutes)
        with_person = projected_service_level(requirement, indices, scheduled)
        without = projected_service_level(requirement, indices, [n - 1 for n in scheduled])
        target = requirement.targets.service_level
        found.extend(
            Impact(requirement.queue_id, t, int(requirement.staffing.agents[i]), n, w, wo, target)
            for i, t, n, w, wo in zip(indices, starts, scheduled, with_person, without, strict=True)
        )
    return tuple(sorted(found, key=lambda i: (i.start_time, i.queue_id)))


def check_balance(leave_type: str, remaining: int) -> None:
    violations = Violations()
    if not _LEAVE_TYPE.fullmatch(leave_type):
        violations.add(
            "leave_balance.name",
            "LEAVE_TYPE_INVALID",
            "the leave type must be 1–40 lowercase letters, digits or _",
        )
    if not 0 <= remaining <= 366 * 24 * 60:
        violations.add("leave_balance.remaining_minutes", "OUT_OF_RANGE", "must be 0 to a year's minutes")
    violations.raise_if_any()
