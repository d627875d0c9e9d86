"""Projected service level of what a schedule puts on a queue, interval by interval.

Scheduled people are gross of shrinkage (the requirement's `scheduled_agents` is too), so the
agents answering are the scheduled ones times (1 − shrinkage), fractional: Erlang C accepts
real agent counts. Used for the coverage report and to show a leave request's impact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from cadre.scheduling.domain.schedule import Shift, coverage
from cadre.scheduling.domain.staffing import Requirement
from cadre.staffing.erlang import erlang_c_metrics


@dataclass(frozen=True)
class CoverageRow:
    queue_id: str
    start_time: datetime
    required: int
    scheduled: int
    projected_service_level: float

    @property
    def shortfall(self) -> int:
        return max(0, self.required - self.scheduled)


def interval_minutes(requirement: Requirement) -> int:
    starts = requirement.interval_starts
    return int((starts[1] - starts[0]).total_seconds() // 60) if len(starts) > 1 else 30


def projected_service_level(
    requirement: Requirement, indices: Sequence[int], scheduled: Sequence[float]
) -> list[float]:
    if not indices:
        return []
    s = requirement.staffing
    idx = np.asarray(indices, dtype=np.int64)
    net = np.asarray(scheduled, dtype=np.float64) * (1.0 - requirement.targets.shrinkage)
    metrics = erlang_c_metrics(
        s.volumes[idx],
        np.maximum(s.aht_seconds[idx], 1.0),
        interval_minutes(requirement) * 60.0,
        net,
        answer_seconds=requirement.targets.answer_seconds,
    )
    return [float(v) for v in metrics.service_level]


def indices_between(requirement: Requirement, start: datetime, end: datetime) -> list[int]:
    step = timedelta(minutes=interval_minutes(requirement))
    return [i for i, t in enumerate(requirement.interval_starts) if t < end and start < t + step]


def coverage_rows(
    requirement: Requirement, shifts: Sequence[Shift], start: datetime, end: datetime
) -> list[CoverageRow]:
    indices = indices_between(requirement, start, end)
    starts = [requirement.interval_starts[i] for i in indices]
    scheduled = coverage(shifts, requirement.queue_id, starts, interval_minutes(requirement))
    levels = projected_service_level(requirement, indices, scheduled)
    required = requirement.staffing.scheduled_agents
    return [
        CoverageRow(requirement.queue_id, t, int(required[i]), n, sl)
        for i, t, n, sl in zip(indices, starts, scheduled, levels, strict=True)
    ]
