"""Availability, virtual positions and lifecycle dates on employees; transfers; grants.

Revision ID: roster_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "roster_0002"
down_revision = "roster_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("employees") as table:
        table.add_column(sa.Column("availability", sa.Text, nullable=False, server_default="[]"))
        table.add_column(sa.Column("availability_exceptions", sa.Text, nullable=False, server_default="[]"))
        table.add_column(sa.Column("virtual_positions", sa.Text, nullable=False, server_default="[]"))
        table.add_column(sa.Column("seniority_date", sa.Date, nullable=True))
        table.add_column(sa.Column("termination_date", sa.Date, nullable=True))
    op.create_table(
        "transfers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("employee_id", sa.String(36), nullable=False),
        sa.Column("from_org_unit_id", sa.String(36), nullable=False),
        sa.Column("to_org_unit_id", sa.String(36), nullable=False),
        sa.Column("effective_date", sa.Date, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=False),
        sa.Column("rejection_reason", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_transfers_due", "transfers", ["state", "effective_date"])
    op.create_index("ix_transfers_employee", "transfers", ["employee_id", "id"])
    op.create_table(
        "grants",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("grantee", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("scope_path", sa.String(200), nullable=False),
        sa.Column("max_days", sa.Integer, nullable=True),
        sa.Column("max_minutes", sa.Integer, nullable=True),
        sa.Column("max_amount_minor", sa.BigInteger, nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parent_id", sa.String(36), nullable=True),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("granted_by", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_grants_grantee", "grants", ["grantee", "id"])
    op.create_index("ix_grants_change_seq", "grants", ["change_seq"])


def downgrade() -> None:
    op.drop_table("grants")
    op.drop_table("transfers")
    with op.batch_alter_table("employees") as table:
        for column in (
            "availability",
            "availability_exceptions",
            "virtual_positions",
            "seniority_date",
            "termination_date",
        ):
            table.drop_column(column)
