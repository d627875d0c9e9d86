"""Roster projection, shift templates, schedules, leave, agent states and attendance.

Revision ID: scheduling_0002
"""

from alembic import op

from cadre.scheduling.adapters import workforce_tables

revision = "scheduling_0002"
down_revision = "scheduling_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The tables as first released; later changes get revisions of their own.
    workforce_tables.metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    workforce_tables.metadata.drop_all(bind=op.get_bind())
