"""The chassis tables: outbox, inbox, parked events, request ledger, audit log.

Revision ID: chassis_0001
"""

from alembic import op

from cadre.chassis import tables

revision = "chassis_0001"
down_revision = None
branch_labels = ("chassis",)
depends_on = None


FIRST_RELEASE = (
    "chassis_outbox",
    "chassis_inbox",
    "chassis_parked_events",
    "chassis_request_ledger",
    "chassis_audit_log",
)


def upgrade() -> None:
    # The tables as first released; later changes get revisions of their own.
    tables.metadata.create_all(bind=op.get_bind(), tables=[tables.metadata.tables[t] for t in FIRST_RELEASE])


def downgrade() -> None:
    tables.metadata.drop_all(bind=op.get_bind(), tables=[tables.metadata.tables[t] for t in FIRST_RELEASE])
