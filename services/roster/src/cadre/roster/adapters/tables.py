"""Roster's own tables."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Index, Integer, MetaData, String, Table, Text

from cadre.chassis.tables import UtcDateTime

metadata = MetaData()

org_units = Table(
    "org_units",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("parent_id", String(36), nullable=True),
    Column("time_zone", String(64), nullable=False),
    Column("site", String(200), nullable=False),
    # "/center/department/team/": a subtree is one LIKE prefix.
    Column("path", String(200), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
)
Index("ix_org_units_parent", org_units.c.parent_id, org_units.c.id)
Index("ix_org_units_path", org_units.c.path)

employees = Table(
    "employees",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("org_unit_id", String(36), nullable=False),
    Column("role", String(20), nullable=False),
    Column("employment_type", String(20), nullable=False),
    Column("min_weekly_minutes", Integer, nullable=False),
    Column("max_weekly_minutes", Integer, nullable=False),
    Column("max_consecutive_days", Integer, nullable=False),
    Column("min_rest_minutes", Integer, nullable=False),
    Column("days_off_per_week", Integer, nullable=False),
    Column("skills", Text, nullable=False),
    Column("hire_date", Date, nullable=False),
    Column("state", String(20), nullable=False),
    Column("employee_number", String(64), nullable=True, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("version", Integer, nullable=False),
    # Added by roster_0002.
    Column("availability", Text, nullable=False, server_default="[]"),
    Column("availability_exceptions", Text, nullable=False, server_default="[]"),
    Column("virtual_positions", Text, nullable=False, server_default="[]"),
    Column("seniority_date", Date, nullable=True),
    Column("termination_date", Date, nullable=True),
    # Added by roster_0003.
    Column("onboarding", Text, nullable=False, server_default="[]"),
    # Added by roster_0004.
    Column("scheduled_state", String(20), nullable=True),
    Column("scheduled_date", Date, nullable=True),
)
Index("ix_employees_scheduled", employees.c.scheduled_date)
Index("ix_employees_state_hire_date", employees.c.state, employees.c.hire_date)
Index("ix_employees_org_unit", employees.c.org_unit_id, employees.c.id)

transfers = Table(
    "transfers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("employee_id", String(36), nullable=False),
    Column("from_org_unit_id", String(36), nullable=False),
    Column("to_org_unit_id", String(36), nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("state", String(20), nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("rejection_reason", String(500), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
    Column("version", Integer, nullable=False),
)
Index("ix_transfers_due", transfers.c.state, transfers.c.effective_date)
Index("ix_transfers_employee", transfers.c.employee_id, transfers.c.id)

grants = Table(
    "grants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("grantee", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    Column("scope_path", String(200), nullable=False),
    Column("max_days", Integer, nullable=True),
    Column("max_minutes", Integer, nullable=True),
    Column("max_amount_minor", BigInteger, nullable=True),
    Column("valid_from", UtcDateTime(), nullable=False),
    Column("valid_until", UtcDateTime(), nullable=True),
    Column("parent_id", String(36), nullable=True),
    Column("depth", Integer, nullable=False),
    Column("granted_by", String(200), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    # Bumped on every change: readers reload their in-memory grant book when it moves.
    Column("change_seq", BigInteger, nullable=False),
)
Index("ix_grants_grantee", grants.c.grantee, grants.c.id)
Index("ix_grants_change_seq", grants.c.change_seq)
