"""Training tables: courses, sessions, enrollments, certifications, and the local copies of
roster's and scheduling's facts.

Revision ID: training_0001
"""

from alembic import op

from cadre.training.adapters import schema_0001

revision = "training_0001"
down_revision = None
branch_labels = ("training",)
depends_on = None


def upgrade() -> None:
    schema_0001.build().create_all(bind=op.get_bind())


def downgrade() -> None:
    schema_0001.build().drop_all(bind=op.get_bind())
