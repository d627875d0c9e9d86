"""Roster tables: org units and employees.

Revision ID: roster_0001
"""

from alembic import op

from cadre.roster.adapters import tables

revision = "roster_0001"
down_revision = None
branch_labels = ("roster",)
depends_on = None


def upgrade() -> None:
    # The tables as first released; later changes get revisions of their own.
    tables.metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    tables.metadata.drop_all(bind=op.get_bind())
