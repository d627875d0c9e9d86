"""Schedule generation: who works which shift, and where the breaks go.

1. **Shift counts** (``shift_count.plan_shift_counts``): the best count of every pattern,
   relaxing per-person rules. Proven optimal quickly; its optimum is the lower bound reported
   for the whole problem, and it steers the next step.
2. **Assignment** (CP-SAT): a boolean per (employee, day, candidate pattern), every contract
   rule as a constraint, and coverage through pattern counts ``c_p = Σ x`` with the break
   counts of ``shift_count.add_coverage`` on top, so breaks are optimized with the shifts
   without a variable per (employee, break, offset). ``FULL`` offers every eligible pattern
   (its own bound is then a valid bound too); ``DECOMPOSED`` offers each employee-day a few
   patterns sampled from the plan (weighted by its counts), plus the greedy hint's and the
   existing schedule's choice.
3. **Break hand-out**: the break counts of each pattern go to its shifts in employee order.

A greedy construction from the plan (respecting every hard rule) is the search's hint and
the answer if CP-SAT finds nothing in the budget. The one rule that can be impossible —
a contract's weekly minimum — has a priced slack; used slack is reported as a breach.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, timedelta

import numpy as np
from ortools.sat.python import cp_model
from scipy.optimize import linear_sum_assignment

from cadre.scheduling.domain.rostering.catalog import Catalog, build_catalog
from cadre.scheduling.domain.rostering.coverage import coverage_report, scheduled_agents
from cadre.scheduling.domain.rostering.problem import (
    Assignment,
    ExistingAssignment,
    ExistingSchedule,
    Method,
    PlacedActivity,
    Progress,
    QueueCoverage,
    RosteringProblem,
    Rule,
    RuleBreach,
    ScheduleResult,
    SolveParameters,
    SolveStatus,
)
from cadre.scheduling.domain.rostering.shift_count import (
    CoverageLayer,
    ShiftCountPlan,
    add_coverage,
    add_linear,
    configure,
    plan_shift_counts,
)

Choice = dict[tuple[int, int], int]  # (employee, day) -> pattern
UNMATCHED = 0.0  # the cost of a pair that cannot be: never better than a real one


@dataclass
class _Model:
    model: cp_model.CpModel
    x: dict[tuple[int, int], list[tuple[int, cp_model.IntVar]]]
    slack: dict[tuple[int, int], cp_model.IntVar]  # (employee, week) -> minutes below the minimum
    counts: list[cp_model.IntVar | None]
    excess: dict[int, cp_model.IntVar]  # employee -> unpopular shifts beyond the fair share
    layer: CoverageLayer
    main: cp_model.LinearExprT
    changes: cp_model.LinearExprT | None


class _Trace(cp_model.CpSolverSolutionCallback):
    def __init__(self, started: float, budget: float, params: SolveParameters, phase: str) -> None:
        super().__init__()
        self.started, self.budget, self.params, self.phase = started, budget, params, phase
        self.points: list[tuple[float, float, float]] = []

    def on_solution_callback(self) -> None:
        elapsed = time.monotonic() - self.started
        self.points.append((elapsed, self.objective_value, self.best_objective_bound))
        if self.params.progress is not None:
            self.params.progress(
                Progress(
                    phase=self.phase,
                    fraction=min(1.0, elapsed / self.budget),
                    elapsed_seconds=elapsed,
                    objective=self.objective_value,
                    lower_bound=self.best_objective_bound,
                )
            )


PLANNING_SHARE = 0.3  # of the budget, for shift-count planning; the rest assigns shifts


def generate_schedule(problem: RosteringProblem, params: SolveParameters | None = None) -> ScheduleResult:
    """Shifts and breaks for every employee over the horizon (see the module docstring)."""
    params = params or SolveParameters()
    started = time.monotonic()
    budget = max(0.1, params.time_budget_seconds)
    catalog = build_catalog(problem)
    plan_started = time.monotonic()
    plan = plan_shift_counts(problem, params, catalog=catalog, time_limit=budget * PLANNING_SHARE)
    plan_seconds = time.monotonic() - plan_started
    _report(params, "planned shift counts", started, budget, plan.objective, plan.lower_bound)

    eligible_total = catalog.eligible_count()
    method = params.method
    if method is Method.AUTO:
        method = Method.FULL if eligible_total <= params.full_model_limit else Method.DECOMPOSED
    existing = _existing_choices(catalog)
    greedy = _greedy(catalog, plan, existing)
    first_feasible = time.monotonic() - started
    candidates = _candidates(catalog, plan, method, params, [greedy, existing])
    fair_share = _fair_share(catalog, plan)
    built = _build(catalog, candidates, fair_share)
    _hint(catalog, built, greedy, fair_share)
    build_seconds = time.monotonic() - started - plan_seconds

    solver = cp_model.CpSolver()
    remaining = budget - (time.monotonic() - started)
    lexicographic = (
        problem.existing is not None and problem.existing.lexicographic and built.changes is not None
    )
    objective: cp_model.LinearExprT = built.main
    if built.changes is not None and not lexicographic:
        objective = built.main + problem.weights.changed_assignment * built.changes
    built.model.minimize(objective)
    trace = _Trace(started, budget, params, "assigning shifts")
    assigning = budget * (1 - PLANNING_SHARE)
    configure(
        solver,
        params,
        wall_seconds=remaining * (0.6 if lexicographic else 1.0),
        budget_seconds=assigning * (0.6 if lexicographic else 1.0),
    )
    # Probing in presolve costs seconds on big linear models and buys little here.
    solver.parameters.cp_model_probing_level = 0
    status = solver.solve(built.model, trace)
    solved = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    model_bound = solver.best_objective_bound if solved else 0.0
    if solved and lexicographic and built.changes is not None:
        best_main = round(solver.value(built.main))
        built.model.add(built.main <= best_main)
        built.model.clear_hints()
        for choices in built.x.values():
            for _, var in choices:
                built.model.add_hint(var, int(solver.boolean_value(var)))
        built.model.minimize(built.changes)
        second = cp_model.CpSolver()
        configure(
            second, params, wall_seconds=budget - (time.monotonic() - started), budget_seconds=assigning * 0.4
        )
        if second.solve(built.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            solver = second

    if solved:
        choice = {
            key: p for key, choices in built.x.items() for p, var in choices if solver.boolean_value(var)
        }
        break_values = {
            key: [
                (offset, int(solver.value(var)) if not isinstance(var, int) else var)
                for offset, var in placed
            ]
            for key, placed in built.layer.breaks.items()
        }
    else:
        choice = dict(greedy)
        break_values = _greedy_breaks(catalog, choice)
    assignments = _assignments(catalog, choice, break_values)
    coverage, short = coverage_report(problem, assignments)
    breaches = _breaches(catalog, choice)
    unpopular = _unpopular(catalog, choice)
    changed = _changed(catalog, choice, existing) if problem.existing is not None else None
    score = _score(catalog, coverage, choice, breaches, unpopular, fair_share, changed)
    bound = plan.lower_bound
    if method is Method.FULL and solved and not lexicographic:
        bound = max(bound, model_bound)
    bound = min(bound, score)
    if breaches:
        result_status = SolveStatus.INFEASIBLE
    elif not solved and not choice and any(any(r.required) for r in problem.requirements):
        result_status = SolveStatus.UNKNOWN
    elif score <= bound + 1e-6 or (status == cp_model.OPTIMAL and method is Method.FULL):
        result_status = SolveStatus.OPTIMAL
    else:
        result_status = SolveStatus.FEASIBLE
    points = tuple(trace.points)
    _report(params, "done", started, budget, score, bound)
    return ScheduleResult(
        status=result_status,
        method=method,
        assignments=tuple(assignments),
        coverage=coverage,
        objective=float(score),
        lower_bound=float(bound),
        breaches=tuple(breaches),
        short_intervals=short,
        changed_assignments=changed,
        unpopular_shifts={problem.employees[e].id: n for e, n in sorted(unpopular.items())},
        build_seconds=build_seconds,
        wall_seconds=time.monotonic() - started,
        trace=points,
        seed=params.seed,
        plan_seconds=plan_seconds,
        first_feasible_seconds=first_feasible,
    )


def reoptimize(
    problem: RosteringProblem,
    previous: ScheduleResult,
    params: SolveParameters | None = None,
    *,
    lexicographic: bool = False,
) -> ScheduleResult:
    """A new schedule for a changed problem (new leave, a sick call...) that keeps as many of
    ``previous``'s (employee, day) assignments as it can."""
    existing = ExistingSchedule(
        assignments=tuple(
            ExistingAssignment(a.employee_id, a.day, a.template_id, a.start_minute, a.queue_id)
            for a in previous.assignments
        ),
        lexicographic=lexicographic,
    )
    return generate_schedule(replace(problem, existing=existing), params)


