"""A pay period's states: what each allows, and a closed period allows nothing (R19)."""

from __future__ import annotations

import pytest

from cadre.chassis.errors import DomainError, ErrorKind
from cadre.performance.domain import period as rules
from cadre.performance.domain.period import PeriodState

P = "payPeriods/p"
WRITES = [
    lambda s: rules.check_can_calculate(s, P),
    lambda s: rules.check_can_start_review(s, P),
    lambda s: rules.check_can_dispute(s, P),
    lambda s: rules.check_can_resolve(s, P),
    lambda s: rules.check_can_take_corrections(s, P),
    lambda s: rules.check_can_close(s, P, open_disputes=0, may_override=True),
]


@pytest.mark.parametrize("write", WRITES)
def test_every_write_into_a_closed_period_is_refused_with_its_reason(write) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as caught:
        write(PeriodState.CLOSED)
    assert (caught.value.kind, caught.value.reason) == (ErrorKind.FAILED_PRECONDITION, "PERIOD_CLOSED")
    assert "correct it in an open period" in caught.value.message


def test_the_life_of_a_period() -> None:
    rules.check_can_calculate(PeriodState.OPEN, P)
    rules.check_can_calculate(PeriodState.CALCULATED, P)  # recalculated as facts arrive
    rules.check_can_start_review(PeriodState.CALCULATED, P)
    rules.check_can_dispute(PeriodState.IN_REVIEW, P)
    rules.check_can_close(PeriodState.IN_REVIEW, P, open_disputes=0, may_override=False)
    for refused, state in (
        (rules.check_can_start_review, PeriodState.OPEN),
        (rules.check_can_dispute, PeriodState.CALCULATED),
        (rules.check_can_calculate, PeriodState.IN_REVIEW),
    ):
        with pytest.raises(DomainError):
            refused(state, P)


def test_open_disputes_hold_the_close_unless_overridden() -> None:
    with pytest.raises(DomainError) as caught:
        rules.check_can_close(PeriodState.IN_REVIEW, P, open_disputes=2, may_override=False)
    assert caught.value.reason == "OPEN_DISPUTES"
    rules.check_can_close(PeriodState.IN_REVIEW, P, open_disputes=2, may_override=True)
