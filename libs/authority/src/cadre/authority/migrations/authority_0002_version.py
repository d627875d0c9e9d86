"""A change counter for the in-memory snapshot.

Revision ID: authority_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "authority_0002"
down_revision = "authority_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authority_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("authority_version")
