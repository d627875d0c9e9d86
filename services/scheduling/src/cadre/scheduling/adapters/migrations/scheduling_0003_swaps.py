"""Shift swaps and overtime offers.

Revision ID: scheduling_0003
"""

from alembic import op

from cadre.scheduling.adapters import exchange_tables

revision = "scheduling_0003"
down_revision = "scheduling_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    exchange_tables.metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    exchange_tables.metadata.drop_all(bind=op.get_bind())
