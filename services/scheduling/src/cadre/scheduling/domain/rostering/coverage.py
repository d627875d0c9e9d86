"""Coverage of a schedule per queue and interval, and the service level it projects.

An agent counts for an interval while on shift for its queue and not on a break or lunch.
Intervals are the horizon's wall-clock slots (see ``problem.py``); a shift covers the slots
from its start slot for its length, and each activity the slots from the slot at its offset
from the shift start.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from cadre.scheduling.domain.rostering.problem import (
    Assignment,
    QueueCoverage,
    RosteringProblem,
    ShortInterval,
)
from cadre.staffing.erlang import erlang_c_metrics


def scheduled_agents(problem: RosteringProblem, assignments: Iterable[Assignment]) -> dict[str, np.ndarray]:
    horizon = problem.horizon
    step = horizon.interval_minutes
    n = horizon.intervals
    counts = {r.queue_id: np.zeros(n + 1, dtype=np.int64) for r in problem.requirements}
    for a in assignments:
        diff = counts.get(a.queue_id)
        if diff is None:
            continue
        day_index = (a.day - horizon.first_day).days
        first = day_index * horizon.intervals_per_day + a.start_minute // step
        length = int((a.end - a.start).total_seconds()) // 60 // step
        _add(diff, first, first + length, 1, n)
        for activity in a.activities:
            offset = int((activity.start - a.start).total_seconds()) // 60 // step
            slots = int((activity.end - activity.start).total_seconds()) // 60 // step
            _add(diff, first + offset, first + offset + slots, -1, n)
    return {q: np.cumsum(diff)[:n] for q, diff in counts.items()}


def _add(diff: np.ndarray, lo: int, hi: int, value: int, n: int) -> None:
    lo, hi = max(0, lo), min(n, hi)
    if lo < hi:
        diff[lo] += value
        diff[hi] -= value


def coverage_report(
    problem: RosteringProblem, assignments: Iterable[Assignment]
) -> tuple[tuple[QueueCoverage, ...], tuple[ShortInterval, ...]]:
    """Required vs scheduled per queue and interval (with projected service level where the
    requirement carries its load), and the intervals left short."""
    scheduled = scheduled_agents(problem, assignments)
    interval_seconds = problem.horizon.interval_minutes * 60
    report: list[QueueCoverage] = []
    short: list[ShortInterval] = []
    for requirement in problem.requirements:
        agents = scheduled[requirement.queue_id]
        service_level: tuple[float, ...] | None = None
        load = requirement.load
        if load is not None:
            net = agents * (1.0 - load.shrinkage)
            metrics = erlang_c_metrics(
                np.asarray(load.volume, dtype=np.float64),
                np.maximum(np.asarray(load.aht_seconds, dtype=np.float64), 1.0),
                interval_seconds,
                net,
                load.targets.answer_seconds,
            )
            service_level = tuple(round(float(v), 4) for v in metrics.service_level)
        report.append(
            QueueCoverage(
                queue_id=requirement.queue_id,
                required=requirement.required,
                scheduled=tuple(int(v) for v in agents),
                projected_service_level=service_level,
            )
        )
        for i, (req, got) in enumerate(zip(requirement.required, agents, strict=True)):
            if got < req:
                short.append(
                    ShortInterval(requirement.queue_id, problem.horizon.interval_start(i), req, int(got))
                )
    return tuple(report), tuple(short)
