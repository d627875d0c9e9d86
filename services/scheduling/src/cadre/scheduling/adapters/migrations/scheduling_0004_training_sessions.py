"""The newest version seen of each training session, cancelled ones included (a tombstone).

Revision ID: scheduling_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "scheduling_0004"
down_revision = "scheduling_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "training_sessions",
        sa.Column("session", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("cancelled", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("session", name="pk_training_sessions"),
    )
    # Sessions held before this revision: their blocks carry the version that placed them. A
    # session cancelled before it left no trace, so none can be recorded here.
    op.execute(
        "INSERT INTO training_sessions (session, version, cancelled)"
        " SELECT session, MAX(version), false FROM training_blocks GROUP BY session"
    )


def downgrade() -> None:
    op.drop_table("training_sessions")
