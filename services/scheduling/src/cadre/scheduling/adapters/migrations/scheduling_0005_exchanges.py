"""Swaps across two published schedules keep the second schedule's version; a team's overtime
offers are listed by an index.

Revision ID: scheduling_0005
"""

import sqlalchemy as sa
from alembic import op

revision = "scheduling_0005"
down_revision = "scheduling_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "shift_swaps", sa.Column("partner_schedule_id", sa.String(36), nullable=False, server_default="")
    )
    op.create_index("ix_overtime_offers_unit", "overtime_offers", ["org_unit_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_overtime_offers_unit", table_name="overtime_offers")
    with op.batch_alter_table("shift_swaps") as table:  # SQLite drops a column by copying the table
        table.drop_column("partner_schedule_id")
