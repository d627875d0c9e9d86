"""Small rostering problems built by hand, for the engine's unit tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cadre.scheduling.domain.rostering.problem import (
    ActivityKind,
    BreakRule,
    Contract,
    Employee,
    Fairness,
    Horizon,
    QueueRequirement,
    RosteringProblem,
    ShiftTemplate,
)

MONDAY = date(2026, 11, 30)
ZONE = ZoneInfo("Europe/Berlin")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


def template(
    template_id: str,
    first_start: int,
    last_start: int,
    length_minutes: int,
    *,
    step: int = 60,
    with_break: bool = False,
) -> ShiftTemplate:
    breaks = (BreakRule(ActivityKind.BREAK, 15, 60, 120),) if with_break else ()
    return ShiftTemplate(template_id, first_start, last_start, step, length_minutes, breaks)


def requirement_curve(
    days: int, blocks: list[tuple[int, int, int]], queue_id: str = "q1"
) -> QueueRequirement:
    """``blocks`` of (first hour, last hour exclusive, agents), the same every day."""
    per_day = [0] * 96
    for first, last, agents in blocks:
        for i in range(first * 4, last * 4):
            per_day[i] = agents
    return QueueRequirement(queue_id, tuple(per_day * days))


def make_problem(
    employees: list[Employee],
    *,
    days: int = 3,
    templates: tuple[ShiftTemplate, ...] | None = None,
    requirements: tuple[QueueRequirement, ...] | None = None,
    **kwargs: Any,
) -> RosteringProblem:
    return RosteringProblem(
        horizon=Horizon(MONDAY, days, "Europe/Berlin"),
        requirements=requirements or (requirement_curve(days, [(8, 16, 2)]),),
        templates=templates or (template("day", 7 * 60, 9 * 60, 480, with_break=True),),
        employees=tuple(employees),
        fairness=kwargs.pop("fairness", Fairness(weight=0)),
        **kwargs,
    )


def person(employee_id: str, **kwargs: Any) -> Employee:
    contract = kwargs.pop("contract", Contract(0, 2400, 5, 6, 660, 600))
    return Employee(
        id=employee_id,
        employment_type=kwargs.pop("employment_type", "FULL_TIME"),
        contract=contract,
        queues=kwargs.pop("queues", frozenset({"q1"})),
        **kwargs,
    )


def day_after(days: int) -> date:
    return MONDAY + timedelta(days=days)


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """The builders above, for the test modules (which cannot import this file)."""
    return SimpleNamespace(
        MONDAY=MONDAY,
        ZONE=ZONE,
        at=at,
        template=template,
        requirement_curve=requirement_curve,
        make_problem=make_problem,
        person=person,
        day_after=day_after,
    )
