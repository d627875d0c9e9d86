"""Tables of the day-to-day side: the roster projection, shift templates, schedules, leave,
agent states and attendance.

A separate `MetaData` from `tables.py`, so the first migration keeps creating exactly what it
first released and `scheduling_0002` creates these (`training_sessions` came with
`scheduling_0004`).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Double,
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

# ---------------------------------------------------------------- roster projection

teams = Table(
    "roster_org_units",
    metadata,
    Column("id", String(36), primary_key=True),
    # "/root/.../id/": a subtree is a prefix.
    Column("path", String(400), nullable=False),
    Column("time_zone", String(64), nullable=False),
)

people = Table(
    "roster_employees",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("role", Integer, nullable=False),
    Column("state", Integer, nullable=False),
    Column("employment_type", Integer, nullable=False),
    # JSON documents: always read whole with the person, never queried inside.
    Column("contract", Text, nullable=False),
    Column("skills", Text, nullable=False),
    Column("availability", Text, nullable=False),
    Column("virtual_positions", Text, nullable=False),
    Column("hire_date", Date, nullable=True),
    # Roster's version of the record (the hire is 1): older `employee.updated` arriving late
    # change nothing (scheduling_0006).
    Column("version", Integer, nullable=False, server_default="1"),
)

# A person's team from a date on: transfers count from their effective date, so a schedule
# for next month sees who will be in the team then.
memberships = Table(
    "roster_memberships",
    metadata,
    Column("employee_id", String(36), nullable=False),
    Column("from_date", Date, nullable=False),
    Column("org_unit_id", String(36), nullable=False),
    PrimaryKeyConstraint("employee_id", "from_date", name="pk_roster_memberships"),
)
Index("ix_roster_memberships_unit", memberships.c.org_unit_id)

# Training sessions that take people off the floor (CADRE_TRAINING, when it exists).
training_blocks = Table(
    "training_blocks",
    metadata,
    Column("session", String(200), nullable=False),
    Column("employee_id", String(36), nullable=False),
    Column("start_time", UtcDateTime(), nullable=False),
    Column("end_time", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("session", "employee_id", "start_time", name="pk_training_blocks"),
)
Index("ix_training_blocks_employee", training_blocks.c.employee_id, training_blocks.c.start_time)

# The newest version seen of each session, kept after a cancellation removed its blocks, so
# a late older `session.scheduled` cannot bring them back (scheduling_0004).
training_sessions = Table(
    "training_sessions",
    metadata,
    Column("session", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("cancelled", Boolean, nullable=False),
    PrimaryKeyConstraint("session", name="pk_training_sessions"),
)

# ---------------------------------------------------------------- templates and schedules

shift_templates = Table(
    "shift_templates",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_unit_id", String(36), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("earliest_start_minute", Integer, nullable=False),
    Column("latest_start_minute", Integer, nullable=False),
    Column("start_step_minutes", Integer, nullable=False),
    Column("length_minutes", Integer, nullable=False),
    Column("breaks", Text, nullable=False),
    Column("employment_types", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
)
Index("ix_shift_templates_unit", shift_templates.c.org_unit_id, shift_templates.c.id)

schedules = Table(
    "schedules",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_unit_id", String(36), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("days", Integer, nullable=False),
    Column("queues", Text, nullable=False),
    Column("state", String(20), nullable=False),
    Column("publication", Integer, nullable=False),
    Column("base_schedule_id", String(36), nullable=True),
    # JSON list of shifts: written and read whole.
    Column("shifts", LargeBinary, nullable=False),
    Column("objective", Double, nullable=False),
    Column("lower_bound", Double, nullable=False),
    Column("optimal", Boolean, nullable=False),
    Column("unmet_rules", Text, nullable=False),
    Column("changed_assignments", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("published_at", UtcDateTime(), nullable=True),
    Column("version", Integer, nullable=False),
)
Index("ix_schedules_unit_newest", schedules.c.org_unit_id, schedules.c.created_at, schedules.c.id)

# ---------------------------------------------------------------- leave

leave_requests = Table(
    "leave_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("employee_id", String(36), nullable=False),
    Column("leave_type", String(40), nullable=False),
    Column("start_time", UtcDateTime(), nullable=False),
    Column("end_time", UtcDateTime(), nullable=False),
    Column("paid", Boolean, nullable=False),
    Column("state", String(20), nullable=False),
    Column("days", Integer, nullable=False),
    Column("minutes", Integer, nullable=False),
    # JSON: [[day iso, minutes], ...] and the staffing impact shown to the approver.
    Column("day_minutes", Text, nullable=False),
    Column("impact", Text, nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("version", Integer, nullable=False),
)
Index("ix_leave_requests_employee", leave_requests.c.employee_id, leave_requests.c.id)

leave_balances = Table(
    "leave_balances",
    metadata,
    Column("employee_id", String(36), nullable=False),
    Column("leave_type", String(40), nullable=False),
    Column("remaining_minutes", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    PrimaryKeyConstraint("employee_id", "leave_type", name="pk_leave_balances"),
)

# ---------------------------------------------------------------- intraday

# One row per (agent, moment): a state sent again is the same row, never a second one.
agent_states = Table(
    "agent_states",
    metadata,
    Column("employee_id", String(36), nullable=False),
    Column("time", UtcDateTime(), nullable=False),
    Column("state", Integer, nullable=False),
    PrimaryKeyConstraint("employee_id", "time", name="pk_agent_states"),
)

daily_attendance = Table(
    "daily_attendance",
    metadata,
    Column("employee_id", String(36), nullable=False),
    Column("work_date", Date, nullable=False),
    Column("org_unit_id", String(36), nullable=False),
    Column("scheduled_minutes", Integer, nullable=False),
    Column("adherent_minutes", Integer, nullable=False),
    Column("worked_minutes", Integer, nullable=False),
    Column("training_minutes", Integer, nullable=False),
    Column("overtime_minutes", Integer, nullable=False),
    Column("work_day", Boolean, nullable=False),
    Column("revision", Integer, nullable=False),
    PrimaryKeyConstraint("employee_id", "work_date", name="pk_daily_attendance"),
)
