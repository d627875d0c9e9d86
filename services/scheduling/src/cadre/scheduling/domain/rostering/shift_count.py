"""Coverage in CP-SAT from shift counts, and shift-count planning on its own.

How many shifts of each pattern (queue, day, template, start) run is an integer ``c_p``.
Breaks are counted the same way, per *break group* (one break of one template on one day
and queue) and slot: ``y_b`` breaks start at slot ``b``. Coverage of interval ``i`` is
``Σ c_p over patterns on shift at i − Σ y over breaks running at i``.

Breaks can be handed to individual shifts exactly when, for every slot ``τ``:
``Y(≤τ) ≤ Σ c_p over patterns whose window has opened by τ`` and
``Y(≤τ) ≥ Σ c_p over patterns whose window has closed by τ``, with equal totals — every
window of a group has the same width, so the shifts sorted by start and the breaks sorted
by slot match one to one (Hall's condition for such "staircase" intervals). That keeps
break placement out of the per-employee model entirely: the employee model only chooses
shifts, and breaks follow from the counts.

Planning alone (``plan_shift_counts``) bounds each count by the employees eligible for the
pattern and the day's and week's totals by the roster's capacity. It relaxes the per-person
rules, so its optimum is a proven lower bound of the full problem's objective.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from cadre.scheduling.domain.rostering.catalog import BreakGroup, Catalog, build_catalog
from cadre.scheduling.domain.rostering.problem import RosteringProblem, SolveParameters, SolveStatus


DISAGGREGATE = True


@dataclass
class CoverageLayer:
    under: list[list[cp_model.IntVar | None]]  # [queue][interval]; None where nothing is required
    over: list[list[cp_model.IntVar | None]]
    breaks: dict[int, dict[int, cp_model.IntVar]]  # group index -> slot -> breaks starting there
    coverage_cost: cp_model.LinearExprT
    paid_cost: cp_model.LinearExprT


def add_coverage(
    model: cp_model.CpModel, catalog: Catalog, counts: Sequence[cp_model.IntVar | None], caps: Sequence[int]
) -> CoverageLayer:
    """Coverage, under/over per interval and break counts for the given pattern counts."""
    problem = catalog.problem
    weights = problem.weights
    n = problem.horizon.intervals
    queues = len(problem.requirements)
    plus: list[list[list[cp_model.IntVar]]] = [[[] for _ in range(n)] for _ in range(queues)]
    minus: list[list[list[cp_model.IntVar]]] = [[[] for _ in range(n)] for _ in range(queues)]
    reach: list[list[int]] = [[0] * n for _ in range(queues)]
    for p in catalog.patterns:
        c = counts[p.index]
        if c is None:
            continue
        for i in range(p.first_slot, min(p.first_slot + p.slots, n)):
            plus[p.queue][i].append(c)
            reach[p.queue][i] += caps[p.index]

    breaks: dict[int, dict[int, cp_model.IntVar]] = {}
    for g, group in enumerate(catalog.groups):
        used = [p for p in group.patterns if counts[p] is not None]
        if not used:
            continue
        breaks[g] = _add_break_group(model, catalog, group, used, counts, caps, minus, n)

    under: list[list[cp_model.IntVar | None]] = [[None] * n for _ in range(queues)]
    over: list[list[cp_model.IntVar | None]] = [[None] * n for _ in range(queues)]
    under_terms: list[cp_model.IntVar] = []
    over_terms: list[cp_model.IntVar] = []
    constant_under = 0
    for q, requirement in enumerate(problem.requirements):
        for i in range(n):
            req = requirement.required[i]
            if not plus[q][i]:
                constant_under += req
                continue
            o = model.new_int_var(0, reach[q][i], f"over_{q}_{i}")
            over[q][i] = o
            over_terms.append(o)
            coverage = sum(plus[q][i]) - sum(minus[q][i]) if minus[q][i] else sum(plus[q][i])
            if req > 0:
                u = model.new_int_var(0, req, f"under_{q}_{i}")
                under[q][i] = u
                under_terms.append(u)
                model.add(coverage - o + u == req)
            else:
                model.add(coverage == o)
    paid = cp_model.LinearExpr.weighted_sum(
        [counts[p.index] for p in catalog.patterns if counts[p.index] is not None],
        [p.paid_minutes for p in catalog.patterns if counts[p.index] is not None],
    )
    coverage_cost = (
        weights.under_interval * cp_model.LinearExpr.sum(under_terms)
        + weights.over_interval * cp_model.LinearExpr.sum(over_terms)
        + weights.under_interval * constant_under
    )
    return CoverageLayer(
        under=under,
        over=over,
        breaks=breaks,
        coverage_cost=coverage_cost,
        paid_cost=weights.paid_minute * paid,
    )


def _add_break_group(
    model: cp_model.CpModel,
    catalog: Catalog,
    group: BreakGroup,
    used: list[int],
    counts: Sequence[cp_model.IntVar | None],
    caps: Sequence[int],
    minus: list[list[list[cp_model.IntVar]]],
    n: int,
) -> dict[int, cp_model.IntVar]:
    patterns = catalog.patterns
    if DISAGGREGATE and group.earliest_slots != group.latest_slots:
        y: dict[int, cp_model.LinearExprT] = defaultdict(int)
        for p in used:
            c = counts[p]
            first = patterns[p].first_slot
            ys = [model.new_int_var(0, caps[p], "") for _ in range(group.earliest_slots, group.latest_slots + 1)]
            model.add(cp_model.LinearExpr.sum(ys) == c)
            for o, var in zip(range(group.earliest_slots, group.latest_slots + 1), ys):
                for i in range(first + o, min(first + o + group.length_slots, n)):
                    minus[group.queue][i].append(var)
                y[first + o] += var
        return y  # type: ignore[return-value]
    opens: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for p in used:
        c = counts[p]
        assert c is not None
        opens[patterns[p].first_slot + group.earliest_slots].append(c)
    lo = min(opens)
    hi = max(patterns[p].first_slot for p in used) + group.latest_slots
    total_cap = sum(caps[p] for p in used)
    y = {
        slot: model.new_int_var(
            0, total_cap, f"brk_{group.queue}_{group.day}_{group.template}_{group.break_index}_{slot}"
        )
        for slot in range(lo, hi + 1)
    }
    for slot, var in y.items():
        for i in range(slot, min(slot + group.length_slots, n)):
            minus[group.queue][i].append(var)
    if group.earliest_slots == group.latest_slots:
        # fixed offset: the breaks are exactly the shifts, moved by the offset
        for slot, var in y.items():
            model.add(var == sum(opens.get(slot, [])))
        return y
    if len(used) == 1:
        model.add(cp_model.LinearExpr.sum(list(y.values())) == counts[used[0]])
        return y
    width = group.latest_slots - group.earliest_slots
    opened: dict[int, cp_model.IntVar] = {}
    taken: dict[int, cp_model.IntVar] = {}
    previous_opened: cp_model.LinearExprT = 0
    previous_taken: cp_model.LinearExprT = 0
    for slot in range(lo, hi + 1):
        o = model.new_int_var(0, total_cap, "")
        model.add(o == previous_opened + sum(opens.get(slot, [])))
        t = model.new_int_var(0, total_cap, "")
        model.add(t == previous_taken + y[slot])
        model.add(t <= o)
        if slot - width in opened:
            model.add(t >= opened[slot - width])
        opened[slot], taken[slot] = o, t
        previous_opened, previous_taken = o, t
    model.add(taken[hi] == opened[hi])
    return y


@dataclass(frozen=True)
class ShiftCountPlan:
    """How many shifts of each (queue, day, template, start) best cover the requirement.

    ``counts`` is keyed by ``(queue_id, day_index, template_id, start_minute)`` (zero counts
    left out); ``lower_bound`` is proven for the full rostering problem too.
    """

    status: SolveStatus
    counts: dict[tuple[str, int, str, int], int]
    pattern_counts: tuple[int, ...]
    objective: float
    lower_bound: float
    under: int
    over: int
    wall_seconds: float


def pattern_caps(catalog: Catalog) -> list[int]:
    caps = [0] * len(catalog.patterns)
    for e in range(len(catalog.eligible)):
        for d in range(catalog.problem.horizon.days):
            for p in catalog.employee_patterns(e, d):
                caps[p] += 1
    return caps


def plan_shift_counts(
    problem: RosteringProblem,
    params: SolveParameters | None = None,
    *,
    catalog: Catalog | None = None,
    time_limit: float | None = None,
) -> ShiftCountPlan:
    """The shift counts that minimize weighted under- and over-coverage and paid minutes."""
    params = params or SolveParameters()
    started = time.monotonic()
    catalog = catalog or build_catalog(problem)
    caps = pattern_caps(catalog)
    model = cp_model.CpModel()
    counts: list[cp_model.IntVar | None] = [
        model.new_int_var(0, cap, f"count_{p}") if cap else None for p, cap in enumerate(caps)
    ]
    layer = add_coverage(model, catalog, counts, caps)
    _add_capacity(model, catalog, counts)
    model.minimize(layer.coverage_cost + layer.paid_cost)
    solver = cp_model.CpSolver()
    configure(solver, params, time_limit if time_limit is not None else params.time_budget_seconds)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise RuntimeError(f"shift-count planning found no solution: {solver.status_name(status)}")
    values = tuple(solver.value(c) if c is not None else 0 for c in counts)
    keyed: dict[tuple[str, int, str, int], int] = {}
    for p in catalog.patterns:
        if values[p.index]:
            key = (
                problem.requirements[p.queue].queue_id,
                p.day,
                problem.templates[p.template].id,
                p.start_minute,
            )
            keyed[key] = values[p.index]
    under = sum(solver.value(u) for row in layer.under for u in row if u is not None)
    under += sum(
        r.required[i]
        for q, r in enumerate(problem.requirements)
        for i in range(problem.horizon.intervals)
        if layer.over[q][i] is None
    )
    over = sum(solver.value(o) for row in layer.over for o in row if o is not None)
    return ShiftCountPlan(
        status=SolveStatus.OPTIMAL if status == cp_model.OPTIMAL else SolveStatus.FEASIBLE,
        counts=keyed,
        pattern_counts=values,
        objective=solver.objective_value,
        lower_bound=solver.best_objective_bound,
        under=int(under),
        over=int(over),
        wall_seconds=time.monotonic() - started,
    )


def _add_capacity(
    model: cp_model.CpModel, catalog: Catalog, counts: Sequence[cp_model.IntVar | None]
) -> None:
    """Totals no roster could exceed: shifts per day, and shifts and paid minutes per week."""
    problem = catalog.problem
    employees = problem.employees
    for d in range(problem.horizon.days):
        on_day = [counts[p.index] for p in catalog.patterns if p.day == d and counts[p.index] is not None]
        available = sum(1 for e in range(len(employees)) if len(catalog.eligible[e][d]))
        if on_day:
            model.add(cp_model.LinearExpr.sum(on_day) <= available)  # type: ignore[arg-type]
    for week in problem.horizon.weeks():
        in_week = [p for p in catalog.patterns if p.day in week and counts[p.index] is not None]
        if not in_week:
            continue
        days = sum(min(e.contract.max_working_days_per_week, len(week)) for e in employees)
        minutes = sum(e.contract.max_minutes_per_week for e in employees)
        model.add(cp_model.LinearExpr.sum([counts[p.index] for p in in_week]) <= days)  # type: ignore[misc]
        model.add(
            cp_model.LinearExpr.weighted_sum(
                [counts[p.index] for p in in_week], [p.paid_minutes for p in in_week]
            )  # type: ignore[misc]
            <= minutes
        )


def configure(solver: cp_model.CpSolver, params: SolveParameters, seconds: float) -> None:
    solver.parameters.random_seed = params.seed
    solver.parameters.num_workers = max(1, params.workers)
    solver.parameters.max_time_in_seconds = max(0.05, seconds)
    if params.deterministic:
        solver.parameters.interleave_search = True
        # The deterministic clock stops the search the same way every run; the wall clock
        # is only the safety net (and the one thing that can make two runs differ).
        solver.parameters.max_deterministic_time = max(0.05, seconds)
