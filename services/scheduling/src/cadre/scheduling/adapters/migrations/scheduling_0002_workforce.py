"""Roster projection, shift templates, schedules, leave, agent states and attendance.

Revision ID: scheduling_0002
"""

from alembic import op

from cadre.scheduling.adapters import schema_0002

revision = "scheduling_0002"
down_revision = "scheduling_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema_0002.build().create_all(bind=op.get_bind())


def downgrade() -> None:
    schema_0002.build().drop_all(bind=op.get_bind())
