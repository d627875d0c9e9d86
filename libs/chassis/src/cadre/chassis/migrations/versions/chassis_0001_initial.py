"""The chassis tables: outbox, inbox, parked events, request ledger, audit log.

Revision ID: chassis_0001

Written out column by column (not created from `cadre.chassis.tables`), so that a later
change to the table definitions cannot change what this revision did on databases that
already ran it: such a change gets a revision of its own.
"""

import sqlalchemy as sa
from alembic import op

revision = "chassis_0001"
down_revision = None
branch_labels = ("chassis",)
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT.
SEQUENCE_KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chassis_outbox",
        sa.Column("seq", SEQUENCE_KEY, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("entity", sa.String(200), nullable=False),
        sa.Column("envelope", sa.LargeBinary, nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("published_at", MOMENT, nullable=True),
    )
    op.create_index("ix_chassis_outbox_unpublished", "chassis_outbox", ["published_at", "seq"])
    op.create_table(
        "chassis_inbox",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("applied_at", MOMENT, nullable=False),
    )
    op.create_table(
        "chassis_parked_events",
        sa.Column("id", SEQUENCE_KEY, primary_key=True, autoincrement=True),
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("stream_sequence", sa.BigInteger, nullable=False),
        sa.Column("nats_subject", sa.String(300), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("deliveries", sa.Integer, nullable=False),
        sa.Column("parked_at", MOMENT, nullable=False),
        sa.Column("replayed_at", MOMENT, nullable=True),
    )
    op.create_table(
        "chassis_request_ledger",
        sa.Column("method", sa.String(200), primary_key=True),
        sa.Column("request_id", sa.String(100), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("response", sa.LargeBinary, nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
    )
    op.create_table(
        "chassis_audit_log",
        sa.Column("id", SEQUENCE_KEY, primary_key=True, autoincrement=True),
        sa.Column("occurred_at", MOMENT, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("acting_under", sa.String(200), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("entity", sa.String(200), nullable=False),
        sa.Column("before", sa.Text, nullable=True),
        sa.Column("after", sa.Text, nullable=True),
        sa.Column("request_id", sa.String(100), nullable=False),
    )
    op.create_index("ix_chassis_audit_log_entity", "chassis_audit_log", ["entity", "id"])


def downgrade() -> None:
    for table in (
        "chassis_audit_log",
        "chassis_request_ledger",
        "chassis_parked_events",
        "chassis_inbox",
        "chassis_outbox",
    ):
        op.drop_table(table)
