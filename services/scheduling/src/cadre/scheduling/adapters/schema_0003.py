"""The tables exactly as revision scheduling_0003 created them, frozen here so that later edits to
`exchange_tables.py` cannot change what that revision does on a database that already ran it
(a later change gets a revision of its own). `build` makes a new MetaData on each call, so
these copies never stand for the tables the code declares."""

# ruff: noqa: F841  (tables are named as in `exchange_tables.py`, though only some are referred to here)

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text

from cadre.chassis.tables import UtcDateTime


def build() -> MetaData:
    metadata = MetaData()

    shift_swaps = Table(
        "shift_swaps",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("org_unit_id", String(36), nullable=False),
        Column("requester_id", String(36), nullable=False),
        Column("requester_shift_start", UtcDateTime(), nullable=False),
        Column("partner_id", String(36), nullable=False),
        Column("partner_shift_start", UtcDateTime(), nullable=False),
        Column("state", String(20), nullable=False),
        Column("decided_by", String(200), nullable=False),
        Column("schedule_id", String(36), nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("version", Integer, nullable=False),
    )
    Index("ix_shift_swaps_unit", shift_swaps.c.org_unit_id, shift_swaps.c.id)

    overtime_offers = Table(
        "overtime_offers",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("org_unit_id", String(36), nullable=False),
        Column("queue_id", String(36), nullable=False),
        Column("start_time", UtcDateTime(), nullable=False),
        Column("end_time", UtcDateTime(), nullable=False),
        Column("eligible", Text, nullable=False),
        Column("state", String(20), nullable=False),
        Column("authorized_by", String(200), nullable=False),
        Column("accepted_by", String(36), nullable=False),
        Column("schedule_id", String(36), nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("version", Integer, nullable=False),
    )
    return metadata
