"""Shift swaps and overtime offers through SchedulingService, the day-to-day of team leaders:
swaps across two published weeks, rejected, declined and withdrawn swaps, withdrawn offers, and
the lists of both. The world (roster over the bus, the billing queue, the team's templates, the
rostering engine) is the one of `test_workforce_api`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.type import date_pb2, timeofday_pb2

from cadre.chassis.grpc_errors import error_info
from cadre.roster.v1 import employee_pb2
from cadre.roster.v1 import roster_service_pb2 as rs
from cadre.scheduling.v1 import (
    forecast_pb2,
    overtime_pb2,
    schedule_pb2,
    scheduling_service_pb2,
    swap_pb2,
)
from services.scheduling.tests.integration.test_workforce_api import (
    TZ,
    WEEK_START,
    Platform,
    _billing_queue_with_requirement,
    _caught_up,
    _day_template,
    _expect,
    _generate,
    _operation,
    _published,
    _ts,
    needs_engine,
    platform,  # noqa: F401  (the fixture)
)

pb = scheduling_service_pb2
Swap, Offer = swap_pb2.ShiftSwap, overtime_pb2.OvertimeOffer
PUBLISHED = "cadre.scheduling.v1.schedule.published"
AGENTS = ("ana", "ben", "cai", "dan", "eva", "fay")  # team a's
BOUNDARY_REST_MINUTES = 15 * 60


def _date(day: date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def _local_day(shift: Any) -> date:
    return shift.start_time.ToDatetime(tzinfo=UTC).astimezone(ZoneInfo(TZ)).date()


async def _requirement(p: Platform, queue: str, first_day: date, days: int) -> None:
    """A forecast and a requirement for `days` from `first_day` (newer than the world's own)."""
    admin = p.scheduling()
    started = await admin.GenerateForecast(
        pb.GenerateForecastRequest(parent=queue, days=days, start_date=_date(first_day))
    )
    done = await _operation(p, started.name)
    assert not done.HasField("error"), done.error
    forecast = forecast_pb2.Forecast()
    done.response.Unpack(forecast)
    await admin.CreateRequirement(pb.CreateRequirementRequest(parent=queue, forecast=forecast.name))


async def _published_schedules(p: Platform, *days: int) -> tuple[str, list[schedule_pb2.Schedule]]:
    """The billing queue and consecutive published schedules of team a from WEEK_START, one per
    entry of `days` (its length), each generated knowing the one before."""
    queue = await _billing_queue_with_requirement(p)
    if sum(days) > 7:
        await _requirement(p, queue, WEEK_START, sum(days))
    await _day_template(p)
    lead = p.scheduling("lead_a")
    published = []
    first_day = WEEK_START
    for length in days:
        draft = await _generate(
            p, "lead_a", start_date=_date(first_day), days=length, queues=[queue], time_budget_seconds=5
        )
        published.append(await lead.PublishSchedule(pb.PublishScheduleRequest(name=draft.name)))
        first_day += timedelta(days=length)
    return queue, published


async def _update_employee(p: Platform, who: str, **fields: Any) -> None:
    """Changes these fields of `who` in roster (they reach scheduling over the bus)."""
    roster = p.roster()
    employee = await roster.GetEmployee(rs.GetEmployeeRequest(name=p.people[who]))
    await roster.UpdateEmployee(
        rs.UpdateEmployeeRequest(
            employee=employee_pb2.Employee(name=employee.name, etag=employee.etag, **fields),
            update_mask=field_mask_pb2.FieldMask(paths=list(fields)),
        )
    )


def _late_only(day: date) -> employee_pb2.AvailabilityException:
    """Available only from noon on `day` (a dated exception)."""
    return employee_pb2.AvailabilityException(
        date=_date(day),
        windows=[
            employee_pb2.AvailabilityWindow(
                day=day.isoweekday(),  # type: ignore[arg-type]
                start=timeofday_pb2.TimeOfDay(hours=12),
                end=timeofday_pb2.TimeOfDay(hours=24),
            )
        ],
    )


def _who(p: Platform, employee: str) -> str:
    return next(k for k, v in p.people.items() if v == employee)


def _swap(mine: Any, theirs: Any) -> swap_pb2.ShiftSwap:
    return Swap(
        requester=mine.employee,
        requester_shift_start=mine.start_time,
        partner=theirs.employee,
        partner_shift_start=theirs.start_time,
    )


async def _first_accepted(p: Platform, pairs: list[tuple[Any, Any]], *, want: int = 1) -> list[Swap]:
    """Asks for the pairs' swaps in turn (each as its requester) until `want` are accepted; a
    broken rule only skips a pair."""
    made: list[Swap] = []
    for mine, theirs in pairs:
        try:
            made.append(
                await p.scheduling(_who(p, mine.employee)).CreateShiftSwap(
                    pb.CreateShiftSwapRequest(parent=p.units["a"], shift_swap=_swap(mine, theirs))
                )
            )
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error.details()
            continue
        if len(made) == want:
            break
    assert len(made) == want, f"only {len(made)} of {want} swaps keep every rule"
    return made


async def _every_page(list_page: Callable[[str], Awaitable[Any]], field: str) -> list[str]:
    """Names over every page, in the order the pages gave them."""
    names: list[str] = []
    token = ""
    while True:
        page = await list_page(token)
        names += [item.name for item in getattr(page, field)]
        token = page.next_page_token
        if not token:
            return names


@needs_engine
async def test_a_swap_across_two_published_weeks_publishes_both_and_keeps_rest_over_the_boundary(
    platform: Platform,  # noqa: F811
) -> None:
    p = platform
    # On the first week's Sunday everyone may only work late, and everyone may work 48 hours a
    # week (the engine still plans five working days, so a sixth shift from a swap between the
    # weeks stays within the contract). With 15 hours' rest, a late shift (ending 20:00 or
    # later) and a day shift the next morning (starting 10:00 at the latest) never go together,
    # so whoever works a day shift on the Monday after, in the next week's schedule, was off
    # that Sunday and cannot take a colleague's Sunday: too little rest. This holds whatever
    # schedules the engine finds, as long as someone works the Monday morning.
    sunday = WEEK_START + timedelta(days=6)
    for who in AGENTS:
        await _update_employee(
            p,
            who,
            availability_exceptions=[_late_only(sunday)],
            contract=employee_pb2.Contract(
                max_weekly_minutes=6 * 480,
                min_rest_minutes=BOUNDARY_REST_MINUTES,
                max_consecutive_days=6,
                days_off_per_week=2,
            ),
        )
    # 4 units, 10 hires and 4 grants in the world, and these 6 updates.
    await _caught_up(p.nats_url, "CADRE_ROSTER", "scheduling-roster", at_least=24)
    _, (week_1, week_2) = await _published_schedules(p, 7, 7)
    lead = p.scheduling("lead_a")
    schedule_of = {(s.employee, s.start_time.seconds): w.name for w in (week_1, week_2) for s in w.shifts}
    shifts = [*week_1.shifts, *week_2.shifts]
    days = {(s.employee, _local_day(s)) for s in shifts}
    rest = BOUNDARY_REST_MINUTES * 60

    def home(s: Any) -> str:
        return schedule_of[(s.employee, s.start_time.seconds)]

    def rest_cut_over_the_boundary(mine: Any, theirs: Any) -> bool:
        """The requester, taking `theirs`, rests too little next to a shift of theirs own that
        lies in the other week's schedule (and works no other shift that day)."""
        if (mine.employee, _local_day(theirs)) in days:
            return False
        return any(
            n.employee == mine.employee
            and n is not mine
            and home(n) != home(theirs)
            and (
                0 <= theirs.start_time.seconds - n.end_time.seconds < rest
                or 0 <= n.start_time.seconds - theirs.end_time.seconds < rest
            )
            for n in shifts
        )

    crossing = [
        (mine, theirs)
        for mine in shifts
        for theirs in shifts
        if theirs.employee != mine.employee and home(mine) != home(theirs)
    ]
    breaking = [(mine, theirs) for mine, theirs in crossing if rest_cut_over_the_boundary(mine, theirs)]
    assert breaking, "no exchange between the weeks would cut anyone's rest over the boundary"
    mine, theirs = breaking[0]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await p.scheduling(_who(p, mine.employee)).CreateShiftSwap(
            pb.CreateShiftSwapRequest(parent=p.units["a"], shift_swap=_swap(mine, theirs))
        )
    _expect(refused.value, grpc.StatusCode.FAILED_PRECONDITION, "MIN_REST")

    # One that keeps every rule waits for the leader (two days, two weeks), who approves it:
    # both weeks are published again, each with the people whose shifts moved.
    (asked,) = await _first_accepted(p, [(m, t) for m, t in crossing if home(m) == week_1.name])
    assert asked.state == Swap.STATE_PENDING and not asked.schedule and not asked.partner_schedule
    approved = await lead.ApproveShiftSwap(pb.ApproveShiftSwapRequest(name=asked.name, etag=asked.etag))
    assert approved.state == Swap.STATE_APPROVED and approved.decided_by == p.people["lead_a"]
    pair = sorted([asked.requester, asked.partner])
    given = (asked.requester, asked.requester_shift_start.seconds)
    taken = (asked.partner, asked.partner_shift_start.seconds)
    for old, new_name, moved, to in (
        (week_1, approved.schedule, given, asked.partner),
        (week_2, approved.partner_schedule, taken, asked.requester),
    ):
        new = await lead.GetSchedule(pb.GetScheduleRequest(name=new_name))
        assert new.state == schedule_pb2.Schedule.STATE_PUBLISHED and new.version == old.version + 1
        assert new.base_schedule == old.name and new.start_date == old.start_date
        now_held = {(s.employee, s.start_time.seconds) for s in new.shifts}
        assert (to, moved[1]) in now_held and moved not in now_held
        assert len(new.shifts) == len(old.shifts)
        before = await lead.GetSchedule(pb.GetScheduleRequest(name=old.name))
        assert before.state == schedule_pb2.Schedule.STATE_SUPERSEDED
    events = await _published(p.nats_url, PUBLISHED, at_least=4)
    assert [e.schedule for e in events] == [
        week_1.name,
        week_2.name,
        approved.schedule,
        approved.partner_schedule,
    ]
    assert [sorted(e.changed_employees) for e in events[2:]] == [pair, pair]


@needs_engine
async def test_swaps_rejected_declined_or_withdrawn_leave_the_schedule_and_list_once(
    platform: Platform,  # noqa: F811
) -> None:
    p = platform
    _, (week,) = await _published_schedules(p, 7)
    lead = p.scheduling("lead_a")
    pairs = [
        (mine, theirs)
        for mine in week.shifts
        for theirs in week.shifts
        if theirs.employee != mine.employee and _local_day(theirs) != _local_day(mine)
    ]
    made = await _first_accepted(p, pairs, want=4)
    assert all(s.state == Swap.STATE_PENDING for s in made)
    rejected, declined, cancelled, raced = made

    # The leader rejects (with the etag it read); the schedule stays as published.
    turned_down = await lead.RejectShiftSwap(
        pb.RejectShiftSwapRequest(name=rejected.name, etag=rejected.etag)
    )
    assert turned_down.state == Swap.STATE_REJECTED and turned_down.decided_by == p.people["lead_a"]
    assert not turned_down.schedule and turned_down.etag != rejected.etag
    assert await lead.GetSchedule(pb.GetScheduleRequest(name=week.name)) == week
    listed = await lead.ListSchedules(pb.ListSchedulesRequest(parent=p.units["a"]))
    assert [s.name for s in listed.schedules] == [week.name]
    for move in (
        lead.RejectShiftSwap(pb.RejectShiftSwapRequest(name=rejected.name)),
        lead.ApproveShiftSwap(pb.ApproveShiftSwapRequest(name=rejected.name)),
        p.scheduling(_who(p, rejected.requester)).CancelShiftSwap(
            pb.CancelShiftSwapRequest(name=rejected.name)
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as closed:
            await move
        _expect(closed.value, grpc.StatusCode.FAILED_PRECONDITION, "SWAP_NOT_PENDING")

    # Nobody outside the team or the swap may turn it down; a stale etag is refused.
    bystander = next(k for k in AGENTS if p.people[k] not in (declined.requester, declined.partner))
    for who in ("lead_b", bystander):
        with pytest.raises(grpc.aio.AioRpcError) as outside:
            await p.scheduling(who).RejectShiftSwap(pb.RejectShiftSwapRequest(name=declined.name))
        _expect(outside.value, grpc.StatusCode.PERMISSION_DENIED, "OUT_OF_SCOPE")
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await lead.RejectShiftSwap(pb.RejectShiftSwapRequest(name=declined.name, etag=turned_down.etag))
    _expect(stale.value, grpc.StatusCode.ABORTED, "ETAG_MISMATCH")

    # The partner declines without any authority.
    partner = p.scheduling(_who(p, declined.partner))
    turned = await partner.RejectShiftSwap(pb.RejectShiftSwapRequest(name=declined.name))
    assert turned.state == Swap.STATE_REJECTED and turned.decided_by == declined.partner

    # Only the requester withdraws; a retry with the same request id answers the same.
    with pytest.raises(grpc.aio.AioRpcError) as not_theirs:
        await p.scheduling(_who(p, cancelled.partner)).CancelShiftSwap(
            pb.CancelShiftSwapRequest(name=cancelled.name)
        )
    _expect(not_theirs.value, grpc.StatusCode.PERMISSION_DENIED, "NOT_REQUESTER")
    withdraw = pb.CancelShiftSwapRequest(
        name=cancelled.name, request_id="0b0e4c5e-8d1f-4c41-9d6a-3f5e1c2a7b90"
    )
    requester = p.scheduling(_who(p, cancelled.requester))
    first, retried = await asyncio.gather(
        requester.CancelShiftSwap(withdraw), requester.CancelShiftSwap(withdraw)
    )
    assert first == retried and first.state == Swap.STATE_CANCELLED

    # The leader rejecting and the requester withdrawing at once: exactly one wins.
    outcomes = await asyncio.gather(
        lead.RejectShiftSwap(pb.RejectShiftSwapRequest(name=raced.name)),
        p.scheduling(_who(p, raced.requester)).CancelShiftSwap(pb.CancelShiftSwapRequest(name=raced.name)),
        return_exceptions=True,
    )
    won = [o for o in outcomes if isinstance(o, Swap)]
    lost = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert error_info(lost[0])[0].reason in ("SWAP_NOT_PENDING", "ETAG_MISMATCH")
    final = await lead.GetShiftSwap(pb.GetShiftSwapRequest(name=raced.name))
    assert final.state == won[0].state and final.etag == won[0].etag
    assert len(await _published(p.nats_url, PUBLISHED, timeout=1)) == 1  # nothing published again

    # Lists: a page at a time, every swap exactly once, in name order.
    names = sorted(s.name for s in made)

    def listing(who: str, **filters: Any) -> Callable[[str], Awaitable[Any]]:
        stub = p.scheduling(who)
        return lambda token: stub.ListShiftSwaps(
            pb.ListShiftSwapsRequest(parent=p.units["a"], page_size=1, page_token=token, **filters)
        )

    assert await _every_page(listing("lead_a"), "shift_swaps") == names
    states = {s.name: (await lead.GetShiftSwap(pb.GetShiftSwapRequest(name=s.name))).state for s in made}
    for state in (Swap.STATE_REJECTED, Swap.STATE_CANCELLED, Swap.STATE_PENDING):
        expected = [name for name in names if states[name] == state]
        assert await _every_page(listing("lead_a", state=state), "shift_swaps") == expected
    assert {rejected.name, declined.name} <= {n for n in names if states[n] == Swap.STATE_REJECTED}
    involved = cancelled.requester
    theirs_only = sorted(s.name for s in made if involved in (s.requester, s.partner))
    assert await _every_page(listing("lead_a", employee=involved), "shift_swaps") == theirs_only
    # An employee sees the swaps they are part of, whatever the filter asks.
    assert await _every_page(listing(_who(p, involved)), "shift_swaps") == theirs_only
    assert await _every_page(listing("lead_b"), "shift_swaps") == []
    mine_with = next(s for s in made if involved in (s.requester, s.partner))
    other = mine_with.partner if mine_with.requester == involved else mine_with.requester
    both = sorted(s.name for s in made if {involved, other} <= {s.requester, s.partner})
    assert await _every_page(listing(_who(p, involved), employee=other), "shift_swaps") == both

    first_page = await lead.ListShiftSwaps(pb.ListShiftSwapsRequest(parent=p.units["a"], page_size=2))
    assert len(first_page.shift_swaps) == 2 and first_page.next_page_token
    for bad, field, reason in (
        (
            pb.ListShiftSwapsRequest(
                parent=p.units["a"], page_token=first_page.next_page_token, state=Swap.STATE_PENDING
            ),
            "page_token",
            "PAGE_TOKEN_MISMATCH",
        ),
        (pb.ListShiftSwapsRequest(parent=p.units["a"], page_size=-1), "page_size", "PAGE_SIZE_NEGATIVE"),
        (pb.ListShiftSwapsRequest(parent=p.units["a"], state=99), "state", "STATE_INVALID"),  # type: ignore[arg-type]
        (
            pb.ListShiftSwapsRequest(parent=p.units["a"], employee="people/1"),
            "employee",
            "MALFORMED_RESOURCE_NAME",
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as invalid:
            await lead.ListShiftSwaps(bad)
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        info, violations = error_info(invalid.value)
        assert violations is not None and [v.field for v in violations.field_violations] == [field]
        assert [v.reason for v in violations.field_violations] == [reason], info


@needs_engine
async def test_a_withdrawn_overtime_offer_cannot_be_accepted_and_offers_list_once(
    platform: Platform,  # noqa: F811
) -> None:
    p = platform
    queue, (week,) = await _published_schedules(p, 7)
    lead = p.scheduling("lead_a")
    report = await lead.GetCoverageReport(pb.GetCoverageReportRequest(schedule=week.name))
    short = sorted({i.start_time.ToDatetime(tzinfo=UTC) for i in report.intervals if i.shortfall})
    offers: list[Offer] = []
    for start in short:
        # An hour each, apart from one another: every offer has people free for it.
        if offers and start < offers[-1].end_time.ToDatetime(tzinfo=UTC):
            continue
        try:
            offers.append(
                await lead.CreateOvertimeOffer(
                    pb.CreateOvertimeOfferRequest(
                        parent=p.units["a"],
                        overtime_offer=Offer(
                            queue=queue, start_time=_ts(start), end_time=_ts(start + timedelta(hours=1))
                        ),
                    )
                )
            )
        except grpc.aio.AioRpcError as error:
            _expect(error, grpc.StatusCode.FAILED_PRECONDITION, "NO_ELIGIBLE_EMPLOYEES")
        if len(offers) == 3:
            break
    assert len(offers) == 3, "the schedule is not short often enough to offer overtime three times"
    withdrawn_one, accepted_one, open_one = offers
    taker = _who(p, withdrawn_one.eligible_employees[0])

    for who in ("lead_b", taker):
        with pytest.raises(grpc.aio.AioRpcError) as outside:
            await p.scheduling(who).WithdrawOvertimeOffer(
                pb.WithdrawOvertimeOfferRequest(name=withdrawn_one.name)
            )
        _expect(outside.value, grpc.StatusCode.PERMISSION_DENIED, "OUT_OF_SCOPE")
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await lead.WithdrawOvertimeOffer(
            pb.WithdrawOvertimeOfferRequest(name=withdrawn_one.name, etag='W/"9"')
        )
    _expect(stale.value, grpc.StatusCode.ABORTED, "ETAG_MISMATCH")
    withdrawn = await lead.WithdrawOvertimeOffer(
        pb.WithdrawOvertimeOfferRequest(name=withdrawn_one.name, etag=withdrawn_one.etag)
    )
    assert withdrawn.state == Offer.STATE_WITHDRAWN and not withdrawn.accepted_by
    for move in (
        p.scheduling(taker).AcceptOvertimeOffer(pb.AcceptOvertimeOfferRequest(name=withdrawn_one.name)),
        lead.WithdrawOvertimeOffer(pb.WithdrawOvertimeOfferRequest(name=withdrawn_one.name)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as closed:
            await move
        _expect(closed.value, grpc.StatusCode.FAILED_PRECONDITION, "OFFER_NOT_OPEN")
    assert await lead.GetSchedule(pb.GetScheduleRequest(name=week.name)) == week

    accepter = _who(p, accepted_one.eligible_employees[0])
    accepted = await p.scheduling(accepter).AcceptOvertimeOffer(
        pb.AcceptOvertimeOfferRequest(name=accepted_one.name)
    )
    assert accepted.state == Offer.STATE_ACCEPTED
    with pytest.raises(grpc.aio.AioRpcError) as taken:
        await lead.WithdrawOvertimeOffer(pb.WithdrawOvertimeOfferRequest(name=accepted_one.name))
    _expect(taken.value, grpc.StatusCode.FAILED_PRECONDITION, "OFFER_NOT_OPEN")

    def listing(who: str, **filters: Any) -> Callable[[str], Awaitable[Any]]:
        stub = p.scheduling(who)
        return lambda token: stub.ListOvertimeOffers(
            pb.ListOvertimeOffersRequest(parent=p.units["a"], page_size=1, page_token=token, **filters)
        )

    names = sorted(o.name for o in offers)
    assert await _every_page(listing("lead_a"), "overtime_offers") == names
    for state, expected in (
        (Offer.STATE_OPEN, [open_one.name]),
        (Offer.STATE_ACCEPTED, [accepted_one.name]),
        (Offer.STATE_WITHDRAWN, [withdrawn_one.name]),
    ):
        assert await _every_page(listing("lead_a", state=state), "overtime_offers") == expected
    # An employee sees the offers made to them; someone in another team sees none of team a's.
    for who in AGENTS:
        offered = sorted(o.name for o in offers if p.people[who] in o.eligible_employees)
        assert await _every_page(listing(who), "overtime_offers") == offered
    assert await _every_page(listing("bea"), "overtime_offers") == []
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await lead.ListOvertimeOffers(pb.ListOvertimeOffersRequest(parent=p.units["a"], state=7))  # type: ignore[arg-type]
    _expect(bad.value, grpc.StatusCode.INVALID_ARGUMENT, "STATE_INVALID")
