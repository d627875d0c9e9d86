"""Roster's own tables."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Index, Integer, MetaData, String, Table, Text

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
    Column("created_at", DateTime(timezone=True), nullable=False),
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
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
)
Index("ix_employees_org_unit", employees.c.org_unit_id, employees.c.id)
