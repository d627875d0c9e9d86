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
from itertools import combinations

import numpy as np
from ortools.sat.python import cp_model

from cadre.scheduling.domain.rostering.catalog import Catalog, build_catalog
from cadre.scheduling.domain.rostering.problem import RosteringProblem, SolveParameters, SolveStatus
from cadre.scheduling.domain.rostering.relaxation import (
    hint_from,
    linear_relaxation,
    objective_at,
    rounding_neighbourhood,
)


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
    intervals: Sequence[int] | None = None,
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


@dataclass(frozen=True)
class CapacityLimit:
    """``Σ coefficient · count ≤ upper`` over pattern counts: a limit every schedule keeps,
    because the people who could work those patterns cannot give more (shifts on a day, working
    days or paid minutes in a week). Planning one block at a time cannot see most of them."""

    terms: tuple[tuple[int, int], ...]  # (pattern index, coefficient)
    upper: int

    def holds(self, values: Sequence[int]) -> bool:
        return sum(values[p] * k for p, k in self.terms) <= self.upper


def capacity_limits(catalog: Catalog) -> list[CapacityLimit]:
    """Per set of queues (people who serve any of them) and per set of templates restricted to
    some employment types: shifts per day, working days and paid minutes per week."""
    problem = catalog.problem
    employees = problem.employees
    queue_sets = [
        frozenset(s)
        for size in range(1, len(problem.requirements) + 1)
        for s in combinations(range(len(problem.requirements)), size)
    ][:MAX_QUEUE_SETS]
    type_sets: set[frozenset[str]] = {frozenset()} | {
        t.employment_types for t in problem.templates if t.employment_types
    }
    limits: list[CapacityLimit] = []
    for queues in queue_sets:
        for types in type_sets:
            people = [
                e
                for e, served in enumerate(catalog.employee_queues)
                if queues.intersection(served) and (not types or employees[e].employment_type in types)
            ]
            patterns = [
                p
                for p in catalog.patterns
                if p.queue in queues
                and (not types or _restricted_to(problem.templates[p.template].employment_types, types))
            ]
            if not patterns:
                continue
            for d in range(problem.horizon.days) if not types else ():
                on_day = tuple((p.index, 1) for p in patterns if p.day == d)
                available = sum(1 for e in people if len(catalog.eligible[e][d]))
                limits.append(CapacityLimit(on_day, available))
            for week in problem.horizon.weeks():
                in_week = [p for p in patterns if p.day in week]
                working_days = sum(
                    min(
                        employees[e].contract.max_working_days_per_week,
                        sum(1 for d in week if len(catalog.eligible[e][d])),
                    )
                    for e in people
                )
                minutes = sum(employees[e].contract.max_minutes_per_week for e in people)
                limits.append(CapacityLimit(tuple((p.index, 1) for p in in_week), working_days))
                limits.append(CapacityLimit(tuple((p.index, p.paid_minutes) for p in in_week), minutes))
    return limits


def _restricted_to(allowed: frozenset[str], types: frozenset[str]) -> bool:
    """Only people of ``types`` may work a template that admits ``allowed`` (empty: anyone)."""
    return bool(allowed) and allowed <= types


MAX_QUEUE_SETS = 63  # every set of up to six queues; beyond, the first 63 sets


def plan_shift_counts(
    problem: RosteringProblem,
    params: SolveParameters | None = None,
    *,
    catalog: Catalog | None = None,
    time_limit: float | None = None,
) -> ShiftCountPlan:
    """The shift counts that minimize weighted under- and over-coverage.

    Each (queue, connected days) block is first an independent model, solved on its own worker
    (``params.workers`` at a time, one CP-SAT thread each, so every block's answer is
    deterministic). When the blocks' answers together ask more than the people can give (a
    ``CapacityLimit`` broken: more shifts in a week than working days left, say), the whole
    horizon is planned again as one model under every limit. The plan is proven optimal when
    every model solved is.
    """
    params = params or SolveParameters()
    started = time.monotonic()
    catalog = catalog or build_catalog(problem)
    caps = pattern_caps(catalog)
    limits = capacity_limits(catalog)
    budget = time_limit if time_limit is not None else params.time_budget_seconds
    blocks = components(catalog)
    workers = max(1, params.workers)
    # Blocks get half the budget, in equal shares so one hard block cannot starve the others;
    # the joint model, when needed, what is left.
    share = budget * 0.5 * min(workers, len(blocks)) / max(1, len(blocks))

    def solve(block: tuple[int, list[int]]) -> _Answer:
        deadline = min(started + budget, time.monotonic() + share)
        return _plan_region(catalog, caps, [block], limits, params, deadline, share, workers=1)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        answers = list(pool.map(solve, blocks))
    values = _pattern_values(answers, len(catalog.patterns))
    if not all(limit.holds(values) for limit in limits):
        joint_share = budget * JOINT_SHARE
        deadline = min(started + budget, time.monotonic() + joint_share)
        answers = [
            _plan_region(catalog, caps, blocks, limits, params, deadline, joint_share, workers=workers)
        ]
        values = _pattern_values(answers, len(catalog.patterns))
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
        status=SolveStatus.OPTIMAL if all(a.optimal for a in answers) else SolveStatus.FEASIBLE,
        counts=keyed,
        pattern_counts=tuple(values),
        objective=sum(a.objective for a in answers),
        lower_bound=sum(a.bound for a in answers),
        under=sum(a.under for a in answers),
        over=sum(a.over for a in answers),
        wall_seconds=time.monotonic() - started,
    )


