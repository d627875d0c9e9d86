"""The onboarding checklist.

Revision ID: roster_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "roster_0003"
down_revision = "roster_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("employees") as table:
        table.add_column(sa.Column("onboarding", sa.Text, nullable=False, server_default="[]"))
    op.create_index("ix_employees_state_hire_date", "employees", ["state", "hire_date"])


def downgrade() -> None:
    op.drop_index("ix_employees_state_hire_date", "employees")
    with op.batch_alter_table("employees") as table:
        table.drop_column("onboarding")
