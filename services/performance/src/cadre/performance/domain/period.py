"""A pay period's life: open → calculated → in review → closed, and what each state allows.

A closed period never changes (RELIABILITY R19): every write that would touch it is
FAILED_PRECONDITION with the reason PERIOD_CLOSED; corrections go into an open period.
"""

from __future__ import annotations

import enum

from cadre.chassis.errors import failed_precondition


class PeriodState(enum.Enum):
    OPEN = "OPEN"
    CALCULATED = "CALCULATED"
    IN_REVIEW = "IN_REVIEW"
    CLOSED = "CLOSED"


def _refuse_closed(state: PeriodState, what: str, period: str) -> None:
    if state is PeriodState.CLOSED:
        raise failed_precondition(
            "PERIOD_CLOSED",
            f"{period} is closed and never changes; {what} — correct it in an open period instead",
            pay_period=period,
        )


def check_can_calculate(state: PeriodState, period: str) -> None:
    _refuse_closed(state, "it cannot be recalculated", period)
    if state is PeriodState.IN_REVIEW:
        raise failed_precondition(
            "PERIOD_IN_REVIEW", f"{period} is in review; resolve disputes instead of recalculating"
        )


def check_can_start_review(state: PeriodState, period: str) -> None:
    _refuse_closed(state, "it cannot go back into review", period)
    if state is not PeriodState.CALCULATED:
        raise failed_precondition("PERIOD_NOT_CALCULATED", f"{period} must be calculated first")


def check_can_dispute(state: PeriodState, period: str) -> None:
    _refuse_closed(state, "its lines cannot be disputed", period)
    if state is not PeriodState.IN_REVIEW:
        raise failed_precondition("PERIOD_NOT_IN_REVIEW", f"disputes are opened while {period} is in review")


def check_can_resolve(state: PeriodState, period: str) -> None:
    _refuse_closed(state, "its disputes cannot be resolved", period)


def check_can_take_corrections(state: PeriodState, period: str) -> None:
    _refuse_closed(state, "it cannot take corrections", period)
    if state is PeriodState.IN_REVIEW:
        raise failed_precondition(
            "PERIOD_IN_REVIEW", f"{period} is in review; corrections land in an open or calculated period"
        )


def check_can_close(state: PeriodState, period: str, *, open_disputes: int, may_override: bool) -> None:
    _refuse_closed(state, "it is already closed", period)
    if state not in (PeriodState.CALCULATED, PeriodState.IN_REVIEW):
        raise failed_precondition("PERIOD_NOT_CALCULATED", f"{period} must be calculated before it closes")
    if open_disputes and not may_override:
        raise failed_precondition(
            "OPEN_DISPUTES",
            f"{period} has {open_disputes} open dispute(s); resolve them, or an administrator closes "
            "with allow_open_disputes",
            open_disputes=str(open_disputes),
        )
