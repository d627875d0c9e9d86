"""Scheduling's own tables.

Forecast and requirement intervals are stored as one binary column each (a NumPy structured
array, little-endian, the layouts in `interval_arrays.py`), not as a child table: they are
always written and read whole, never queried one interval at a time, and a four-week
forecast of 15-minute intervals is 2,688 of them — one 64 KB value instead of 2,688 rows to
insert, index and read back. Interval history, which is imported, replaced and listed by
time, is a table with one row per interval.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from cadre.chassis.tables import UtcDateTime

metadata = MetaData()

queues = Table(
    "queues",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("service_level", Double, nullable=False),
    Column("answer_seconds", Double, nullable=False),
    Column("asa_target_seconds", Double, nullable=False),
    Column("max_occupancy", Double, nullable=False),
    Column("shrinkage", Double, nullable=False),
    Column("interval_minutes", Integer, nullable=False),
    Column("time_zone", String(64), nullable=False),
    # [[iso weekday, open minute, close minute], ...]; [] is around the clock.
    Column("opening_hours", Text, nullable=False),
    Column("patience_seconds", Double, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
)

interval_records = Table(
    "interval_records",
    metadata,
    Column("queue_id", String(36), ForeignKey("queues.id", ondelete="CASCADE"), nullable=False),
    Column("start_time", UtcDateTime(), nullable=False),
    Column("offered", Integer, nullable=False),
    Column("handled", Integer, nullable=False),
    Column("abandoned", Integer, nullable=False),
    Column("aht_seconds", Double, nullable=False),
    # One row per queue and interval: a re-import replaces, never doubles.
    PrimaryKeyConstraint("queue_id", "start_time", name="pk_interval_records"),
)

forecasts = Table(
    "forecasts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("queue_id", String(36), ForeignKey("queues.id", ondelete="CASCADE"), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("days", Integer, nullable=False),
    Column("method", String(100), nullable=False),
    # JSON: the fitted parameters, profiles and options that reproduce the numbers.
    Column("parameters", Text, nullable=False),
    Column("holdout_weeks", Integer, nullable=False),
    Column("interval_wape", Double, nullable=True),
    Column("daily_wape", Double, nullable=True),
    Column("interval_count", Integer, nullable=False),
    Column("intervals", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
Index("ix_forecasts_queue_newest", forecasts.c.queue_id, forecasts.c.created_at, forecasts.c.id)

requirements = Table(
    "requirements",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("queue_id", String(36), ForeignKey("queues.id", ondelete="CASCADE"), nullable=False),
    Column("forecast_id", String(36), ForeignKey("forecasts.id", ondelete="CASCADE"), nullable=False),
    Column("model", String(20), nullable=False),
    # The queue's targets when it was computed.
    Column("service_level", Double, nullable=False),
    Column("answer_seconds", Double, nullable=False),
    Column("asa_target_seconds", Double, nullable=False),
    Column("max_occupancy", Double, nullable=False),
    Column("shrinkage", Double, nullable=False),
    Column("patience_seconds", Double, nullable=False),
    Column("interval_count", Integer, nullable=False),
    Column("intervals", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
Index("ix_requirements_queue_newest", requirements.c.queue_id, requirements.c.created_at, requirements.c.id)
Index("ix_requirements_forecast", requirements.c.forecast_id)
