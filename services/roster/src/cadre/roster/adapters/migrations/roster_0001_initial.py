"""Roster tables: org units and employees.

Revision ID: roster_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "roster_0001"
down_revision = None
branch_labels = ("roster",)
depends_on = None


def upgrade() -> None:
    # The tables as first released; later changes get revisions of their own.
    op.create_table(
        "org_units",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("parent_id", sa.String(36), nullable=True),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("site", sa.String(200), nullable=False),
        sa.Column("path", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_org_units_parent", "org_units", ["parent_id", "id"])
    op.create_index("ix_org_units_path", "org_units", ["path"])
    op.create_table(
        "employees",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("org_unit_id", sa.String(36), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("employment_type", sa.String(20), nullable=False),
        sa.Column("min_weekly_minutes", sa.Integer, nullable=False),
        sa.Column("max_weekly_minutes", sa.Integer, nullable=False),
        sa.Column("max_consecutive_days", sa.Integer, nullable=False),
        sa.Column("min_rest_minutes", sa.Integer, nullable=False),
        sa.Column("days_off_per_week", sa.Integer, nullable=False),
        sa.Column("skills", sa.Text, nullable=False),
        sa.Column("hire_date", sa.Date, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("employee_number", sa.String(64), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_employees_org_unit", "employees", ["org_unit_id", "id"])


def downgrade() -> None:
    op.drop_table("employees")
    op.drop_table("org_units")
