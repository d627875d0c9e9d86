"""Scheduling tables: queues, interval records, forecasts and requirements.

Revision ID: scheduling_0001
"""

from alembic import op

from cadre.scheduling.adapters import schema_0001

revision = "scheduling_0001"
down_revision = None
branch_labels = ("scheduling",)
depends_on = None


def upgrade() -> None:
    schema_0001.build().create_all(bind=op.get_bind())


def downgrade() -> None:
    schema_0001.build().drop_all(bind=op.get_bind())
