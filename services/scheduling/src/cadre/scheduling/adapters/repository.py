"""Scheduling repositories over SQLAlchemy Core. They never commit: the unit of work does."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from google.protobuf import json_format
from sqlalchemy import Connection, Row, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cadre.chassis.db import UnitOfWork
from cadre.scheduling.adapters import event_mapping
from cadre.scheduling.adapters import interval_arrays as arrays
from cadre.scheduling.adapters import proto_mapping as m
from cadre.scheduling.adapters.tables import forecasts, interval_records, queues, requirements
from cadre.scheduling.app.ports import NewestFirstCursor
from cadre.scheduling.domain.events import SchedulingEvent
from cadre.scheduling.domain.forecasting import Backtest, Forecast
from cadre.scheduling.domain.history import IntervalRecord
from cadre.scheduling.domain.queue import OpeningHours, Queue, QueueSettings
from cadre.scheduling.domain.staffing import (
    Achieved,
    Requirement,
    Staffing,
    StaffingModel,
    StaffingTargets,
)

IMPORT_AUDIT = "scheduling.interval_records.imported"
# Rows per executemany call of an upsert: large enough to amortize the round trip,
# small enough to keep one statement's parameters modest on both databases.
_UPSERT_CHUNK = 5_000
_NO_FLOATS = np.empty(0, dtype=np.float64)
_NO_INTS = np.empty(0, dtype=np.int64)


def _newest_first(table: Any, queue_id: str, after: NewestFirstCursor | None, limit: int) -> Any:
    query = (
        select(*(c for c in table.c if c.name != "intervals"))
        .where(table.c.queue_id == queue_id)
        .order_by(table.c.created_at.desc(), table.c.id.desc())
        .limit(limit)
    )
    if after is not None:
        created, last_id = after
        query = query.where(
            or_(table.c.created_at < created, and_(table.c.created_at == created, table.c.id < last_id))
        )
    return query


# ---------------------------------------------------------------- queues


def _queue_from_row(row: Row) -> Queue:
    return Queue(
        id=row.id,
        settings=QueueSettings(
            display_name=row.display_name,
            service_level=row.service_level,
            answer_seconds=row.answer_seconds,
            asa_target_seconds=row.asa_target_seconds,
            max_occupancy=row.max_occupancy,
            shrinkage=row.shrinkage,
            interval_minutes=row.interval_minutes,
            time_zone=row.time_zone,
            opening_hours=tuple(OpeningHours(*window) for window in json.loads(row.opening_hours)),
            patience_seconds=row.patience_seconds,
        ),
        created_at=row.created_at,
        version=row.version,
    )


def _queue_values(queue: Queue) -> dict[str, Any]:
    s = queue.settings
    return {
        "display_name": s.display_name,
        "service_level": s.service_level,
        "answer_seconds": s.answer_seconds,
        "asa_target_seconds": s.asa_target_seconds,
        "max_occupancy": s.max_occupancy,
        "shrinkage": s.shrinkage,
        "interval_minutes": s.interval_minutes,
        "time_zone": s.time_zone,
        "opening_hours": json.dumps([[h.weekday, h.open_minute, h.close_minute] for h in s.opening_hours]),
        "patience_seconds": s.patience_seconds,
        "version": queue.version,
    }


class SqlQueues:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, queue_id: str, *, for_update: bool = False) -> Queue | None:
        query = select(queues).where(queues.c.id == queue_id)
        if for_update:
            query = query.with_for_update()  # PostgreSQL; SQLite's writers are serialized anyway
        row = self._c.execute(query).first()
        return _queue_from_row(row) if row else None

    def add(self, queue: Queue) -> None:
        self._c.execute(
            insert(queues).values(id=queue.id, created_at=queue.created_at, **_queue_values(queue))
        )

    def replace(self, queue: Queue, *, previous_version: int) -> bool:
        result = self._c.execute(
            update(queues)
            .where(queues.c.id == queue.id, queues.c.version == previous_version)
            .values(**_queue_values(queue))
        )
        return result.rowcount == 1

    def delete(self, queue_id: str) -> None:
        # Children first and explicitly, rather than trusting every connection to enforce
        # ON DELETE CASCADE (SQLite only does with its foreign_keys pragma on).
        for table in (requirements, forecasts, interval_records):
            self._c.execute(delete(table).where(table.c.queue_id == queue_id))
        self._c.execute(delete(queues).where(queues.c.id == queue_id))

    def list(self, *, after: str | None, limit: int) -> Sequence[Queue]:
        query = select(queues).order_by(queues.c.id).limit(limit)
        if after:
            query = query.where(queues.c.id > after)
        return [_queue_from_row(row) for row in self._c.execute(query)]


# ---------------------------------------------------------------- interval history


def _upsert_statement(dialect: str) -> Any:
    """INSERT … ON CONFLICT (queue, interval) DO UPDATE, in the dialect's own syntax."""
    if dialect == "postgresql":
        statement: Any = postgresql.insert(interval_records)
    elif dialect == "sqlite":
        statement = sqlite.insert(interval_records)
    else:
        raise NotImplementedError(f"no interval upsert for the {dialect} dialect")
    return statement.on_conflict_do_update(
        index_elements=[interval_records.c.queue_id, interval_records.c.start_time],
        set_={name: statement.excluded[name] for name in ("offered", "handled", "abandoned", "aht_seconds")},
    )


