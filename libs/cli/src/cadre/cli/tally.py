"""A durable consumer that writes down every event it applies: the platform's own witness.

`python -m cadre.cli.tally` follows one stream with the chassis's consumer runner (inbox,
parking, redelivery, crash points: the same code every service consumes with) and
records each applied event in a table without a unique key, so an event applied twice
shows up twice. The reliability tests and the pipeline benchmark count on it.

Environment: the chassis's `CADRE_*` settings plus `CADRE_TALLY_STREAM` (e.g.
CADRE_ROSTER), `CADRE_TALLY_SUBJECTS` (comma-separated filters, default all of the
stream) and `CADRE_TALLY_DURABLE` (default `tally`).
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from google.protobuf.message import Message
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, func, select

from cadre.chassis.db import Database, UnitOfWork
from cadre.chassis.server import ServiceHost
from cadre.chassis.settings import ServiceSettings, load_settings
from cadre.chassis.tables import UtcDateTime
from cadre.events.v1 import envelope_pb2

metadata = MetaData()
tallied = Table(
    "tallied_events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("entity", String(200), nullable=False),
    Column("applied_at", UtcDateTime(), nullable=False),
)

MIGRATIONS = Path(__file__).parent / "tally_migrations"


class TallySettings(ServiceSettings):
    service_name: ClassVar[str] = "tally"
    default_grpc_port: ClassVar[int] = 7199


def record(unit: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    unit.insert_later(
        tallied,
        {
            "event_id": envelope.id,
            "event_type": envelope.type,
            "entity": envelope.subject,
            "applied_at": datetime.now(UTC),
        },
    )


def counts(db: Database) -> tuple[int, int]:
    """(rows, distinct event ids): equal when nothing was applied twice."""
    with db.reader() as connection:
        row = connection.execute(
            select(func.count(), func.count(tallied.c.event_id.distinct())).select_from(tallied)
        ).one()
    return int(row[0]), int(row[1])


def build(settings: TallySettings) -> ServiceHost:
    host = ServiceHost(settings)
    host.migrate(MIGRATIONS)
    stream = os.environ.get("CADRE_TALLY_STREAM", "CADRE_ROSTER")
    subjects = [s for s in os.environ.get("CADRE_TALLY_SUBJECTS", "").split(",") if s]
    if not subjects:
        service = stream.removeprefix("CADRE_").lower()
        subjects = [f"cadre.{service}.v1.>"]
    host.add_consumer(
        name=os.environ.get("CADRE_TALLY_DURABLE", "tally"), stream=stream, subjects=subjects, handler=record
    )
    return host


def main() -> None:
    asyncio.run(build(load_settings(TallySettings)).serve())


if __name__ == "__main__":
    main()
