"""Long-running operations.

Revision ID: chassis_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "chassis_0002"
down_revision = "chassis_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chassis_operations",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("method", sa.String(200), nullable=False),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("metadata", sa.LargeBinary, nullable=False),
        sa.Column("response", sa.LargeBinary, nullable=True),
        sa.Column("error", sa.LargeBinary, nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_chassis_operations_done", "chassis_operations", ["done", "create_time"])


def downgrade() -> None:
    op.drop_table("chassis_operations")