def _report(
    params: SolveParameters, phase: str, started: float, budget: float, objective: float, bound: float
) -> None:
    if params.progress is not None:
        elapsed = time.monotonic() - started
        params.progress(Progress(phase, min(1.0, elapsed / budget), elapsed, objective, bound))


# --------------------------------------------------------------------------------------------
# Candidates, hint
# --------------------------------------------------------------------------------------------


def _existing_choices(catalog: Catalog) -> Choice:
    problem = catalog.problem
    if problem.existing is None:
        return {}
    employee_index = {e.id: i for i, e in enumerate(problem.employees)}
    template_index = {t.id: i for i, t in enumerate(problem.templates)}
    queue_index = {r.queue_id: i for i, r in enumerate(problem.requirements)}
    lookup = {(p.queue, p.day, p.template, p.start_minute): p.index for p in catalog.patterns}
    choices: Choice = {}
    for a in problem.existing.assignments:
        e = employee_index.get(a.employee_id)
        d = (a.day - problem.horizon.first_day).days
        key = (queue_index.get(a.queue_id, -1), d, template_index.get(a.template_id, -1), a.start_minute)
        if e is not None and key in lookup:
            choices[(e, d)] = lookup[key]
    return choices


def _candidates(
    catalog: Catalog, plan: ShiftCountPlan, method: Method, params: SolveParameters, keep: list[Choice]
) -> list[list[list[int]]]:
    problem = catalog.problem
    counts = np.asarray(plan.pattern_counts, dtype=np.float64)
    rng = np.random.default_rng(params.seed)
    result: list[list[list[int]]] = []
    for e in range(len(problem.employees)):
        days: list[list[int]] = []
        for d in range(problem.horizon.days):
            eligible = catalog.employee_patterns(e, d)
            if method is Method.FULL or len(eligible) <= params.candidates_per_day:
                days.append(eligible)
                continue
            options = np.asarray(eligible, dtype=np.int64)
            weights = counts[options] + 0.05  # unplanned patterns stay possible, rarely
            # weighted sampling without replacement (Efraimidis-Spirakis keys)
            keys = rng.random(len(options)) ** (1.0 / weights)
            picked = {int(p) for p in options[np.argsort(-keys)[: params.candidates_per_day]]}
            for choices in keep:
                if (e, d) in choices and choices[(e, d)] in eligible:
                    picked.add(choices[(e, d)])
            days.append(sorted(picked))
        result.append(days)
    return result


