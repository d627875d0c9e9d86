"""The tally table.

Revision ID: tally_0001
"""

from alembic import op

from cadre.cli import tally

revision = "tally_0001"
down_revision = None
branch_labels = ("tally",)
depends_on = None


def upgrade() -> None:
    tally.metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    tally.metadata.drop_all(bind=op.get_bind())
