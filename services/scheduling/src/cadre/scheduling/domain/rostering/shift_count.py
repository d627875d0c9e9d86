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
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from cadre.scheduling.domain.rostering.catalog import Catalog, build_catalog
from cadre.scheduling.domain.rostering.problem import RosteringProblem, SolveParameters, SolveStatus
from cadre.scheduling.domain.rostering.relaxation import hint_from, linear_relaxation, rounding_neighbourhood


def add_linear(
    model: cp_model.CpModel, terms: Iterable[tuple[cp_model.IntVar, int]], lower: int, upper: int
) -> None:
    """``lower <= Σ coefficient·var <= upper``, written straight into the model's proto: the
    operator-overloading path costs seconds of Python at 2,000 agents."""
    coefficients: dict[int, int] = {}
    for var, coefficient in terms:
        coefficients[var.index] = coefficients.get(var.index, 0) + coefficient
    linear = model.proto.constraints.add().linear
    linear.vars.extend(coefficients.keys())
    linear.coeffs.extend(coefficients.values())
    linear.domain.extend((lower, upper))


@dataclass
class CoverageLayer:
    under: list[list[cp_model.IntVar | None]]  # [queue][interval]; None where no shift can cover
    over: list[list[cp_model.IntVar | None]]
    # (pattern, break index) -> [(offset in intervals from shift start, shifts taking it there)]
    breaks: dict[tuple[int, int], list[tuple[int, cp_model.IntVar]]]
    constant_under: int
    coverage_cost: cp_model.LinearExprT
    paid_cost: cp_model.LinearExprT


