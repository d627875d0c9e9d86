"""Shift-count planning starts from its LP relaxation rounded; the start must never cost the
proven optimum, and the relaxation must be a true relaxation (a bound, not a guess)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from ortools.sat.python import cp_model

from cadre.scheduling.domain.rostering import plan_shift_counts, shift_count
from cadre.scheduling.domain.rostering.problem import (
    Contract,
    Employee,
    Horizon,
    QueueRequirement,
    RosteringProblem,
    SolveParameters,
    SolveStatus,
)
from cadre.scheduling.domain.rostering.relaxation import linear_relaxation, rounding_neighbourhood
from cadre.scheduling.domain.rostering.synthetic import MONDAY, ZONE, intraday_volume, standard_templates


def test_the_relaxation_is_the_lp_optimum_and_rounding_keeps_floor_and_ceiling() -> None:
    model = cp_model.CpModel()
    x = model.new_int_var(0, 10, "x")
    y = model.new_int_var(0, 10, "y")
    model.add(x + 2 * y >= 3)
    model.add(3 * x + 2 * y >= 4)
    model.minimize(2 * x + 3 * y)
    relaxed = linear_relaxation(model)
    assert relaxed is not None
    # LP optimum at x = 0.5, y = 1.25 (value 4.75); the integer optimum is 5 (x = 1, y = 1)
    assert relaxed == pytest.approx([0.5, 1.25])
    near = rounding_neighbourhood(model, relaxed, [x, y])
    assert [list(v.domain) for v in near.proto.variables] == [[0, 1], [1, 2]]
    assert [list(v.domain) for v in model.proto.variables] == [[0, 10], [0, 10]]  # the original is untouched
    solver = cp_model.CpSolver()
    assert solver.solve(near) == cp_model.OPTIMAL and solver.objective_value == 5


def test_a_model_with_a_constraint_that_is_not_linear_has_no_relaxation() -> None:
    model = cp_model.CpModel()
    x = model.new_int_var(0, 3, "x")
    y = model.new_int_var(0, 3, "y")
    model.add_max_equality(y, [x, 1])
    model.minimize(y)
    assert linear_relaxation(model) is None


def busy_day(peak: int) -> RosteringProblem:
    shape = intraday_volume(1, 1.0, seed=4)
    required = tuple(math.ceil(v * peak) for v in shape / shape.max())
    people = tuple(
        Employee(f"p{i}", "FULL_TIME", Contract(0, 3000, 7, 7, 0, 600), frozenset({"q"}))
        for i in range(int(peak * 1.2))
    )
    return RosteringProblem(
        horizon=Horizon(MONDAY, 1, ZONE),
        requirements=(QueueRequirement("q", required),),
        templates=standard_templates(shapes_per_template=2, step_minutes=30),
        employees=people,
    )


def test_the_rounded_start_reaches_the_same_proven_optimum_as_a_search_from_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problem = busy_day(60)
    params = SolveParameters(time_budget_seconds=30, workers=1)
    started = plan_shift_counts(problem, params)
    monkeypatch.setattr(shift_count, "_start_from_relaxation", lambda *args: 0.0)
    plain = plan_shift_counts(problem, params)
    assert started.status is plain.status is SolveStatus.OPTIMAL
    assert started.objective == plain.objective == started.lower_bound
    assert (started.under, started.over) == (plain.under, plain.over)


def test_a_plan_never_asks_more_working_days_than_the_people_have(kit: SimpleNamespace) -> None:
    # Two people, one working day a week each, and two agents wanted all day on each of three
    # days. Day by day, two shifts a day look possible; the week has only two shifts in it.
    two_days = Contract(0, 2400, 1, 6, 660, 600)
    people = [kit.person(f"e{i}", contract=two_days) for i in range(2)]
    problem = kit.make_problem(people, days=3, requirements=(kit.requirement_curve(3, [(8, 16, 2)]),))
    plan = plan_shift_counts(problem, SolveParameters(time_budget_seconds=10, workers=1))
    assert sum(plan.pattern_counts) == 2
    # the bound knows it too: four of the six agent-days (32 intervals each) stay uncovered
    assert plan.under >= 4 * 32
    assert plan.lower_bound >= problem.weights.under_interval * 4 * 32
