"""Shift swaps: two people exchange published shifts, if every rule still holds afterwards.

Checked rules, each named in the refusal: NOTICE_PERIOD (both shifts start at least
`MIN_NOTICE` from now), SKILL (each can work the other's queue), EMPLOYMENT_TYPE (the template
admits them), ONE_SHIFT_PER_DAY, MIN_REST (rest between consecutive shifts per the contract),
MAX_WEEKLY_MINUTES (paid minutes in the ISO week of the shift) and BLOCKED_TIME (approved
leave or training). The two shifts may lie in two published schedules of the team (this week and
the next): the rules then look at the shifts of both, and of whatever schedule borders them, so
rest and weekly minutes hold across a schedule's boundary.

A pending swap is approved (by the team leader or by rule), rejected (by the team leader, or
declined by the partner) or cancelled (withdrawn by the requester); nothing else moves it.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cadre.chassis.errors import DomainError, aborted, failed_precondition, invalid_field, permission_denied
from cadre.scheduling.domain.schedule import Shift
from cadre.scheduling.domain.team import Person

MIN_NOTICE = timedelta(hours=24)
AUTO_NOTICE = timedelta(hours=72)
AUTO_APPROVER = "rules/auto-approval"


class SwapState(enum.Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class ShiftSwap:
    id: str
    org_unit_id: str
    requester_id: str
    requester_shift_start: datetime
    partner_id: str
    partner_shift_start: datetime
    state: SwapState
    decided_by: str
    schedule_id: str
    created_at: datetime
    version: int
    # The version of the partner's schedule published with the swap, when the partner's shift
    # lay in another published schedule than the requester's ("" when one held both).
    partner_schedule_id: str = ""


def broken(rule: str, message: str, **metadata: str) -> DomainError:
    return failed_precondition(rule, f"{rule}: {message}", rule=rule, **metadata)


def find_shift(shifts: Sequence[Shift], employee_id: str, start: datetime, field: str) -> Shift:
    for s in shifts:
        if s.employee_id == employee_id and s.start == start:
            return s
    raise failed_precondition(
        "SHIFT_NOT_PUBLISHED", f"{field}: no published shift of that person starts then"
    )


def checked_days(*days: date) -> tuple[date, date]:
    """[first, end) of the local days whose shifts the rules need for shifts on `days`: the ISO
    weeks they fall in (weekly minutes) and a day on either side (rest across the week's edge)."""
    first = min(d - timedelta(days=d.weekday()) for d in days) - timedelta(days=1)
    end = max(d + timedelta(days=7 - d.weekday()) for d in days) + timedelta(days=1)
    return first, end


def exchanged(shifts: Sequence[Shift], mine: Shift, theirs: Shift) -> list[Shift]:
    swapped = {
        mine.key(): replace(mine, employee_id=theirs.employee_id),
        theirs.key(): replace(theirs, employee_id=mine.employee_id),
    }
    return [swapped.get(s.key(), s) for s in shifts]


def _minutes(a: datetime, b: datetime) -> int:
    return int((b - a).total_seconds() // 60)


def check_person(
    person: Person,
    *,
    taken: Shift,
    after: Sequence[Shift],
    time_zone: str,
    may_work_queue: Callable[[Person, str, date], bool],
    template_types: tuple[int, ...],
    blocked: Sequence[tuple[datetime, datetime]],
) -> None:
    """The rules for one person taking `taken`, given all their shifts `after` the swap."""
    zone = ZoneInfo(time_zone)
    day = taken.start.astimezone(zone).date()
    who = f"employees/{person.id}"
    if not may_work_queue(person, taken.queue_id, day):
        raise broken("SKILL", f"{who} has no valid skill for queues/{taken.queue_id}", employee=who)
    if template_types and person.employment_type not in template_types:
        raise broken(
            "EMPLOYMENT_TYPE", f"the shift's template does not admit {who}'s employment type", employee=who
        )
    for start, end in blocked:
        if start < taken.end and taken.start < end:
            raise broken("BLOCKED_TIME", f"{who} is on leave or in training then", employee=who)
    mine = sorted((s for s in after if s.employee_id == person.id), key=lambda s: s.start)
    days = [s.start.astimezone(zone).date() for s in mine]
    if len(days) != len(set(days)):
        raise broken("ONE_SHIFT_PER_DAY", f"{who} would work two shifts on {day}", employee=who)
    rest = person.contract.min_rest_minutes
    for a, b in itertools.pairwise(mine):
        if rest and _minutes(a.end, b.start) < rest:
            gap = _minutes(a.end, b.start)
            raise broken(
                "MIN_REST",
                f"{who} would rest {gap} minutes between shifts; the contract asks {rest}",
                employee=who,
            )
    limit = person.contract.max_weekly_minutes
    if limit:
        iso_week = taken.start.astimezone(zone).isocalendar()[:2]
        week = [s for s in mine if s.start.astimezone(zone).isocalendar()[:2] == iso_week]
        paid = sum(s.paid_minutes for s in week)
        if paid > limit:
            raise broken(
                "MAX_WEEKLY_MINUTES",
                f"{who} would work {paid} paid minutes that week; the contract allows {limit}",
                employee=who,
            )


def check_notice(shifts: Sequence[Shift], now: datetime) -> None:
    if min(s.start for s in shifts) - now < MIN_NOTICE:
        raise broken(
            "NOTICE_PERIOD",
            f"swaps are asked at least {int(MIN_NOTICE.total_seconds() // 3600)} h before the shift",
        )


def check_pair(requester_id: str, partner_id: str) -> None:
    if requester_id == partner_id:
        raise invalid_field("shift_swap.partner", "SAME_PERSON", "must be someone other than the requester")


def rule_allows(mine: Shift, theirs: Shift, *, now: datetime, time_zone: str) -> bool:
    """Approved at once: the same queue on the same day, asked well ahead."""
    zone = ZoneInfo(time_zone)
    return (
        mine.queue_id == theirs.queue_id
        and mine.start.astimezone(zone).date() == theirs.start.astimezone(zone).date()
        and min(mine.start, theirs.start) - now >= AUTO_NOTICE
    )


def _pending(swap: ShiftSwap, verb: str, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != swap.version:
        raise aborted("ETAG_MISMATCH", "etag: the swap changed since it was read; read it again")
    if swap.state is not SwapState.PENDING:
        raise failed_precondition(
            "SWAP_NOT_PENDING", f"only a pending swap can be {verb}; this one is {swap.state.value}"
        )


def approve(
    swap: ShiftSwap,
    *,
    by: str,
    schedule_id: str,
    expected_version: int | None,
    partner_schedule_id: str = "",
) -> ShiftSwap:
    _pending(swap, "approved", expected_version)
    return replace(
        swap,
        state=SwapState.APPROVED,
        decided_by=by,
        schedule_id=schedule_id,
        partner_schedule_id=partner_schedule_id,
        version=swap.version + 1,
    )


def declines(swap: ShiftSwap, employee_id: str | None) -> bool:
    """The partner may turn down a swap they were asked into, without any authority."""
    return employee_id is not None and employee_id == swap.partner_id


def reject(swap: ShiftSwap, *, by: str, expected_version: int | None) -> ShiftSwap:
    _pending(swap, "rejected", expected_version)
    return replace(swap, state=SwapState.REJECTED, decided_by=by, version=swap.version + 1)


def cancel(swap: ShiftSwap, *, employee_id: str | None, by: str, expected_version: int | None) -> ShiftSwap:
    """The requester withdraws their own pending swap."""
    if employee_id is None or employee_id != swap.requester_id:
        raise permission_denied("NOT_REQUESTER", "only who asked for the swap can withdraw it")
    _pending(swap, "cancelled", expected_version)
    return replace(swap, state=SwapState.CANCELLED, decided_by=by, version=swap.version + 1)
