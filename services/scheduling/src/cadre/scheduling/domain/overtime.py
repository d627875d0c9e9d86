"""Overtime offers: extra time where coverage is short, for whoever may work it.

Eligible: a valid skill for the queue, no shift of one's own overlapping it, no leave or
training then, the contract's rest before and after it (an extension right before or after
one's own shift needs none) and the contract's weekly paid minutes with it counted.

An open offer is accepted by one eligible person or withdrawn by the team leader; either way it
is closed for good.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cadre.chassis.errors import Violations, aborted, failed_precondition, permission_denied
from cadre.scheduling.domain.schedule import Shift
from cadre.scheduling.domain.team import Person

MAX_LENGTH = timedelta(hours=4)


class OfferState(enum.Enum):
    OPEN = "OPEN"
    ACCEPTED = "ACCEPTED"
    WITHDRAWN = "WITHDRAWN"


@dataclass(frozen=True)
class OvertimeOffer:
    id: str
    org_unit_id: str
    queue_id: str
    start: datetime
    end: datetime
    eligible: tuple[str, ...]
    state: OfferState
    authorized_by: str
    accepted_by: str
    schedule_id: str
    created_at: datetime
    version: int

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


def check_offer(start: datetime | None, end: datetime | None) -> None:
    v = Violations()
    if start is None:
        v.add("overtime_offer.start_time", "REQUIRED", "is required")
    elif start.timestamp() % 900:
        v.add("overtime_offer.start_time", "OFF_GRID", "must be on the quarter hour")
    if end is None:
        v.add("overtime_offer.end_time", "REQUIRED", "is required")
    elif end.timestamp() % 900:
        v.add("overtime_offer.end_time", "OFF_GRID", "must be on the quarter hour")
    if start is not None and end is not None and not start < end <= start + MAX_LENGTH:
        v.add("overtime_offer.end_time", "OUT_OF_RANGE", "must be after start_time, at most 4 hours later")
    v.raise_if_any()


def eligible(
    person: Person,
    *,
    queue_id: str,
    start: datetime,
    end: datetime,
    shifts: Sequence[Shift],
    blocked: Sequence[tuple[datetime, datetime]],
    time_zone: str,
    may_work_queue: Callable[[Person, str, date], bool],
) -> bool:
    zone = ZoneInfo(time_zone)
    if not may_work_queue(person, queue_id, start.astimezone(zone).date()):
        return False
    if any(b_start < end and start < b_end for b_start, b_end in blocked):
        return False
    mine = [s for s in shifts if s.employee_id == person.id]
    if any(s.start < end and start < s.end for s in mine):
        return False
    rest = timedelta(minutes=person.contract.min_rest_minutes)
    for s in mine:
        gap = start - s.end if s.end <= start else s.start - end
        if timedelta(0) < gap < rest:
            return False
    limit = person.contract.max_weekly_minutes
    if limit:
        week = start.astimezone(zone).isocalendar()[:2]
        paid = sum(s.paid_minutes for s in mine if s.start.astimezone(zone).isocalendar()[:2] == week)
        if paid + int((end - start).total_seconds() // 60) > limit:
            return False
    return True


def overtime_shift(offer: OvertimeOffer, employee_id: str) -> Shift:
    return Shift(
        employee_id=employee_id,
        queue_id=offer.queue_id,
        template_id="",
        start=offer.start,
        end=offer.end,
        overtime=True,
    )


def _open(offer: OvertimeOffer) -> None:
    if offer.state is not OfferState.OPEN:
        raise failed_precondition(
            "OFFER_NOT_OPEN", f"only an open offer can change; this one is {offer.state.value}"
        )


def accept(offer: OvertimeOffer, *, employee_id: str | None, schedule_id: str) -> OvertimeOffer:
    _open(offer)
    if employee_id is None or employee_id not in offer.eligible:
        raise permission_denied("NOT_OFFERED", "the offer is not open to the caller")
    return replace(
        offer,
        state=OfferState.ACCEPTED,
        accepted_by=employee_id,
        schedule_id=schedule_id,
        version=offer.version + 1,
    )


def withdraw(offer: OvertimeOffer, *, expected_version: int | None) -> OvertimeOffer:
    if expected_version is not None and expected_version != offer.version:
        raise aborted("ETAG_MISMATCH", "etag: the offer changed since it was read; read it again")
    _open(offer)
    return replace(offer, state=OfferState.WITHDRAWN, version=offer.version + 1)


def works_that_day(shifts: Sequence[Shift], employee_id: str, moment: datetime, time_zone: str) -> bool:
    zone = ZoneInfo(time_zone)
    day = moment.astimezone(zone).date()
    return any(
        s.employee_id == employee_id and not s.overtime and s.start.astimezone(zone).date() == day
        for s in shifts
    )
