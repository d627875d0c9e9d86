"""The chassis's own tables, present in every service's database.

They are created and migrated by the chassis's Alembic branch (`migrations/versions`),
which every service runs beside its own.
"""

from __future__ import annotations

from datetime import UTC, datetime

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
    TypeDecorator,
)
from sqlalchemy.engine import Dialect

metadata = MetaData()


class UtcDateTime(TypeDecorator[datetime]):
    """A time zone-aware timestamp stored in UTC, read back aware on every database.

    SQLite hands `UtcDateTime()` back naive; this type puts UTC back on, so no
    repository has to remember to."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every Cadre timestamp carries its time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
    Column("created_at", UtcDateTime(), nullable=False),
    Column("published_at", UtcDateTime(), nullable=True),
)
Index("ix_chassis_outbox_unpublished", outbox.c.published_at, outbox.c.seq)

inbox = Table(
    "chassis_inbox",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("applied_at", UtcDateTime(), nullable=False),
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
    Column("parked_at", UtcDateTime(), nullable=False),
    Column("replayed_at", UtcDateTime(), nullable=True),
)

request_ledger = Table(
    "chassis_request_ledger",
    metadata,
    Column("method", String(200), primary_key=True),
    Column("request_id", String(100), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("response", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

audit_log = Table(
    "chassis_audit_log",
    metadata,
    Column("id", SequenceKey, primary_key=True, autoincrement=True),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("acting_under", String(200), nullable=False),
    Column("action", String(200), nullable=False),
    Column("entity", String(200), nullable=False),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    Column("request_id", String(100), nullable=False),
)
Index("ix_chassis_audit_log_entity", audit_log.c.entity, audit_log.c.id)

# R6: an entity whose earliest unapplied event failed and awaits redelivery. Later events of
# the same entity wait (are sent back to the broker) until it is applied or parked.
entity_holds = Table(
    "chassis_entity_holds",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("entity", String(200), primary_key=True),
    Column("event_id", String(64), nullable=False),
    Column("stream_sequence", BigInteger, nullable=False),
    Column("held_at", UtcDateTime(), nullable=False),
)

# How often an event was sent back only to wait behind a held one: those deliveries are not
# attempts, so they do not bring it closer to being parked.
deferrals = Table(
    "chassis_deferrals",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("count", Integer, nullable=False),
)

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
    Column("create_time", UtcDateTime(), nullable=False),
    Column("update_time", UtcDateTime(), nullable=False),
)
Index("ix_chassis_operations_done", operations.c.done, operations.c.create_time)
