"""Per-entity order for consumers: held entities and deferred deliveries (RELIABILITY R6).

Revision ID: chassis_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "chassis_0003"
down_revision = "chassis_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chassis_entity_holds",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("entity", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("stream_sequence", sa.BigInteger, nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "chassis_deferrals",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chassis_deferrals")
    op.drop_table("chassis_entity_holds")