def _greedy(catalog: Catalog, plan: ShiftCountPlan, existing: Choice) -> Choice:
    """A schedule meeting every hard rule except weekly minimums: existing choices that are
    still allowed first; then each employee's working days, the least available first, on the
    days whose planned shifts are least staffed so far (so weekends are not left to whoever
    has days left on Saturday); then the planned shifts of each day to the employees working
    it who most need minutes; then free days filled for anyone still short of their minimum."""
    problem = catalog.problem
    patterns = catalog.patterns
    employees = problem.employees
    days = problem.horizon.days
    remaining = list(plan.pattern_counts)
    choice: Choice = {}
    allowed = [[set(catalog.employee_patterns(e, d)) for d in range(days)] for e in range(len(employees))]
    week_of = {d: w for w, week in enumerate(problem.horizon.weeks()) for d in week}

    def fits(e: int, d: int, p: int) -> bool:
        return p in allowed[e][d] and _fits(catalog, choice, e, d, p, week_of)

    best = [
        max((patterns[p].paid_minutes for d in range(days) for p in allowed[e][d]), default=0)
        for e in range(len(employees))
    ]
    lost: list[tuple[int, int]] = []
    for (e, d), p in sorted(existing.items()):
        if fits(e, d, p):
            choice[(e, d)] = p
            remaining[p] -= 1
        else:
            lost.append((d, p))
    if existing:
        # Re-optimizing: keep the schedule, hand each shift that can no longer be worked to
        # someone free that day, and leave everything else as it was.
        for d, p in lost:
            free = (e for e in range(len(employees)) if (e, d) not in choice and p in allowed[e][d])
            taker = next((e for e in free if fits(e, d, p)), None)
            if taker is not None:
                choice[(taker, d)] = p
        remaining = [0] * len(remaining)
    by_day: dict[int, list[int]] = defaultdict(list)
    for pattern in patterns:
        if remaining[pattern.index] > 0:
            by_day[pattern.day].append(pattern.index)
    works_on = (
        _working_days(catalog, allowed, remaining, choice) if not existing else [set() for _ in employees]
    )
    n = problem.horizon.intervals
    short = [np.asarray(r.required, dtype=np.int64).copy() for r in problem.requirements]

    def cover(p: int) -> None:
        pattern = patterns[p]
        short[pattern.queue][pattern.first_slot : pattern.first_slot + pattern.slots] -= 1

    def gain(p: int) -> int:
        pattern = patterns[p]
        window = short[pattern.queue][pattern.first_slot : min(n, pattern.first_slot + pattern.slots)]
        return int(np.clip(window, 0, None).sum())

    for p in choice.values():
        cover(p)
    for d in range(days):
        # The day's planned shifts go to the people working it in one matching: the most shifts
        # filled, and among those, people furthest from their weekly minimum first. Filling in
        # start order instead let early shifts take the people only later ones could use.
        week = week_of[d]
        slots = [p for p in sorted(by_day[d]) for _ in range(max(0, remaining[p]))]
        people = [e for e in range(len(employees)) if (e, d) not in choice and d in works_on[e]]
        if slots and people:
            cost = np.full((len(people), len(slots)), UNMATCHED, dtype=np.float64)
            slot_of = defaultdict(list)
            for j, p in enumerate(slots):
                slot_of[p].append(j)
            for i, e in enumerate(people):
                urgency = max(0, _deficit(catalog, choice, e, week)) / (7 * 24 * 60)
                least = _least_paid_keeping_minimum(catalog, choice, e, d, best)
                planned = [p for p in allowed[e][d] if p in slot_of and patterns[p].paid_minutes >= least]
                for p in _fitting(catalog, choice, e, d, planned, week_of):
                    cost[i, slot_of[p]] = -1.0 - urgency
            for i, j in zip(*linear_sum_assignment(cost), strict=True):
                if cost[i, j] < UNMATCHED:
                    p = slots[j]
                    choice[(people[i], d)] = p
                    remaining[p] -= 1
                    cover(p)
        # whoever was meant to work today and got no planned shift takes the most useful one
        idle = [e for e in range(len(employees)) if d in works_on[e] and (e, d) not in choice]
        for e in sorted(idle, key=lambda e: (-_deficit(catalog, choice, e, week_of[d]), e)):
            useful = sorted(((gain(p), patterns[p].paid_minutes, -p) for p in allowed[e][d]), reverse=True)
            for value, _paid, negative_p in useful:
                if value <= 0:
                    break
                if fits(e, d, -negative_p) and _keeps_minimum_reachable(
                    catalog, choice, e, d, -negative_p, best
                ):
                    choice[(e, d)] = -negative_p
                    cover(-negative_p)
                    break
    for e in range(len(employees)):
        for w, week_days in enumerate(problem.horizon.weeks()):
            # first lengthen the shifts already given, then add days
            for d in sorted(
                (d for d in week_days if (e, d) in choice),
                key=lambda d: patterns[choice[(e, d)]].paid_minutes,
            ):
                if _deficit(catalog, choice, e, w) <= 0:
                    break
                current = choice.pop((e, d))
                longer = [
                    p for p in allowed[e][d] if patterns[p].paid_minutes > patterns[current].paid_minutes
                ]
                longer.sort(key=lambda p: (-gain(p), -patterns[p].paid_minutes, p))
                choice[(e, d)] = next((p for p in longer if fits(e, d, p)), current)
            for d in week_days:
                if _deficit(catalog, choice, e, w) <= 0:
                    break
                if (e, d) in choice:
                    continue
                options = sorted(allowed[e][d], key=lambda p: (-patterns[p].paid_minutes, p))
                for p in options:
                    if fits(e, d, p):
                        choice[(e, d)] = p
                        break
    return choice


