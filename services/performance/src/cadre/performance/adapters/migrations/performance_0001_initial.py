"""Performance tables: the org view, facts, time, rules, periods, statements, disputes.

Revision ID: performance_0001
"""

from alembic import op

revision = "performance_0001"
down_revision = None
branch_labels = ("performance",)
depends_on = None


def upgrade() -> None:
    # The tables as first released, from a frozen copy of their definitions (adapters/schema_0001.py), so a
    # later change to adapters/tables.py needs a revision of its own.
    from cadre.performance.adapters import schema_0001

    schema_0001.build().create_all(op.get_bind())


def downgrade() -> None:
    from cadre.performance.adapters import schema_0001

    schema_0001.build().drop_all(op.get_bind())
