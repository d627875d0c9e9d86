"""Scheduling tables: queues, interval records, forecasts and requirements.

Revision ID: scheduling_0001
"""

from alembic import op

from cadre.scheduling.adapters import tables

revision = "scheduling_0001"
down_revision = None
branch_labels = ("scheduling",)
depends_on = None


def upgrade() -> None:
    # The tables as first released; later changes get revisions of their own.
    tables.metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    tables.metadata.drop_all(bind=op.get_bind())
