"""The tables exactly as revision scheduling_0001 created them, frozen here so that later edits to
`tables.py` cannot change what that revision does on a database that already ran it
(a later change gets a revision of its own). `build` makes a new MetaData on each call, so
these copies never stand for the tables the code declares."""

# ruff: noqa: F841  (tables are named as in `tables.py`, though only some are referred to here)

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


def build() -> MetaData:
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
    Index(
        "ix_requirements_queue_newest", requirements.c.queue_id, requirements.c.created_at, requirements.c.id
    )
    Index("ix_requirements_forecast", requirements.c.forecast_id)
    return metadata
