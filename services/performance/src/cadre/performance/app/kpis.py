"""KPIs at every level from the same per-person, per-day fact sums.

A group's value pools the sums of the (person, day) pairs that belong to it — the person
counted for the team they were in on that day (effective-dated membership) — and applies
the metric's ratio once. Never an average of members' KPIs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date
from decimal import Decimal

from cadre.performance.domain.kpi import FactSums
from cadre.performance.domain.org import Stint, team_on

DaySums = Mapping[tuple[str, date], Mapping[str, int]]

# Measures taken from raw facts (see the README for what each counts).
MEASURES = (
    "offered",
    "answered",
    "handle_seconds",
    "quality_points",
    "quality_evaluations",
    "csat_points",
    "csat_surveys",
    "complaints",
    "upheld_complaints",
    "errors",
    "scheduled_minutes",
    "worked_minutes",
    "attended_minutes",
)


def pooled(sums: Mapping[str, int] | None = None, into: dict[str, int] | None = None) -> dict[str, int]:
    result = into if into is not None else {}
    for name, value in (sums or {}).items():
        result[name] = result.get(name, 0) + value
    return result


def group_sums(
    day_sums: DaySums, stints_by_employee: Mapping[str, Sequence[Stint]], units: Collection[str]
) -> FactSums:
    """The pooled sums of every (person, day) whose team that day lies in `units`."""
    total: dict[str, int] = {}
    for (employee_id, day), sums in day_sums.items():
        if team_on(stints_by_employee.get(employee_id, ()), day) in units:
            pooled(sums, total)
    return FactSums({k: Decimal(v) for k, v in total.items()})


def person_sums(day_sums: DaySums, employee_id: str) -> FactSums:
    total: dict[str, int] = {}
    for (employee, _), sums in day_sums.items():
        if employee == employee_id:
            pooled(sums, total)
    return FactSums({k: Decimal(v) for k, v in total.items()})