def _record_from_row(row: Row) -> IntervalRecord:
    return IntervalRecord(
        start_time=row.start_time,
        offered=row.offered,
        handled=row.handled,
        abandoned=row.abandoned,
        aht_seconds=row.aht_seconds,
    )


class SqlIntervalRecords:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def span(self, queue_id: str) -> tuple[datetime | None, datetime | None]:
        first, last = self._c.execute(
            select(func.min(interval_records.c.start_time), func.max(interval_records.c.start_time)).where(
                interval_records.c.queue_id == queue_id
            )
        ).one()
        return (first, last)

    def existing_starts(self, queue_id: str, starts: Collection[datetime]) -> set[datetime]:
        # One range scan over the primary key, then the exact match here: no 50,000-item IN list.
        if not starts:
            return set()
        stored = self._c.execute(
            select(interval_records.c.start_time).where(
                interval_records.c.queue_id == queue_id,
                interval_records.c.start_time.between(min(starts), max(starts)),
            )
        ).scalars()
        return set(stored) & set(starts)

    def upsert(self, queue_id: str, records: Sequence[IntervalRecord]) -> None:
        statement = _upsert_statement(self._c.dialect.name)
        rows = [
            {
                "queue_id": queue_id,
                "start_time": r.start_time,
                "offered": r.offered,
                "handled": r.handled,
                "abandoned": r.abandoned,
                "aht_seconds": r.aht_seconds,
            }
            for r in records
        ]
        for first in range(0, len(rows), _UPSERT_CHUNK):
            self._c.execute(statement, rows[first : first + _UPSERT_CHUNK])

    def list(
        self,
        queue_id: str,
        *,
        start: datetime | None,
        end: datetime | None,
        after: datetime | None,
        limit: int | None,
    ) -> Sequence[IntervalRecord]:
        c = interval_records.c
        query = select(interval_records).where(c.queue_id == queue_id).order_by(c.start_time)
        if start is not None:
            query = query.where(c.start_time >= start)
        if end is not None:
            query = query.where(c.start_time < end)
        if after is not None:
            query = query.where(c.start_time > after)
        if limit is not None:
            query = query.limit(limit)
        return [_record_from_row(row) for row in self._c.execute(query)]


# ---------------------------------------------------------------- forecasts


def _forecast_from_row(row: Row, *, with_intervals: bool) -> Forecast:
    backtest = Backtest(row.holdout_weeks, row.interval_wape, row.daily_wape) if row.holdout_weeks else None
    starts: tuple[datetime, ...] = ()
    volumes, aht = _NO_FLOATS, _NO_FLOATS
    if with_intervals:
        table = arrays.unpack(arrays.FORECAST_LAYOUT, row.intervals)
        starts, volumes, aht = arrays.instants(table["start"]), table["volume"], table["aht_seconds"]
    return Forecast(
        id=row.id,
        queue_id=row.queue_id,
        start_date=row.start_date,
        days=row.days,
        method=row.method,
        parameters=json.loads(row.parameters),
        backtest=backtest,
        interval_starts=starts,
        volumes=np.asarray(volumes, dtype=np.float64),
        aht_seconds=np.asarray(aht, dtype=np.float64),
        created_at=row.created_at,
    )


class SqlForecasts:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, queue_id: str, forecast_id: str) -> Forecast | None:
        row = self._c.execute(
            select(forecasts).where(forecasts.c.id == forecast_id, forecasts.c.queue_id == queue_id)
        ).first()
        return _forecast_from_row(row, with_intervals=True) if row else None

    def add(self, forecast: Forecast) -> None:
        backtest = forecast.backtest
        self._c.execute(
            insert(forecasts).values(
                id=forecast.id,
                queue_id=forecast.queue_id,
                start_date=forecast.start_date,
                days=forecast.days,
                method=forecast.method,
                parameters=json.dumps(forecast.parameters, sort_keys=True),
                holdout_weeks=backtest.holdout_weeks if backtest else 0,
                interval_wape=backtest.interval_wape if backtest else None,
                daily_wape=backtest.daily_wape if backtest else None,
                interval_count=len(forecast.interval_starts),
                intervals=arrays.pack(
                    arrays.FORECAST_LAYOUT,
                    {
                        "start": arrays.epoch_seconds(forecast.interval_starts),
                        "volume": forecast.volumes,
                        "aht_seconds": forecast.aht_seconds,
                    },
                ),
                created_at=forecast.created_at,
            )
        )

    def list(self, queue_id: str, *, after: NewestFirstCursor | None, limit: int) -> Sequence[Forecast]:
        rows = self._c.execute(_newest_first(forecasts, queue_id, after, limit))
        return [_forecast_from_row(row, with_intervals=False) for row in rows]


# ---------------------------------------------------------------- requirements