def add_coverage(
    model: cp_model.CpModel,
    catalog: Catalog,
    counts: Sequence[cp_model.IntVar | None],
    caps: Sequence[int],
    *,
    queues: Sequence[int] | None = None,
    intervals: range | None = None,
) -> CoverageLayer:
    """Coverage, under/over per interval and break counts for the given pattern counts
    (only for ``queues`` and ``intervals`` when given: one component of the problem)."""
    problem = catalog.problem
    weights = problem.weights
    n = problem.horizon.intervals
    step = problem.horizon.interval_minutes
    queue_count = len(problem.requirements)
    queues = range(queue_count) if queues is None else queues
    intervals = range(n) if intervals is None else intervals
    plus: list[list[list[cp_model.IntVar]]] = [[[] for _ in range(n)] for _ in range(queue_count)]
    minus: list[list[list[cp_model.IntVar]]] = [[[] for _ in range(n)] for _ in range(queue_count)]
    reach: list[list[int]] = [[0] * n for _ in range(queue_count)]
    breaks: dict[tuple[int, int], list[tuple[int, cp_model.IntVar]]] = {}
    templates = problem.templates
    for p in catalog.patterns:
        c = counts[p.index]
        if c is None:
            continue
        end = min(p.first_slot + p.slots, n)
        for i in range(p.first_slot, end):
            plus[p.queue][i].append(c)
            reach[p.queue][i] += caps[p.index]
        for k, rule in enumerate(templates[p.template].breaks):
            length = rule.length_minutes // step
            offsets = range(rule.earliest_offset_minutes // step, rule.latest_offset_minutes // step + 1)
            if len(offsets) == 1:
                placed = [(offsets[0], c)]
            else:
                placed = [(o, model.new_int_var(0, caps[p.index], f"brk_{p.index}_{k}_{o}")) for o in offsets]
                add_linear(model, [(v, 1) for _, v in placed] + [(c, -1)], 0, 0)
            breaks[(p.index, k)] = placed
            for o, var in placed:
                for i in range(p.first_slot + o, min(p.first_slot + o + length, n)):
                    minus[p.queue][i].append(var)

    under: list[list[cp_model.IntVar | None]] = [[None] * n for _ in range(queue_count)]
    over: list[list[cp_model.IntVar | None]] = [[None] * n for _ in range(queue_count)]
    under_terms: list[cp_model.IntVar] = []
    over_terms: list[cp_model.IntVar] = []
    constant_under = 0
    for q in queues:
        required = problem.requirements[q].required
        for i in intervals:
            req = required[i]
            if not plus[q][i]:
                constant_under += req
                continue
            surplus = model.new_int_var(0, reach[q][i], f"over_{q}_{i}")
            over[q][i] = surplus
            over_terms.append(surplus)
            terms = [(v, 1) for v in plus[q][i]] + [(v, -1) for v in minus[q][i]] + [(surplus, -1)]
            if req > 0:
                u = model.new_int_var(0, req, f"under_{q}_{i}")
                under[q][i] = u
                under_terms.append(u)
                terms.append((u, 1))
            add_linear(model, terms, req, req)
    used = [p for p in catalog.patterns if counts[p.index] is not None]
    paid = cp_model.LinearExpr.weighted_sum(
        [counts[p.index] for p in used],  # type: ignore[misc]
        [p.paid_minutes for p in used],
    )
    coverage_cost = weights.under_interval * cp_model.LinearExpr.sum(
        under_terms
    ) + weights.over_interval * cp_model.LinearExpr.sum(over_terms)
    return CoverageLayer(
        under=under,
        over=over,
        breaks=breaks,
        constant_under=constant_under,
        coverage_cost=coverage_cost,
        paid_cost=weights.paid_minute * paid,
    )


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
    """How many employees may work each pattern."""
    problem = catalog.problem
    caps = [0] * len(catalog.patterns)
    for q in range(len(problem.requirements)):
        serving = [e for e, queues in enumerate(catalog.employee_queues) if q in queues]
        for d in range(problem.horizon.days):
            shapes = [catalog.eligible[e][d] for e in serving]
            takers = np.bincount(
                np.concatenate(shapes) if shapes else np.empty(0, dtype=np.int64),
                minlength=len(catalog.shape_template[d]),
            )
            for shape, n in enumerate(takers):
                caps[catalog.pattern_of[(q, d, shape)]] = int(n)
    return caps


def components(catalog: Catalog) -> list[tuple[int, list[int]]]:
    """(queue, days) blocks that share no interval: each can be planned on its own."""
    problem = catalog.problem
    days = problem.horizon.days
    per_day = problem.horizon.intervals_per_day
    parent = list(range(len(problem.requirements) * days))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in catalog.patterns:
        last_day = min(days - 1, (p.first_slot + p.slots - 1) // per_day)
        for d in range(p.day + 1, last_day + 1):
            parent[find(p.queue * days + d)] = find(p.queue * days + p.day)
    blocks: dict[int, list[int]] = defaultdict(list)
    for node in range(len(parent)):
        blocks[find(node)].append(node)
    return [(nodes[0] // days, [n % days for n in nodes]) for nodes in blocks.values()]


def plan_shift_counts(
    problem: RosteringProblem,
    params: SolveParameters | None = None,
    *,
    catalog: Catalog | None = None,
    time_limit: float | None = None,
) -> ShiftCountPlan:
    """The shift counts that minimize weighted under- and over-coverage.

    Each (queue, connected days) block is an independent model, solved on its own worker
    (``params.workers`` at a time, one CP-SAT thread each, so every block's answer is
    deterministic); the plan is proven optimal when every block is.
    """
    params = params or SolveParameters()
    started = time.monotonic()
    catalog = catalog or build_catalog(problem)
    caps = pattern_caps(catalog)
    budget = time_limit if time_limit is not None else params.time_budget_seconds
    blocks = components(catalog)
    workers = max(1, params.workers)
    # an equal share of the budget per block, so one hard block cannot starve the others
    share = budget * min(workers, len(blocks)) / max(1, len(blocks))

    def solve(block: tuple[int, list[int]]) -> tuple[dict[int, int], float, float, int, int, bool]:
        deadline = min(started + budget, time.monotonic() + share)
        return _plan_block(catalog, caps, block, params, deadline, share)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        answers = list(pool.map(solve, blocks))
    values = [0] * len(catalog.patterns)
    objective = bound = 0.0
    under = over = 0
    optimal = True
    for block_values, block_objective, block_bound, block_under, block_over, block_optimal in answers:
        for p, v in block_values.items():
            values[p] = v
        objective += block_objective
        bound += block_bound
        under += block_under
        over += block_over
        optimal = optimal and block_optimal
    keyed: dict[tuple[str, int, str, int], int] = {}
    for pattern in catalog.patterns:
        if values[pattern.index]:
            key = (
                problem.requirements[pattern.queue].queue_id,
                pattern.day,
                problem.templates[pattern.template].id,
                pattern.start_minute,
            )
            keyed[key] = values[pattern.index]
    return ShiftCountPlan(
        status=SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE,
        counts=keyed,
        pattern_counts=tuple(values),
        objective=objective,
        lower_bound=bound,
        under=under,
        over=over,
        wall_seconds=time.monotonic() - started,
    )


def _plan_block(
    catalog: Catalog,
    caps: list[int],
    block: tuple[int, list[int]],
    params: SolveParameters,
    deadline: float,
    share: float,
) -> tuple[dict[int, int], float, float, int, int, bool]:
    problem = catalog.problem
    queue, days = block
    day_set = set(days)
    per_day = problem.horizon.intervals_per_day
    model = cp_model.CpModel()
    counts: list[cp_model.IntVar | None] = [None] * len(catalog.patterns)
    for p in catalog.patterns:
        if p.queue == queue and p.day in day_set and caps[p.index]:
            counts[p.index] = model.new_int_var(0, caps[p.index], f"count_{p.index}")
    intervals = [i for d in sorted(days) for i in range(d * per_day, (d + 1) * per_day)]
    layer = add_coverage(model, catalog, counts, caps, queues=[queue], intervals=intervals)  # type: ignore[arg-type]
    for d in days:
        # no more shifts on a day than people who may work this queue that day
        on_day = [counts[p.index] for p in catalog.patterns if p.queue == queue and p.day == d]
        on_day_vars = [c for c in on_day if c is not None]
        available = sum(
            1
            for e in range(len(problem.employees))
            if queue in catalog.employee_queues[e] and len(catalog.eligible[e][d])
        )
        if on_day_vars:
            model.add(cp_model.LinearExpr.sum(on_day_vars) <= available)
    constant = problem.weights.under_interval * layer.constant_under
    # Coverage alone: paid minutes only break ties between equally good plans, and proving the
    # tie-break optimal took CP-SAT 2-3x longer. Dropping a non-negative term keeps the optimum a
    # lower bound of the full objective.
    model.minimize(layer.coverage_cost + constant)
    decisions = [c for c in counts if c is not None] + [
        var for placed in layer.breaks.values() for _, var in placed if var.index >= 0
    ]
    _start_from_relaxation(model, decisions, params, deadline, share * ROUNDING_SHARE)
    solver = cp_model.CpSolver()
    configure(solver, params, wall_seconds=deadline - time.monotonic(), budget_seconds=share, workers=1)
    # With a near-optimal start, what is left is closing a gap of an agent-interval or two; the
    # LP's cutting planes cost more there than they prune (measured: 3x faster without them).
    solver.parameters.cut_level = 0
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # Nothing found in time: no shifts is always a plan (and the model's bound still holds).
        value_of = dict.fromkeys((p for p, c in enumerate(counts) if c is not None), 0)
        required = sum(problem.requirements[queue].required[i] for i in intervals)
        return value_of, float(problem.weights.under_interval * required), float(constant), required, 0, False
    values = {p: solver.value(c) for p, c in enumerate(counts) if c is not None}
    under = layer.constant_under + sum(solver.value(u) for u in layer.under[queue] if u is not None)
    over = sum(solver.value(o) for o in layer.over[queue] if o is not None)
    return (
        values,
        solver.objective_value,
        solver.best_objective_bound,
        int(under),
        int(over),
        status == cp_model.OPTIMAL,
    )


ROUNDING_SHARE = 0.2


def _start_from_relaxation(
    model: cp_model.CpModel,
    decisions: list[cp_model.IntVar],
    params: SolveParameters,
    deadline: float,
    budget: float,
) -> None:
    """Hint ``model`` with the best rounding of its LP optimum (see ``relaxation``)."""
    relaxed = linear_relaxation(model)
    if relaxed is None:
        return
    neighbourhood = rounding_neighbourhood(model, relaxed, decisions)
    solver = cp_model.CpSolver()
    wall = (deadline - time.monotonic()) * ROUNDING_SHARE
    configure(solver, params, wall_seconds=wall, budget_seconds=budget, workers=1)
    if solver.solve(neighbourhood) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        hint_from(model, solver, neighbourhood)


def configure(
    solver: cp_model.CpSolver,
    params: SolveParameters,
    *,
    wall_seconds: float,
    budget_seconds: float,
    workers: int | None = None,
) -> None:
    """Seed, workers and the two stops of one solve.

    ``budget_seconds`` is this solve's share of the request's budget, fixed in advance; with
    ``params.deterministic`` the search stops after ``params.deterministic_share`` of it in
    CP-SAT's deterministic time, which counts work, not seconds, so the same input stops at the
    same point every run. ``wall_seconds`` (what is left of the request in real time) is only
    the safety net, and the one thing that can make two runs differ: on a machine busy enough
    that the deterministic stop has not come by then.
    """
    workers = max(1, params.workers if workers is None else workers)
    solver.parameters.random_seed = params.seed
    solver.parameters.num_workers = workers
    solver.parameters.max_time_in_seconds = max(0.05, wall_seconds)
    if params.deterministic:
        solver.parameters.interleave_search = workers > 1
        solver.parameters.max_deterministic_time = max(0.02, budget_seconds * params.deterministic_share)