def _pattern_values(answers: Sequence[_Answer], patterns: int) -> list[int]:
    values = [0] * patterns
    for answer in answers:
        for p, v in answer.values.items():
            values[p] = v
    return values


@dataclass(frozen=True)
class _Answer:
    values: dict[int, int]
    objective: float
    bound: float
    under: int
    over: int
    optimal: bool


def _plan_region(
    catalog: Catalog,
    caps: list[int],
    region: list[tuple[int, list[int]]],
    limits: list[CapacityLimit],
    params: SolveParameters,
    deadline: float,
    share: float,
    *,
    workers: int,
) -> _Answer:
    """One model for the (queue, days) blocks of ``region``, under the limits that lie wholly
    inside it."""
    problem = catalog.problem
    per_day = problem.horizon.intervals_per_day
    cells = {(queue, d) for queue, days in region for d in days}
    queues = sorted({queue for queue, _ in region})
    model = cp_model.CpModel()
    counts: list[cp_model.IntVar | None] = [None] * len(catalog.patterns)
    for p in catalog.patterns:
        if (p.queue, p.day) in cells and caps[p.index]:
            counts[p.index] = model.new_int_var(0, caps[p.index], f"count_{p.index}")
    # a region is whole queues by whole days: one block, or all of them
    days = sorted({d for _, d in cells})
    intervals = [i for d in days for i in range(d * per_day, (d + 1) * per_day)]
    layer = add_coverage(model, catalog, counts, caps, queues=queues, intervals=intervals)
    for limit in limits:
        terms = [
            (counts[p], k)
            for p, k in limit.terms
            if (catalog.patterns[p].queue, catalog.patterns[p].day) in cells
        ]
        if len(terms) == len(limit.terms) and terms:
            add_linear(model, [(v, k) for v, k in terms if v is not None], cp_model.INT_MIN, limit.upper)
    constant = problem.weights.under_interval * layer.constant_under
    # Coverage alone: paid minutes only break ties between equally good plans, and proving the
    # tie-break optimal took CP-SAT 2-3x longer. Dropping a non-negative term keeps the optimum a
    # lower bound of the full objective.
    model.minimize(layer.coverage_cost + constant)
    decisions = [c for c in counts if c is not None] + [
        var for placed in layer.breaks.values() for _, var in placed if var.index >= 0
    ]
    relaxed_bound = _start_from_relaxation(model, decisions, params, deadline, share * ROUNDING_SHARE)
    solver = cp_model.CpSolver()
    configure(solver, params, wall_seconds=deadline - time.monotonic(), budget_seconds=share, workers=workers)
    # With a near-optimal start, what is left is closing a gap of an agent-interval or two; the
    # LP's cutting planes cost more there than they prune (measured: 3x faster without them).
    solver.parameters.cut_level = 0
    if len(region) > 1:
        # the joint plan steers the assignment and bounds it; a proof to the last agent-interval
        # is not worth the assignment's time
        solver.parameters.relative_gap_limit = JOINT_GAP
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # Nothing found in time: no shifts is always a plan (and the model's bound still holds).
        required = sum(
            problem.requirements[queue].required[d * per_day + i]
            for queue, d in cells
            for i in range(per_day)
        )
        return _Answer(
            dict.fromkeys((p for p, c in enumerate(counts) if c is not None), 0),
            float(problem.weights.under_interval * required),
            float(constant),
            required,
            0,
            False,
        )
    under = layer.constant_under + sum(
        solver.value(u) for q in queues for u in layer.under[q] if u is not None
    )
    over = sum(solver.value(o) for q in queues for o in layer.over[q] if o is not None)
    return _Answer(
        {p: solver.value(c) for p, c in enumerate(counts) if c is not None},
        solver.objective_value,
        max(solver.best_objective_bound, relaxed_bound),
        int(under),
        int(over),
        status == cp_model.OPTIMAL,
    )


ROUNDING_SHARE = 0.2
JOINT_GAP = 0.01
JOINT_SHARE = 0.5  # of the planning budget


def _start_from_relaxation(
    model: cp_model.CpModel,
    decisions: list[cp_model.IntVar],
    params: SolveParameters,
    deadline: float,
    budget: float,
) -> float:
    """Hint ``model`` with the best rounding of its LP optimum (see ``relaxation``); returns
    the LP optimum, a lower bound (0 when there is none)."""
    relaxed = linear_relaxation(model)
    if relaxed is None:
        return 0.0
    neighbourhood = rounding_neighbourhood(model, relaxed, decisions)
    solver = cp_model.CpSolver()
    wall = (deadline - time.monotonic()) * ROUNDING_SHARE
    configure(solver, params, wall_seconds=wall, budget_seconds=budget, workers=1)
    if solver.solve(neighbourhood) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        hint_from(model, solver, neighbourhood)
    return objective_at(model, relaxed)


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