def _working_days(
    catalog: Catalog, allowed: list[list[set[int]]], remaining: list[int], choice: Choice
) -> list[set[int]]:
    problem = catalog.problem
    demand = [0] * problem.horizon.days
    for p, n in enumerate(remaining):
        demand[catalog.patterns[p].day] += max(0, n)
    supply = [0] * problem.horizon.days
    works_on: list[set[int]] = [set() for _ in problem.employees]
    flexibility = sorted(
        range(len(problem.employees)), key=lambda e: (sum(1 for day in allowed[e] if day), e)
    )
    for e in flexibility:
        contract = problem.employees[e].contract
        worked = catalog.worked_before[e] | {d for d in range(problem.horizon.days) if (e, d) in choice}
        for week in problem.horizon.weeks():
            taken = sum(1 for d in week if (e, d) in choice)
            open_days = [d for d in week if allowed[e][d] and (e, d) not in choice]
            open_days.sort(key=lambda d: (supply[d] - demand[d], d))
            for d in open_days:
                if taken >= contract.max_working_days_per_week:
                    break
                # a day that would make the run too long (previous week included) is left to others
                if _run_through(worked, d) > contract.max_consecutive_days:
                    continue
                worked.add(d)
                works_on[e].add(d)
                supply[d] += 1
                taken += 1
    return works_on


