"""Staffing requirements: agents per interval of a forecast to meet a queue's targets.

The queueing math is `erlang.py`, vectorized over all intervals at once; this module picks the
model, applies opening hours (a closed queue needs nobody, whatever traffic the history
trickled in), and keeps with each requirement the targets it was computed for, since the
queue's may change afterwards.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from cadre.chassis.errors import failed_precondition
from cadre.scheduling.domain.forecasting import Forecast
from cadre.scheduling.domain.queue import Queue
from cadre.staffing import erlang

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class StaffingModel(enum.Enum):
    ERLANG_C = "ERLANG_C"  # nobody abandons
    ERLANG_A = "ERLANG_A"  # callers abandon after an exponential patience


@dataclass(frozen=True)
class StaffingTargets:
    """The queue settings a requirement is computed with (patience 0 under Erlang C)."""

    service_level: float
    answer_seconds: float
    asa_target_seconds: float
    max_occupancy: float
    shrinkage: float
    patience_seconds: float

    @property
    def queue_targets(self) -> erlang.QueueTargets:
        return erlang.QueueTargets(
            service_level=self.service_level,
            answer_seconds=self.answer_seconds,
            max_occupancy=self.max_occupancy or None,
            asa_seconds=self.asa_target_seconds or None,
        )


@dataclass(frozen=True, eq=False)
class Achieved:
    """What a number of agents achieves per interval."""

    service_level: FloatArray
    asa_seconds: FloatArray
    occupancy: FloatArray
    wait_probability: FloatArray
    abandon_rate: FloatArray


@dataclass(frozen=True, eq=False)
class Staffing:
    """Per interval: the load, the agents it needs (net and gross of shrinkage) and what they achieve."""

    volumes: FloatArray
    aht_seconds: FloatArray
    agents: IntArray
    scheduled_agents: IntArray
    fractional_agents: FloatArray
    achieved: Achieved


@dataclass(frozen=True, eq=False)
class Requirement:
    id: str
    queue_id: str
    forecast_id: str
    model: StaffingModel
    targets: StaffingTargets
    interval_starts: tuple[datetime, ...]
    staffing: Staffing
    created_at: datetime


def choose_model(requested: StaffingModel | None, queue: Queue) -> StaffingModel:
    """Erlang A where the queue knows its callers' patience (unless Erlang C is asked for)."""
    patience = queue.settings.patience_seconds
    if requested is StaffingModel.ERLANG_A and patience <= 0:
        raise failed_precondition(
            "PATIENCE_UNKNOWN",
            "Erlang A needs the queue's average patience (queue.patience_seconds); set it or use Erlang C",
            queue=queue.id,
        )
    if requested is not None:
        return requested
    return StaffingModel.ERLANG_A if patience > 0 else StaffingModel.ERLANG_C


def targets_of(queue: Queue, model: StaffingModel) -> StaffingTargets:
    s = queue.settings
    return StaffingTargets(
        service_level=s.service_level,
        answer_seconds=s.answer_seconds,
        asa_target_seconds=s.asa_target_seconds,
        max_occupancy=s.max_occupancy,
        shrinkage=s.shrinkage,
        patience_seconds=s.patience_seconds if model is StaffingModel.ERLANG_A else 0.0,
    )


def open_volumes(queue: Queue, starts: tuple[datetime, ...], volumes: FloatArray) -> FloatArray:
    """The forecast volumes with the intervals the queue is closed in set to zero."""
    if not queue.settings.opening_hours:
        return volumes
    zone = queue.zone
    is_open = np.fromiter((queue.is_open(s.astimezone(zone)) for s in starts), dtype=bool, count=len(starts))
    return np.where(is_open, volumes, 0.0)


def usable_aht(aht_seconds: FloatArray, volumes: FloatArray) -> FloatArray:
    """The Erlang math wants AHT > 0 everywhere; where nothing is expected any AHT will do."""
    return np.where(aht_seconds > 0, aht_seconds, np.where(volumes > 0, np.nan, 1.0))


def _achieved(metrics: erlang.ErlangCMetrics | erlang.ErlangAMetrics) -> Achieved:
    abandon = (
        metrics.abandonment_probability
        if isinstance(metrics, erlang.ErlangAMetrics)
        else np.zeros_like(metrics.service_level)
    )
    return Achieved(
        service_level=metrics.service_level,
        asa_seconds=metrics.asa_seconds,
        occupancy=metrics.occupancy,
        wait_probability=metrics.wait_probability,
        abandon_rate=abandon,
    )


def achieved_by(
    agents: IntArray,
    *,
    volumes: FloatArray,
    aht_seconds: FloatArray,
    interval_seconds: int,
    model: StaffingModel,
    targets: StaffingTargets,
) -> Achieved:
    """What a given number of agents per interval achieves (e.g. a staffing plan)."""
    aht = usable_aht(aht_seconds, volumes)
    if model is StaffingModel.ERLANG_A:
        return _achieved(
            erlang.erlang_a_metrics(
                volumes, aht, targets.patience_seconds, interval_seconds, agents, targets.answer_seconds
            )
        )
    return _achieved(erlang.erlang_c_metrics(volumes, aht, interval_seconds, agents, targets.answer_seconds))


def staffing_for(
    *,
    volumes: FloatArray,
    aht_seconds: FloatArray,
    interval_seconds: int,
    model: StaffingModel,
    targets: StaffingTargets,
) -> Staffing:
    """The smallest agents meeting every target per interval, net and gross, with what they achieve."""
    aht = usable_aht(aht_seconds, volumes)
    try:
        result = erlang.staffing_requirement(
            volumes,
            aht,
            interval_seconds,
            targets.queue_targets,
            shrinkage=targets.shrinkage,
            patience_seconds=targets.patience_seconds if model is StaffingModel.ERLANG_A else None,
        )
    except ValueError as error:
        raise failed_precondition("STAFFING_NOT_COMPUTABLE", f"cannot compute staffing: {error}") from None
    return Staffing(
        volumes=np.asarray(volumes, dtype=np.float64),
        aht_seconds=aht,
        agents=result.net_agents,
        scheduled_agents=result.gross_agents,
        fractional_agents=result.fractional_net_agents,
        achieved=_achieved(result.metrics),
    )


def new_requirement(
    *,
    requirement_id: str,
    queue: Queue,
    forecast: Forecast,
    requested_model: StaffingModel | None,
    now: datetime,
) -> Requirement:
    model = choose_model(requested_model, queue)
    targets = targets_of(queue, model)
    staffing = staffing_for(
        volumes=open_volumes(queue, forecast.interval_starts, forecast.volumes),
        aht_seconds=forecast.aht_seconds,
        interval_seconds=queue.interval_seconds,
        model=model,
        targets=targets,
    )
    return Requirement(
        id=requirement_id,
        queue_id=queue.id,
        forecast_id=forecast.id,
        model=model,
        targets=targets,
        interval_starts=forecast.interval_starts,
        staffing=staffing,
        created_at=now,
    )
