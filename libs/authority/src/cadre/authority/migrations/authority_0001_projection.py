"""The local copy of roster's authority facts.

Revision ID: authority_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "authority_0001"
down_revision = None
branch_labels = ("authority",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authority_org_units",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("path", sa.String(200), nullable=False),
    )
    op.create_table(
        "authority_employees",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("org_unit_id", sa.String(36), nullable=False),
        sa.Column("role", sa.Integer, nullable=False),
        sa.Column("state", sa.Integer, nullable=False),
    )
    op.create_table(
        "authority_grants",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("grantee", sa.String(200), nullable=False),
        sa.Column("action", sa.Integer, nullable=False),
        sa.Column("scope_path", sa.String(200), nullable=False),
        sa.Column("max_days", sa.Integer, nullable=True),
        sa.Column("max_minutes", sa.Integer, nullable=True),
        sa.Column("max_amount_minor", sa.BigInteger, nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parent_id", sa.String(36), nullable=True),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    for table in ("authority_grants", "authority_employees", "authority_org_units"):
        op.drop_table(table)