def _requirement_from_row(row: Row, *, with_intervals: bool) -> Requirement:
    targets = StaffingTargets(
        service_level=row.service_level,
        answer_seconds=row.answer_seconds,
        asa_target_seconds=row.asa_target_seconds,
        max_occupancy=row.max_occupancy,
        shrinkage=row.shrinkage,
        patience_seconds=row.patience_seconds,
    )
    if with_intervals:
        t = arrays.unpack(arrays.REQUIREMENT_LAYOUT, row.intervals)
        starts = arrays.instants(t["start"])
        columns = {name: np.array(t[name]) for name in arrays.REQUIREMENT_LAYOUT.names or ()}
    else:
        starts = ()
        columns = {
            name: (_NO_INTS if name in ("start", "agents", "scheduled_agents") else _NO_FLOATS)
            for name in arrays.REQUIREMENT_LAYOUT.names or ()
        }
    staffing = Staffing(
        volumes=columns["volume"],
        aht_seconds=columns["aht_seconds"],
        agents=columns["agents"].astype(np.int64),
        scheduled_agents=columns["scheduled_agents"].astype(np.int64),
        fractional_agents=columns["fractional_agents"],
        achieved=Achieved(
            service_level=columns["service_level"],
            asa_seconds=columns["asa_seconds"],
            occupancy=columns["occupancy"],
            wait_probability=columns["wait_probability"],
            abandon_rate=columns["abandon_rate"],
        ),
    )
    return Requirement(
        id=row.id,
        queue_id=row.queue_id,
        forecast_id=row.forecast_id,
        model=StaffingModel(row.model),
        targets=targets,
        interval_starts=starts,
        staffing=staffing,
        created_at=row.created_at,
    )


class SqlRequirements:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, queue_id: str, requirement_id: str) -> Requirement | None:
        row = self._c.execute(
            select(requirements).where(
                requirements.c.id == requirement_id, requirements.c.queue_id == queue_id
            )
        ).first()
        return _requirement_from_row(row, with_intervals=True) if row else None

    def add(self, requirement: Requirement) -> None:
        s, a, t = requirement.staffing, requirement.staffing.achieved, requirement.targets
        self._c.execute(
            insert(requirements).values(
                id=requirement.id,
                queue_id=requirement.queue_id,
                forecast_id=requirement.forecast_id,
                model=requirement.model.value,
                service_level=t.service_level,
                answer_seconds=t.answer_seconds,
                asa_target_seconds=t.asa_target_seconds,
                max_occupancy=t.max_occupancy,
                shrinkage=t.shrinkage,
                patience_seconds=t.patience_seconds,
                interval_count=len(requirement.interval_starts),
                intervals=arrays.pack(
                    arrays.REQUIREMENT_LAYOUT,
                    {
                        "start": arrays.epoch_seconds(requirement.interval_starts),
                        "volume": s.volumes,
                        "aht_seconds": s.aht_seconds,
                        "agents": s.agents,
                        "scheduled_agents": s.scheduled_agents,
                        "fractional_agents": s.fractional_agents,
                        "service_level": a.service_level,
                        "asa_seconds": a.asa_seconds,
                        "occupancy": a.occupancy,
                        "wait_probability": a.wait_probability,
                        "abandon_rate": a.abandon_rate,
                    },
                ),
                created_at=requirement.created_at,
            )
        )

    def list(self, queue_id: str, *, after: NewestFirstCursor | None, limit: int) -> Sequence[Requirement]:
        rows = self._c.execute(_newest_first(requirements, queue_id, after, limit))
        return [_requirement_from_row(row, with_intervals=False) for row in rows]


# ---------------------------------------------------------------- units


class SqlSchedulingReads:
    """The repositories over one connection (a read snapshot, or a unit of work's)."""

    def __init__(self, connection: Connection) -> None:
        self.queues = SqlQueues(connection)
        self.records = SqlIntervalRecords(connection)
        self.forecasts = SqlForecasts(connection)
        self.requirements = SqlRequirements(connection)


class SqlSchedulingUnit(SqlSchedulingReads):
    """Scheduling's view of one chassis unit of work."""

    def __init__(self, unit: UnitOfWork) -> None:
        super().__init__(unit.connection)
        self._unit = unit

    def record(self, event: SchedulingEvent) -> None:
        event_type, entity, payload = event_mapping.to_message(event)
        self._unit.publish(event_type=event_type, entity=entity, payload=payload)
        self._unit.audit(action=event_type, entity=entity, before=None, after=event_mapping.audit_view(event))

    def audit_queue(self, *, action: str, before: Queue | None, after: Queue | None) -> None:
        queue = after or before
        assert queue is not None
        self._unit.audit(
            action=action,
            entity=m.queue_name(queue.id),
            before=json_format.MessageToDict(m.queue_to_proto(before)) if before else None,
            after=json_format.MessageToDict(m.queue_to_proto(after)) if after else None,
        )

    def audit_import(self, *, queue: Queue, inserted: int, replaced: int) -> None:
        self._unit.audit(
            action=IMPORT_AUDIT,
            entity=m.queue_name(queue.id),
            before=None,
            after={"inserted": inserted, "replaced": replaced},
        )
