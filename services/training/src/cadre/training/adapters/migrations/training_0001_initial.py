"""Training tables: courses, sessions, enrollments, certifications, and the local copies of
roster's and scheduling's facts.

Revision ID: training_0001
"""

from alembic import op

from cadre.training.adapters import tables

revision = "training_0001"
down_revision = None
branch_labels = ("training",)
depends_on = None


def upgrade() -> None:
    # The tables as first released; later changes get revisions of their own.
    tables.metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    tables.metadata.drop_all(bind=op.get_bind())