def _run_through(worked: set[int], d: int) -> int:
    """Length of the run of consecutive worked days that working ``d`` too would make."""
    before = 0
    while d - before - 1 in worked:
        before += 1
    after = 0
    while d + after + 1 in worked:
        after += 1
    return before + 1 + after


def _least_paid_keeping_minimum(catalog: Catalog, choice: Choice, e: int, d: int, best: list[int]) -> int:
    """The fewest paid minutes a shift e takes on day d may have so that e can still reach the
    weekly minimum with their longest shifts on the days left."""
    contract = catalog.problem.employees[e].contract
    for w, week in enumerate(catalog.problem.horizon.weeks()):
        if d in week:
            worked = sum(1 for x in week if (e, x) in choice)
            free = min(contract.max_working_days_per_week - worked - 1, sum(1 for x in week if x > d))
            return _deficit(catalog, choice, e, w) - max(0, free) * best[e]
    return 0


def _keeps_minimum_reachable(
    catalog: Catalog, choice: Choice, e: int, d: int, p: int, best: list[int]
) -> bool:
    """After taking p on day d, can e still reach the weekly minimum with their longest shifts?"""
    return catalog.patterns[p].paid_minutes >= _least_paid_keeping_minimum(catalog, choice, e, d, best)


def _deficit(catalog: Catalog, choice: Choice, e: int, week: int) -> int:
    problem = catalog.problem
    days = problem.horizon.weeks()[week]
    worked = sum(catalog.patterns[choice[(e, d)]].paid_minutes for d in days if (e, d) in choice)
    return catalog.minimums[e][week] - worked


def _fits(catalog: Catalog, choice: Choice, e: int, d: int, p: int, week_of: dict[int, int]) -> bool:
    """Would employee e working pattern p on day d keep every hard rule, given ``choice``?"""
    return bool(_fitting(catalog, choice, e, d, [p], week_of))


def _fitting(
    catalog: Catalog, choice: Choice, e: int, d: int, options: Iterable[int], week_of: dict[int, int]
) -> list[int]:
    """The patterns of ``options`` employee e could work on day d keeping every hard rule,
    given ``choice`` (what does not depend on the pattern is checked once)."""
    problem = catalog.problem
    contract = problem.employees[e].contract
    week = problem.horizon.weeks()[week_of[d]]
    worked_days = [x for x in week if (e, x) in choice]
    if len(worked_days) + 1 > contract.max_working_days_per_week:
        return []
    # consecutive days: the run through d (previous week included) must stay within the limit
    worked = catalog.worked_before[e] | {x for x in range(problem.horizon.days) if (e, x) in choice}
    if _run_through(worked, d) > contract.max_consecutive_days:
        return []
    minutes_left = contract.max_minutes_per_week - sum(
        catalog.patterns[choice[(e, x)]].paid_minutes for x in worked_days
    )
    # rest from the shifts of the two days before and after
    rest = contract.min_rest_minutes
    earliest_start = max(
        (
            catalog.patterns[choice[(e, x)]].real_end + rest
            for x in range(max(0, d - 2), d)
            if (e, x) in choice
        ),
        default=-(10**9),
    )
    latest_end = min(
        (
            catalog.patterns[choice[(e, x)]].real_start - rest
            for x in range(d + 1, min(problem.horizon.days, d + 3))
            if (e, x) in choice
        ),
        default=10**9,
    )
    return [
        p
        for p in options
        if catalog.patterns[p].paid_minutes <= minutes_left
        and catalog.patterns[p].real_start >= earliest_start
        and catalog.patterns[p].real_end <= latest_end
    ]


