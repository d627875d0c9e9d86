"""Performance's roster copy keeps roster's version of each person, so an older
`employee.updated` arriving late changes nothing.

Revision ID: performance_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "performance_0002"
down_revision = "performance_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # People copied before this revision count as roster's first version: the next update of
    # each is newer, and a late copy of an earlier one changes them no further than it did.
    op.add_column("perf_employees", sa.Column("version", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("perf_employees") as table:  # SQLite drops a column by copying the table
        table.drop_column("version")
