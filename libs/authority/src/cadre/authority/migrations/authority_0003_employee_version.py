"""The copy keeps roster's version of each person, so an older `employee.updated` arriving late
cannot put an old role back (a demoted administrator promoted again, R16).

Revision ID: authority_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "authority_0003"
down_revision = "authority_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # People copied before this revision count as roster's first version: the next update of
    # each is newer, and a late copy of an earlier one changes them no further than it did.
    op.add_column("authority_employees", sa.Column("version", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("authority_employees") as table:  # SQLite drops a column by copying the table
        table.drop_column("version")
