"""A CP-SAT model's linear relaxation, and a start for CP-SAT rounded from it.

Shift-count planning is a small covering problem whose LP optimum is almost integral (a few
dozen fractional values out of several hundred) and lies within a couple of agent-intervals of
the integer optimum. CP-SAT alone spends most of its time *finding* that optimum, not proving
it. Searching first only among the roundings of the LP solution (every decision between its
floor and ceiling) finds a near-optimal plan in tens of milliseconds; handed to the full model
as a hint, it leaves CP-SAT little more than the proof.

The relaxation reads the model's own proto, so there is one definition of the problem: every
constraint must be linear (the planning models are).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from ortools.linear_solver.python import model_builder
from ortools.sat.python import cp_model
from scipy.sparse import csr_matrix

# CP-SAT writes one-sided constraints with int64 extremes; an LP solver must see infinity.
_UNBOUNDED = 2**60


def _finite(values: Sequence[int]) -> np.ndarray:  # type: ignore[type-arg]
    array = np.asarray(values, dtype=np.float64)
    array[array >= _UNBOUNDED] = np.inf
    array[array <= -_UNBOUNDED] = -np.inf
    return array


def linear_relaxation(model: cp_model.CpModel) -> list[float] | None:
    """The LP optimum of ``model`` with integrality dropped (GLOP), one value per variable;
    None when the model has a constraint that is not linear or the LP has no optimum."""
    proto = model.proto
    if not proto.HasField("objective") or any(
        c.WhichOneof("constraint") not in ("linear", "at_most_one") for c in proto.constraints
    ):
        return None
    lower = _finite([v.domain[0] for v in proto.variables])
    upper = _finite([v.domain[-1] for v in proto.variables])
    objective = np.zeros(len(proto.variables))
    np.add.at(objective, list(proto.objective.vars), list(proto.objective.coeffs))
    rows: list[int] = []
    columns: list[int] = []
    coefficients: list[int] = []
    row_lower: list[int] = []
    row_upper: list[int] = []
    for r, constraint in enumerate(proto.constraints):
        if constraint.HasField("at_most_one"):
            literals = constraint.at_most_one.literals
            if any(literal < 0 for literal in literals):  # a negated literal: 1 - x
                return None
            rows.extend([r] * len(literals))
            columns.extend(literals)
            coefficients.extend([1] * len(literals))
            row_lower.append(0)
            row_upper.append(1)
            continue
        linear = constraint.linear
        rows.extend([r] * len(linear.vars))
        columns.extend(linear.vars)
        coefficients.extend(linear.coeffs)
        # a domain of several intervals relaxes to its hull
        row_lower.append(linear.domain[0])
        row_upper.append(linear.domain[-1])
    matrix = csr_matrix(
        (np.asarray(coefficients, dtype=np.float64), (rows, columns)),
        shape=(len(proto.constraints), len(proto.variables)),
    )
    lp = model_builder.ModelBuilder()
    # the helper's stubs spell float64 arrays in a way numpy's own types never match
    fill: Any = lp.helper.fill_model_from_sparse_data
    fill(lower, upper, objective, _finite(row_lower), _finite(row_upper), matrix)
    solver = model_builder.Solver("glop")
    if solver.solve(lp) != model_builder.SolveStatus.OPTIMAL:
        return None
    values = solver.values(lp.get_variables())
    return [float(v) for v in values]


def objective_at(model: cp_model.CpModel, values: Sequence[float]) -> float:
    """The model's objective at ``values`` (for the relaxed optimum: a lower bound of the
    integer optimum when minimizing)."""
    objective = model.proto.objective
    total = sum(values[v] * k for v, k in zip(objective.vars, objective.coeffs, strict=True))
    return (total + objective.offset) * (objective.scaling_factor or 1.0)


def rounding_neighbourhood(
    model: cp_model.CpModel, relaxed: Sequence[float], decisions: Sequence[cp_model.IntVar]
) -> cp_model.CpModel:
    """A copy of ``model`` in which each of ``decisions`` may only take the floor or the
    ceiling of its relaxed value (the other variables, e.g. slacks, stay free)."""
    copy = model.clone()
    copy.clear_hints()
    for var in decisions:
        domain = copy.proto.variables[var.index].domain
        low, high = domain[0], domain[-1]
        value = relaxed[var.index]
        floor, ceiling = math.floor(value + 1e-6), math.ceil(value - 1e-6)
        del domain[:]
        domain.extend((min(high, max(low, floor)), max(low, min(high, ceiling))))
    for index, value in enumerate(relaxed):
        copy.add_hint(copy.get_int_var_from_proto_index(index), round(value))
    return copy


def hint_from(model: cp_model.CpModel, solver: cp_model.CpSolver, solved: cp_model.CpModel) -> None:
    """Hint every variable of ``model`` with its value in ``solved``'s answer (same variables)."""
    model.clear_hints()
    for index in range(len(model.proto.variables)):
        model.add_hint(
            model.get_int_var_from_proto_index(index),
            solver.value(solved.get_int_var_from_proto_index(index)),
        )
