"""Swaps and overtime offers without I/O: who may move them where, and the rules of a swap
whose two shifts lie in two published schedules (this week's and the next)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cadre.chassis.errors import DomainError, ErrorKind
from cadre.scheduling.domain import overtime, swap
from cadre.scheduling.domain.access import Caller
from cadre.scheduling.domain.overtime import OfferState, OvertimeOffer
from cadre.scheduling.domain.swap import ShiftSwap, SwapState
from services.scheduling.tests.unit.test_workforce_rules import DAY, _check, at, person, shift

MONDAY = DAY  # 2026-12-07
SUNDAY = MONDAY - timedelta(days=1)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _pending_swap() -> ShiftSwap:
    return ShiftSwap(
        id="s1",
        org_unit_id="a",
        requester_id="ana",
        requester_shift_start=at(MONDAY, 8),
        partner_id="ben",
        partner_shift_start=at(MONDAY + timedelta(days=7), 8),
        state=SwapState.PENDING,
        decided_by="",
        schedule_id="",
        created_at=NOW,
        version=1,
    )


def _refused(error: pytest.ExceptionInfo[DomainError]) -> tuple[ErrorKind, str]:
    return error.value.kind, error.value.reason


def test_the_rules_look_at_both_weeks_and_a_day_beyond() -> None:
    assert swap.checked_days(MONDAY) == (SUNDAY, MONDAY + timedelta(days=8))
    wednesday, next_monday = MONDAY + timedelta(days=2), MONDAY + timedelta(days=7)
    assert swap.checked_days(next_monday, wednesday) == (SUNDAY, MONDAY + timedelta(days=15))


def test_rest_across_the_week_boundary_is_checked() -> None:
    # Last week's schedule: Ana works late on Sunday (until 22:00) and early on Saturday.
    # This week's: Ben works early on Monday. Ana gives her Saturday for Ben's Monday.
    saturday = shift("ana", at(SUNDAY - timedelta(days=1), 8))
    sunday_late = shift("ana", at(SUNDAY, 13, 30))
    monday_early = shift("ben", at(MONDAY, 7))
    last_week, this_week = [saturday, sunday_late], [monday_early]
    after = swap.exchanged(last_week + this_week, saturday, monday_early)
    taken = next(s for s in after if s.employee_id == "ana" and s.start == monday_early.start)
    with pytest.raises(DomainError) as broken:
        _check(person("ana"), taken, after)
    assert _refused(broken) == (ErrorKind.FAILED_PRECONDITION, "MIN_REST")
    # Within this week's schedule alone the rest break is invisible.
    _check(person("ana"), taken, swap.exchanged(this_week, saturday, monday_early))
    # Ben takes a Saturday with nothing around it: fine.
    _check(person("ben"), next(s for s in after if s.employee_id == "ben"), after)


def test_weekly_minutes_count_the_whole_iso_week_across_schedules() -> None:
    # A schedule starting on a Thursday: Mon–Wed lie in the one before, Thu in this one.
    before = [shift("ana", at(MONDAY + timedelta(days=i), 8)) for i in range(3)]
    thursday = shift("ben", at(MONDAY + timedelta(days=3), 8))
    giving = shift("ana", at(MONDAY + timedelta(days=9), 8))
    after = swap.exchanged([*before, thursday, giving], giving, thursday)
    taken = next(s for s in after if s.employee_id == "ana" and s.start == thursday.start)
    with pytest.raises(DomainError) as too_much:
        _check(person("ana", weekly=3 * 480), taken, after)
    assert _refused(too_much) == (ErrorKind.FAILED_PRECONDITION, "MAX_WEEKLY_MINUTES")
    _check(person("ana", weekly=4 * 480), taken, after)


def test_a_pending_swap_is_rejected_declined_or_cancelled_once() -> None:
    pending = _pending_swap()
    assert swap.declines(pending, "ben") and not swap.declines(pending, "ana")
    assert not swap.declines(pending, None)

    rejected = swap.reject(pending, by="employees/lead", expected_version=1)
    assert (rejected.state, rejected.decided_by, rejected.version) == (
        SwapState.REJECTED,
        "employees/lead",
        2,
    )
    assert rejected.schedule_id == "" and rejected.partner_schedule_id == ""
    for move in (
        lambda: swap.reject(rejected, by="employees/lead", expected_version=None),
        lambda: swap.approve(rejected, by="employees/lead", schedule_id="v2", expected_version=None),
        lambda: swap.cancel(rejected, employee_id="ana", by="employees/ana", expected_version=None),
    ):
        with pytest.raises(DomainError) as again:
            move()
        assert _refused(again) == (ErrorKind.FAILED_PRECONDITION, "SWAP_NOT_PENDING")

    with pytest.raises(DomainError) as stale:
        swap.reject(rejected, by="employees/lead", expected_version=1)
    assert _refused(stale) == (ErrorKind.ABORTED, "ETAG_MISMATCH")

    with pytest.raises(DomainError) as not_theirs:
        swap.cancel(pending, employee_id="ben", by="employees/ben", expected_version=None)
    assert _refused(not_theirs) == (ErrorKind.PERMISSION_DENIED, "NOT_REQUESTER")
    cancelled = swap.cancel(pending, employee_id="ana", by="employees/ana", expected_version=1)
    assert (cancelled.state, cancelled.decided_by) == (SwapState.CANCELLED, "employees/ana")


def test_an_approval_across_two_schedules_keeps_both_versions() -> None:
    approved = swap.approve(
        _pending_swap(), by="employees/lead", schedule_id="v2", partner_schedule_id="w2", expected_version=1
    )
    assert (approved.state, approved.schedule_id, approved.partner_schedule_id) == (
        SwapState.APPROVED,
        "v2",
        "w2",
    )


def test_a_withdrawn_offer_cannot_be_accepted_or_withdrawn_again() -> None:
    start = at(MONDAY, 18)
    offer = OvertimeOffer(
        "o1",
        "a",
        "billing",
        start,
        start + timedelta(hours=1),
        ("ana",),
        OfferState.OPEN,
        "lead",
        "",
        "",
        NOW,
        1,
    )
    withdrawn = overtime.withdraw(offer, expected_version=1)
    assert (withdrawn.state, withdrawn.version) == (OfferState.WITHDRAWN, 2)
    with pytest.raises(DomainError) as closed:
        overtime.accept(withdrawn, employee_id="ana", schedule_id="v2")
    assert _refused(closed) == (ErrorKind.FAILED_PRECONDITION, "OFFER_NOT_OPEN")
    with pytest.raises(DomainError) as twice:
        overtime.withdraw(withdrawn, expected_version=None)
    assert _refused(twice) == (ErrorKind.FAILED_PRECONDITION, "OFFER_NOT_OPEN")
    with pytest.raises(DomainError) as stale:
        overtime.withdraw(offer, expected_version=7)
    assert _refused(stale) == (ErrorKind.ABORTED, "ETAG_MISMATCH")
    accepted = overtime.accept(offer, employee_id="ana", schedule_id="v2")
    with pytest.raises(DomainError) as taken:
        overtime.withdraw(accepted, expected_version=None)
    assert _refused(taken) == (ErrorKind.FAILED_PRECONDITION, "OFFER_NOT_OPEN")


def test_a_team_list_shows_a_leader_everything_and_anyone_else_their_own() -> None:
    team = ("center", "dept", "a")
    leader = Caller("employees/lead", "lead", False, False, (("center", "dept", "a"),))
    agent = Caller("employees/ana", "ana", False, False, ())
    service = Caller("services/gateway", None, False, False, ())
    assert leader.own_entries(team) is None
    assert agent.own_entries(team) == "ana"
    assert leader.own_entries(("center", "dept", "b")) == "lead"
    with pytest.raises(DomainError) as outside:
        service.own_entries(team)
    assert _refused(outside) == (ErrorKind.PERMISSION_DENIED, "OUT_OF_SCOPE")
    assert replace(service, sees_everything=True).own_entries(None) is None