def _greedy_breaks(catalog: Catalog, choice: Choice) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """Each break at the earliest offset (what the schedule falls back on without a search)."""
    step = catalog.problem.horizon.interval_minutes
    per_pattern: dict[int, int] = defaultdict(int)
    for p in choice.values():
        per_pattern[p] += 1
    values: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for p, n in per_pattern.items():
        template = catalog.problem.templates[catalog.patterns[p].template]
        for k, rule in enumerate(template.breaks):
            values[(p, k)] = [(rule.earliest_offset_minutes // step, n)]
    return values


def _fair_share(catalog: Catalog, plan: ShiftCountPlan) -> int:
    planned = sum(v for p, v in enumerate(plan.pattern_counts) if catalog.patterns[p].unpopular)
    problem = catalog.problem
    can_take = sum(
        1
        for e in range(len(problem.employees))
        if any(
            catalog.patterns[p].unpopular
            for d in range(problem.horizon.days)
            for p in catalog.employee_patterns(e, d)
        )
    )
    return math.ceil(planned / can_take) if can_take else 0


# --------------------------------------------------------------------------------------------
# The CP-SAT model
# --------------------------------------------------------------------------------------------


def _build(catalog: Catalog, candidates: list[list[list[int]]], fair_share: int) -> _Model:
    problem = catalog.problem
    weights = problem.weights
    patterns = catalog.patterns
    horizon = problem.horizon
    model = cp_model.CpModel()
    x: dict[tuple[int, int], list[tuple[int, cp_model.IntVar]]] = {}
    takers: list[list[cp_model.IntVar]] = [[] for _ in patterns]
    preference_terms: list[cp_model.IntVar] = []
    fairness_terms: list[cp_model.IntVar] = []
    excess_of: dict[int, cp_model.IntVar] = {}
    slack: dict[tuple[int, int], cp_model.IntVar] = {}
    slack_terms: list[cp_model.IntVar] = []
    for e, employee in enumerate(problem.employees):
        contract = employee.contract
        prefs = employee.preferences
        for d in range(horizon.days):
            options = candidates[e][d]
            if not options:
                continue
            weekday = horizon.day(d).weekday()
            row = []
            for p in options:
                var = model.new_bool_var(f"x_{e}_{d}_{p}")
                row.append((p, var))
                takers[p].append(var)
                start = patterns[p].start_minute
                if (
                    weekday in prefs.days_off
                    or (prefs.earliest_start_minute is not None and start < prefs.earliest_start_minute)
                    or (prefs.latest_start_minute is not None and start > prefs.latest_start_minute)
                ):
                    preference_terms.append(var)
            x[(e, d)] = row
            if len(row) > 1:
                model.add_at_most_one(v for _, v in row)
        working = {d: [v for _, v in x[(e, d)]] for d in range(horizon.days) if (e, d) in x}
        for w, week in enumerate(horizon.weeks()):
            in_week = [(v, patterns[p].paid_minutes) for d in week if (e, d) in x for p, v in x[(e, d)]]
            if sum(m for _, m in in_week) > contract.max_minutes_per_week:
                add_linear(model, in_week, 0, contract.max_minutes_per_week)
            minimum = catalog.minimums[e][w]
            if minimum > 0:
                s = model.new_int_var(0, minimum, f"short_{e}_{w}")
                slack[(e, w)] = s
                slack_terms.append(s)
                add_linear(model, [*in_week, (s, 1)], minimum, cp_model.INT_MAX)
            days_in = [d for d in week if d in working]
            if len(days_in) > contract.max_working_days_per_week:
                add_linear(
                    model,
                    [(v, 1) for d in days_in for v in working[d]],
                    0,
                    contract.max_working_days_per_week,
                )
        _add_consecutive(model, catalog, e, working)
        _add_rest(model, catalog, e, x)
        unpopular = [
            v for d in range(horizon.days) if (e, d) in x for p, v in x[(e, d)] if patterns[p].unpopular
        ]
        if unpopular and len(unpopular) > fair_share:
            excess = model.new_int_var(0, len(unpopular), f"unfair_{e}")
            add_linear(model, [(v, 1) for v in unpopular] + [(excess, -1)], cp_model.INT_MIN, fair_share)
            fairness_terms.append(excess)
            excess_of[e] = excess

    counts: list[cp_model.IntVar | None] = [None] * len(patterns)
    caps = [len(t) for t in takers]
    for p, vars_ in enumerate(takers):
        if vars_:
            c = model.new_int_var(0, len(vars_), f"count_{p}")
            add_linear(model, [(v, 1) for v in vars_] + [(c, -1)], 0, 0)
            counts[p] = c
    layer = add_coverage(model, catalog, counts, caps)
    main = (
        weights.contract_breach_minute * cp_model.LinearExpr.sum(slack_terms)
        + layer.coverage_cost
        + weights.under_interval * layer.constant_under
        + layer.paid_cost
        + problem.fairness.weight * cp_model.LinearExpr.sum(fairness_terms)
        + weights.preference * cp_model.LinearExpr.sum(preference_terms)
    )
    changes: cp_model.LinearExprT | None = None
    existing = _existing_choices(catalog)
    if problem.existing is not None:
        change_terms: list[cp_model.LinearExprT] = []
        constant = 0
        for e in range(len(problem.employees)):
            for d in range(horizon.days):
                row = x.get((e, d), [])
                before = existing.get((e, d))
                if before is None:
                    change_terms.extend(v for _, v in row)
                else:
                    kept = [v for p, v in row if p == before]
                    if kept:
                        change_terms.append(1 - kept[0])
                    else:
                        constant += 1
        # assignments of the old schedule to days or patterns that no longer exist count too
        constant += len(problem.existing.assignments) - len(existing)
        changes = cp_model.LinearExpr.sum(change_terms) + constant
    return _Model(
        model=model,
        x=x,
        slack=slack,
        counts=counts,
        excess=excess_of,
        layer=layer,
        main=main,
        changes=changes,
    )


def _hint(catalog: Catalog, built: _Model, choice: Choice, fair_share: int) -> None:
    """Hint every variable, from a schedule that keeps the hard rules: CP-SAT then starts from a
    complete solution instead of searching for its first one."""
    model = built.model
    problem = catalog.problem
    for (e, d), row in built.x.items():
        chosen = choice.get((e, d))
        for p, var in row:
            model.add_hint(var, int(p == chosen))
    per_pattern: dict[int, int] = defaultdict(int)
    for p in choice.values():
        per_pattern[p] += 1
    for p, c in enumerate(built.counts):
        if c is not None:
            model.add_hint(c, per_pattern.get(p, 0))
    break_values = _greedy_breaks(catalog, choice)
    for key, placed in built.layer.breaks.items():
        hinted = dict(break_values.get(key, []))
        for offset, var in placed:
            if var is not built.counts[key[0]]:
                model.add_hint(var, hinted.get(offset, 0))
    scheduled = scheduled_agents(problem, _assignments(catalog, choice, break_values))
    for q, requirement in enumerate(problem.requirements):
        agents = scheduled[requirement.queue_id]
        for i, (u, o) in enumerate(zip(built.layer.under[q], built.layer.over[q], strict=True)):
            if o is not None:
                model.add_hint(o, max(0, int(agents[i]) - requirement.required[i]))
            if u is not None:
                model.add_hint(u, max(0, requirement.required[i] - int(agents[i])))
    for (e, w), var in built.slack.items():
        model.add_hint(var, max(0, _deficit(catalog, choice, e, w)))
    unpopular = _unpopular(catalog, choice)
    for e, var in built.excess.items():
        model.add_hint(var, max(0, unpopular[e] - fair_share))


def _add_consecutive(
    model: cp_model.CpModel, catalog: Catalog, e: int, working: dict[int, list[cp_model.IntVar]]
) -> None:
    limit = catalog.problem.employees[e].contract.max_consecutive_days
    days = catalog.problem.horizon.days
    before = catalog.worked_before[e]
    for first in range(-limit, days - limit):
        window = range(first, first + limit + 1)
        inside = [d for d in window if d >= 0 and d in working]
        fixed = sum(1 for d in window if d < 0 and d in before)
        if inside and len(inside) + fixed > limit:
            add_linear(model, [(v, 1) for d in inside for v in working[d]], 0, limit - fixed)


def _add_rest(
    model: cp_model.CpModel,
    catalog: Catalog,
    e: int,
    x: dict[tuple[int, int], list[tuple[int, cp_model.IntVar]]],
) -> None:
    """x_a + Σ x_b ≤ 1 over the later shifts b that start too soon after a ends."""
    rest = catalog.problem.employees[e].contract.min_rest_minutes
    patterns = catalog.patterns
    days = catalog.problem.horizon.days
    for d in range(days):
        if (e, d) not in x:
            continue
        for later in range(d + 1, min(days, d + 3)):
            if (e, later) not in x:
                continue
            for a, va in x[(e, d)]:
                end = patterns[a].real_end + rest
                clash = [vb for b, vb in x[(e, later)] if patterns[b].real_start < end]
                if clash:
                    add_linear(model, [(va, 1)] + [(v, 1) for v in clash], 0, 1)


# --------------------------------------------------------------------------------------------
# Reading the answer
# --------------------------------------------------------------------------------------------


def _assignments(
    catalog: Catalog, choice: Choice, break_values: dict[tuple[int, int], list[tuple[int, int]]]
) -> list[Assignment]:
    problem = catalog.problem
    horizon = problem.horizon
    step = horizon.interval_minutes
    zone = horizon.zone
    by_pattern: dict[int, list[int]] = defaultdict(list)
    for (e, _d), p in sorted(choice.items()):
        by_pattern[p].append(e)
    activities: dict[tuple[int, int], list[PlacedActivity]] = defaultdict(list)
    result: list[Assignment] = []
    for p, staff in by_pattern.items():
        pattern = catalog.patterns[p]
        template = problem.templates[pattern.template]
        start = horizon.local(pattern.day, pattern.start_minute)
        start_utc = start.astimezone(UTC)
        for k, rule in enumerate(template.breaks):
            offsets = [o for o, n in break_values.get((p, k), []) for _ in range(n)]
            offsets.sort()
            if len(offsets) != len(staff):  # the model ties them; keep every shift whole regardless
                offsets = [rule.earliest_offset_minutes // step] * len(staff)
            for e, offset in zip(staff, offsets, strict=True):
                begin = start_utc + timedelta(minutes=offset * step)
                activities[(e, p)].append(
                    PlacedActivity(
                        kind=rule.kind,
                        start=begin.astimezone(zone),
                        end=(begin + timedelta(minutes=rule.length_minutes)).astimezone(zone),
                        paid=rule.paid,
                    )
                )
        for e in staff:
            result.append(
                Assignment(
                    employee_id=problem.employees[e].id,
                    day=horizon.day(pattern.day),
                    template_id=template.id,
                    queue_id=problem.requirements[pattern.queue].queue_id,
                    start_minute=pattern.start_minute,
                    start=start,
                    end=(start_utc + timedelta(minutes=template.length_minutes)).astimezone(zone),
                    paid_minutes=template.paid_minutes,
                    activities=tuple(activities[(e, p)]),
                )
            )
    result.sort(key=lambda a: (a.employee_id, a.day))
    return result


def _breaches(catalog: Catalog, choice: Choice) -> list[RuleBreach]:
    problem = catalog.problem
    breaches: list[RuleBreach] = []
    for e, employee in enumerate(problem.employees):
        for w, week in enumerate(problem.horizon.weeks()):
            short = _deficit(catalog, choice, e, w)
            if short <= 0:
                continue
            minimum = catalog.minimums[e][w]
            room = _room(catalog, e, week)
            breaches.append(
                RuleBreach(
                    rule=Rule.MIN_WEEKLY_MINUTES,
                    employee_id=employee.id,
                    detail=(
                        f"needs at least {minimum} paid minutes in the week from "
                        f"{problem.horizon.day(week[0])}, "
                        f"scheduled {minimum - short}; availability, blocked time and the contract's day, "
                        f"shift-length and rest rules leave room for at most {room}"
                    ),
                    amount=short,
                    week_start=problem.horizon.day(week[0]),
                )
            )
    return breaches


def _room(catalog: Catalog, e: int, week: range) -> int:
    """An upper bound on the paid minutes employee e could work in ``week``."""
    contract = catalog.problem.employees[e].contract
    best_per_day = sorted(
        (
            max((catalog.patterns[p].paid_minutes for p in catalog.employee_patterns(e, d)), default=0)
            for d in week
        ),
        reverse=True,
    )
    return min(contract.max_minutes_per_week, sum(best_per_day[: contract.max_working_days_per_week]))


def _unpopular(catalog: Catalog, choice: Choice) -> dict[int, int]:
    counts: dict[int, int] = dict.fromkeys(range(len(catalog.problem.employees)), 0)
    for (e, _d), p in choice.items():
        if catalog.patterns[p].unpopular:
            counts[e] += 1
    return counts


def _changed(catalog: Catalog, choice: Choice, existing: Choice) -> int:
    problem = catalog.problem
    assert problem.existing is not None
    keys = set(choice) | set(existing)
    lost = len(problem.existing.assignments) - len(existing)
    return lost + sum(1 for key in keys if choice.get(key) != existing.get(key))


def _score(
    catalog: Catalog,
    coverage: tuple[QueueCoverage, ...],
    choice: Choice,
    breaches: list[RuleBreach],
    unpopular: dict[int, int],
    fair_share: int,
    changed: int | None,
) -> float:
    """The objective of a finished schedule, recomputed from the schedule itself."""
    problem = catalog.problem
    w = problem.weights
    prefs_broken = 0
    for (e, d), p in choice.items():
        prefs = problem.employees[e].preferences
        start = catalog.patterns[p].start_minute
        if (
            problem.horizon.day(d).weekday() in prefs.days_off
            or (prefs.earliest_start_minute is not None and start < prefs.earliest_start_minute)
            or (prefs.latest_start_minute is not None and start > prefs.latest_start_minute)
        ):
            prefs_broken += 1
    total = (
        w.contract_breach_minute * sum(b.amount for b in breaches)
        + w.under_interval * sum(c.under for c in coverage)
        + w.over_interval * sum(c.over for c in coverage)
        + w.paid_minute * sum(catalog.patterns[p].paid_minutes for p in choice.values())
        + problem.fairness.weight * sum(max(0, n - fair_share) for n in unpopular.values())
        + w.preference * prefs_broken
    )
    if changed is not None:
        total += w.changed_assignment * changed
    return float(total)


__all__ = ["generate_schedule", "reoptimize"]
