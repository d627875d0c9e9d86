"""The chassis's own tables, present in every service's database.

They are created and migrated by the chassis's Alembic branch (`migrations/versions`),
which every service runs beside its own.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT.
SequenceKey = BigInteger().with_variant(Integer(), "sqlite")

outbox = Table(
    "chassis_outbox",
    metadata,
    Column("seq", SequenceKey, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("entity", String(200), nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True),
)
Index("ix_chassis_outbox_unpublished", outbox.c.published_at, outbox.c.seq)

inbox = Table(
    "chassis_inbox",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

parked_events = Table(
    "chassis_parked_events",
    metadata,
    Column("id", SequenceKey, primary_key=True, autoincrement=True),
    Column("consumer", String(100), nullable=False),
    Column("stream_sequence", BigInteger, nullable=False),
    Column("nats_subject", String(300), nullable=False),
    Column("event_id", String(64), nullable=True),
    Column("data", LargeBinary, nullable=False),
    Column("error", Text, nullable=False),
    Column("deliveries", Integer, nullable=False),
    Column("parked_at", DateTime(timezone=True), nullable=False),
    Column("replayed_at", DateTime(timezone=True), nullable=True),
)

request_ledger = Table(
    "chassis_request_ledger",
    metadata,
    Column("method", String(200), primary_key=True),
    Column("request_id", String(100), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("response", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "chassis_audit_log",
    metadata,
    Column("id", SequenceKey, primary_key=True, autoincrement=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("acting_under", String(200), nullable=False),
    Column("action", String(200), nullable=False),
    Column("entity", String(200), nullable=False),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    Column("request_id", String(100), nullable=False),
)
Index("ix_chassis_audit_log_entity", audit_log.c.entity, audit_log.c.id)

operations = Table(
    "chassis_operations",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("method", String(200), nullable=False),
    Column("done", Boolean, nullable=False),
    Column("cancel_requested", Boolean, nullable=False),
    Column("metadata", LargeBinary, nullable=False),
    Column("response", LargeBinary, nullable=True),
    Column("error", LargeBinary, nullable=True),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("update_time", DateTime(timezone=True), nullable=False),
)
Index("ix_chassis_operations_done", operations.c.done, operations.c.create_time)
