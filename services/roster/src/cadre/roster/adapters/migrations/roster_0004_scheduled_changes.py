"""Lifecycle changes announced for a later date.

Revision ID: roster_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "roster_0004"
down_revision = "roster_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("employees") as table:
        table.add_column(sa.Column("scheduled_state", sa.String(20), nullable=True))
        table.add_column(sa.Column("scheduled_date", sa.Date, nullable=True))
    op.create_index("ix_employees_scheduled", "employees", ["scheduled_date"])


def downgrade() -> None:
    op.drop_index("ix_employees_scheduled", "employees")
    with op.batch_alter_table("employees") as table:
        table.drop_column("scheduled_date")
        table.drop_column("scheduled_state")
