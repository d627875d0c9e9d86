"""Low-impact planning: where a session takes people off the phones at the least cost.

The horizon is a grid of equal steps. For every queue the projected service level per step
comes from the published requirement's volume and handle time and the agents the published
schedule has on the phones (Erlang C, or Erlang A when callers' patience is known). Taking
a participant into training removes them from the queue they would be answering at that
step. A candidate start is feasible when every participant and the trainer are in working
time for the whole session and no step they leave falls below the floor; among those, the
cost is the number of contacts expected to be answered late because of the session
(Σ volume × drop in service level), smallest first.

Everything is NumPy over the whole horizon at once: one Erlang evaluation per queue for
"as published" and one for "with the session", then sliding-window sums over the grid.
For "any N from team T" each member's marginal cost per step (the drop from one agent
fewer) ranks who is cheapest to take at each start; the best starts by that estimate are
then evaluated exactly with the chosen people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from cadre.staffing import erlang

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
_TOLERANCE = 1e-9
# How many starts, per proposal wanted, the team estimate passes on to the exact evaluation.
_SHORTLIST_PER_PROPOSAL = 8


@dataclass(frozen=True)
class QueueLoad:
    """One queue on the grid; zero volume where no requirement covers a step."""

    queue: str
    volumes: FloatArray  # contacts per step
    aht_seconds: FloatArray
    agents: FloatArray  # on the phones as published
    answer_seconds: float
    patience_seconds: float = 0.0  # 0: Erlang C


@dataclass(frozen=True)
class Candidate:
    """A possible participant: where they answer at each step and when they may train."""

    id: str
    queue_at: IntArray  # index into the problem's queues, -1 when not answering a known queue
    available: BoolArray  # in working time, not on leave or in another session


@dataclass(frozen=True)
class PlanningProblem:
    start: datetime
    step_minutes: int
    queues: tuple[QueueLoad, ...]
    candidates: tuple[Candidate, ...]
    pick: int  # participants to take from the candidates (all of them for a fixed list)
    trainer_available: BoolArray
    duration_steps: int
    floor: float
    max_proposals: int = 3

    @property
    def steps(self) -> int:
        return len(self.trainer_available)


@dataclass(frozen=True)
class IntervalImpact:
    queue: str
    start: datetime
    agents_without: float
    agents_with: float
    service_level_without: float
    service_level_with: float


@dataclass(frozen=True)
class Proposal:
    start: datetime
    end: datetime
    participants: tuple[str, ...]
    contacts_answered_late: float
    lowest_service_level: float
    intervals: tuple[IntervalImpact, ...]


@dataclass(frozen=True)
class PlanningResult:
    proposals: tuple[Proposal, ...]
    candidates_considered: int
    candidates_below_floor: int


def service_level(load: QueueLoad, agents: FloatArray, step_minutes: int) -> FloatArray:
    """Projected share answered within the target per step (1 where nothing is offered)."""
    aht = np.where(load.aht_seconds > 0, load.aht_seconds, 1.0)
    agents = np.maximum(agents, 0.0)
    if load.patience_seconds > 0:
        metrics = erlang.erlang_a_metrics(
            load.volumes, aht, load.patience_seconds, step_minutes * 60, agents, load.answer_seconds
        )
        return np.asarray(metrics.service_level, dtype=np.float64)
    c = erlang.erlang_c_metrics(load.volumes, aht, step_minutes * 60, agents, load.answer_seconds)
    return np.asarray(c.service_level, dtype=np.float64)


def _window_sums(values: NDArray[np.float64] | NDArray[np.int64], width: int) -> NDArray[np.float64]:
    """Sums over every window of `width` steps along the last axis (one per start)."""
    padded = np.concatenate([np.zeros((*values.shape[:-1], 1)), np.cumsum(values, axis=-1)], axis=-1)
    return np.asarray(padded[..., width:] - padded[..., :-width], dtype=np.float64)


def _removed(problem: PlanningProblem, chosen: list[int]) -> FloatArray:
    """Agents taken off each queue at each step if `chosen` are in training all horizon long."""
    removed = np.zeros((len(problem.queues), problem.steps))
    for index in chosen:
        queue_at = problem.candidates[index].queue_at
        on_queue = queue_at >= 0
        np.add.at(removed, (queue_at[on_queue], np.nonzero(on_queue)[0]), 1.0)
    return removed


def _pick_apart(order: IntArray, cost: FloatArray, width: int, count: int) -> list[int]:
    """The cheapest starts in `order`, no two sessions overlapping."""
    taken: list[int] = []
    for start in order:
        if not np.isfinite(cost[start]):
            break
        if all(abs(int(start) - other) >= width for other in taken):
            taken.append(int(start))
            if len(taken) == count:
                break
    return taken


def _proposal(
    problem: PlanningProblem,
    start: int,
    chosen: list[int],
    without: FloatArray,
    with_: FloatArray,
    removed: FloatArray,
) -> Proposal:
    stop = start + problem.duration_steps
    step = timedelta(minutes=problem.step_minutes)
    impacts = []
    late = 0.0
    lowest = 1.0
    for q, load in enumerate(problem.queues):
        for t in np.nonzero(removed[q, start:stop] > 0)[0] + start:
            impacts.append(
                IntervalImpact(
                    queue=load.queue,
                    start=problem.start + step * int(t),
                    agents_without=float(load.agents[t]),
                    agents_with=float(max(load.agents[t] - removed[q, t], 0.0)),
                    service_level_without=float(without[q, t]),
                    service_level_with=float(with_[q, t]),
                )
            )
            late += float((without[q, t] - with_[q, t]) * load.volumes[t])
            lowest = min(lowest, float(with_[q, t]))
    return Proposal(
        start=problem.start + step * start,
        end=problem.start + step * stop,
        participants=tuple(problem.candidates[i].id for i in chosen),
        contacts_answered_late=late,
        lowest_service_level=lowest,
        intervals=tuple(sorted(impacts, key=lambda i: (i.start, i.queue))),
    )


def _levels(problem: PlanningProblem, removed: FloatArray) -> FloatArray:
    """Service level per queue and step with `removed` agents fewer."""
    levels = [
        service_level(load, load.agents - removed[q], problem.step_minutes)
        for q, load in enumerate(problem.queues)
    ]
    return np.stack(levels) if levels else np.ones((0, problem.steps))


def _volumes(problem: PlanningProblem) -> FloatArray:
    volumes = [load.volumes for load in problem.queues]
    return np.stack(volumes) if volumes else np.zeros((0, problem.steps))


def propose(problem: PlanningProblem) -> PlanningResult:
    width = problem.duration_steps
    starts = problem.steps - width + 1
    if starts <= 0 or problem.pick <= 0 or problem.pick > len(problem.candidates):
        return PlanningResult((), 0, 0)
    without = _levels(problem, np.zeros((len(problem.queues), problem.steps)))
    if problem.pick == len(problem.candidates):
        return _propose_fixed(problem, without, starts)
    return _propose_any(problem, without, starts)


def _propose_fixed(problem: PlanningProblem, without: FloatArray, starts: int) -> PlanningResult:
    width = problem.duration_steps
    everyone = list(range(len(problem.candidates)))
    removed = _removed(problem, everyone)
    with_ = _levels(problem, removed)
    late = ((without - with_) * _volumes(problem)).sum(axis=0)
    below = ((removed > 0) & (with_ < problem.floor - _TOLERANCE)).any(axis=0)
    available = problem.trainer_available.copy()
    for candidate in problem.candidates:
        available &= candidate.available
    unavailable_windows = _window_sums((~available).astype(np.int64), width)
    below_windows = _window_sums(np.asarray(below, dtype=np.int64), width)
    cost = _window_sums(late, width)
    open_starts = unavailable_windows == 0
    ruled_out = open_starts & (below_windows > 0)
    cost = np.where(open_starts & ~ruled_out, cost, np.inf)
    order = np.argsort(cost, kind="stable")
    chosen = _pick_apart(order, cost, width, problem.max_proposals)
    proposals = tuple(_proposal(problem, s, everyone, without, with_, removed) for s in chosen)
    return PlanningResult(proposals, int(open_starts.sum()), int(ruled_out.sum()))


def _propose_any(problem: PlanningProblem, without: FloatArray, starts: int) -> PlanningResult:
    width, pick = problem.duration_steps, problem.pick
    one_fewer = _levels(problem, np.ones((len(problem.queues), problem.steps)))
    # A zero row stands for "not answering a known queue" (index -1).
    marginal_by_queue = np.vstack([(without - one_fewer) * _volumes(problem), np.zeros((1, problem.steps))])
    queue_at = np.stack([c.queue_at for c in problem.candidates])
    marginal = marginal_by_queue[queue_at, np.arange(problem.steps)]
    available = np.stack([c.available for c in problem.candidates]) & problem.trainer_available
    member_cost = _window_sums(marginal, width)
    member_open = _window_sums((~available).astype(np.int64), width) == 0
    estimate = np.where(member_open, member_cost, np.inf)
    cheapest = np.partition(estimate, pick - 1, axis=0)[:pick]
    approx = cheapest.sum(axis=0)
    open_starts = np.isfinite(approx)
    order = np.argsort(approx, kind="stable")
    proposals: list[Proposal] = []
    below_floor = 0
    evaluated: list[tuple[float, int, list[int], FloatArray, FloatArray, FloatArray]] = []
    position = 0
    while position < len(order) and len(evaluated) < problem.max_proposals * _SHORTLIST_PER_PROPOSAL:
        start = int(order[position])
        position += 1
        if not np.isfinite(approx[start]):
            break
        chosen = [int(i) for i in np.argsort(estimate[:, start], kind="stable")[:pick]]
        removed = np.zeros((len(problem.queues), problem.steps))
        window = _removed(problem, chosen)[:, start : start + width]
        removed[:, start : start + width] = window
        with_ = without.copy()
        span = slice(start, start + width)
        for q, load in enumerate(problem.queues):
            with_[q, span] = service_level(
                _slice(load, span), load.agents[span] - removed[q, span], problem.step_minutes
            )
        if ((removed[:, span] > 0) & (with_[:, span] < problem.floor - _TOLERANCE)).any():
            below_floor += 1
            continue
        late = float(((without[:, span] - with_[:, span]) * _volumes(problem)[:, span]).sum())
        evaluated.append((late, start, chosen, with_, removed, without))
    evaluated.sort(key=lambda item: (item[0], item[1]))
    taken: list[int] = []
    for _late, start, chosen, with_, removed, base in evaluated:
        if all(abs(start - other) >= width for other in taken):
            taken.append(start)
            proposals.append(_proposal(problem, start, chosen, base, with_, removed))
            if len(proposals) == problem.max_proposals:
                break
    return PlanningResult(tuple(proposals), int(open_starts.sum()), below_floor)


def _slice(load: QueueLoad, span: slice) -> QueueLoad:
    return QueueLoad(
        queue=load.queue,
        volumes=load.volumes[span],
        aht_seconds=load.aht_seconds[span],
        agents=load.agents[span],
        answer_seconds=load.answer_seconds,
        patience_seconds=load.patience_seconds,
    )
