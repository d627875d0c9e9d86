"""Tables added after the first day-to-day release: shift swaps and overtime offers
(migration scheduling_0003; scheduling_0005 added the partner's schedule of a swap across two
published schedules and the offers' index for listing a team's)."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text

from cadre.chassis.tables import UtcDateTime

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
    Column("partner_schedule_id", String(36), nullable=False, server_default=""),
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
Index("ix_overtime_offers_unit", overtime_offers.c.org_unit_id, overtime_offers.c.id)
