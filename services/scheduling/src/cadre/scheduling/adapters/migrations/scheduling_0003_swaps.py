"""Shift swaps and overtime offers.

Revision ID: scheduling_0003
"""

from alembic import op

from cadre.scheduling.adapters import schema_0003

revision = "scheduling_0003"
down_revision = "scheduling_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema_0003.build().create_all(bind=op.get_bind())


def downgrade() -> None:
    schema_0003.build().drop_all(bind=op.get_bind())
