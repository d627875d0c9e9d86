"""A pay period's calculation: everything one employee's statement needs, gathered by the
store, run through the domain's `calculate_statement`, one employee at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from cadre.performance.domain.kpi import FactSums, Scorecard, score
from cadre.performance.domain.org import Stint, last_team_within
from cadre.performance.domain.pay_rules import PayRules
from cadre.performance.domain.statement import (
    Employment,
    ErrorFact,
    OvertimeWorked,
    PaidLeave,
    PayPeriod,
    PeriodScore,
    Statement,
    TrainingTime,
    WorkedTime,
    calculate_statement,
)


@dataclass(frozen=True)
class AttendanceDay:
    day: date
    rest_day: bool
    scheduled: int
    worked: int
    overtime: int
    revision: int


@dataclass
class EmployeeFacts:
    """What the store found for one employee inside the period."""

    employment: Employment
    stints: Sequence[Stint]
    attendance: list[AttendanceDay] = field(default_factory=list)
    training: list[tuple[str, date, int]] = field(default_factory=list)  # fact id, day, minutes
    leave: list[tuple[str, date, int]] = field(default_factory=list)  # leave request, day, minutes
    errors: list[tuple[str, date, str]] = field(default_factory=list)  # fact id, day, class
    sums: Mapping[str, int] = field(default_factory=dict)  # the period's KPI measures


@dataclass(frozen=True)
class CalculatedStatement:
    statement: Statement
    org_unit_id: str


def attendance_fact_id(employee_id: str, day: date, revision: int) -> str:
    return f"attendance/{employee_id}/{day.isoformat()}/r{revision}"


def statement_for(
    facts: EmployeeFacts,
    *,
    period: PayPeriod,
    rules: PayRules,
    scorecard: Scorecard | None,
) -> Statement:
    employment = facts.employment
    employed = [a for a in facts.attendance if employment.employed_on(a.day) and a.day in period]
    worked = [
        WorkedTime(
            attendance_fact_id(employment.employee_id, a.day, a.revision),
            a.day,
            max(0, a.worked - a.overtime),
        )
        for a in employed
        if a.worked > a.overtime
    ]
    overtime = [
        OvertimeWorked(
            attendance_fact_id(employment.employee_id, a.day, a.revision),
            a.day,
            rules.day_class(a.day, rest_day=a.rest_day),
            a.overtime,
        )
        for a in employed
        if a.overtime > 0
    ]

    def inside(day: date) -> bool:
        return day in period and employment.employed_on(day)

    training = [TrainingTime(f, d, m) for f, d, m in facts.training if inside(d) and m > 0]
    leave = [PaidLeave(f"{r}/{d.isoformat()}", d, m) for r, d, m in facts.leave if inside(d) and m > 0]
    errors = [ErrorFact(f, d, c) for f, d, c in facts.errors if inside(d)]
    period_score = None
    if scorecard is not None:
        result = score(scorecard, FactSums({k: Decimal(v) for k, v in facts.sums.items()}))
        if result.score is not None:
            period_score = PeriodScore(result.score, scorecard.version)
    return calculate_statement(
        employment=employment,
        period=period,
        rules=rules,
        worked=worked,
        overtime=overtime,
        training=training,
        leave=leave,
        errors=errors,
        score=period_score,
    )


def calculate_period(
    people: Iterable[EmployeeFacts],
    *,
    period: PayPeriod,
    rules: PayRules,
    scorecard_for: Callable[[str], Scorecard | None],
    progress: Callable[[int], None] = lambda done: None,
) -> list[CalculatedStatement]:
    """One statement per employee employed in the period, in the team they ended it in."""
    results = []
    for done, person in enumerate(people, start=1):
        team = last_team_within(person.stints, period.start, period.end)
        if team is None or person.employment.days_in(period) == 0:
            continue
        statement = statement_for(person, period=period, rules=rules, scorecard=scorecard_for(team))
        results.append(CalculatedStatement(statement, team))
        if done % 500 == 0:
            progress(done)
    return results
