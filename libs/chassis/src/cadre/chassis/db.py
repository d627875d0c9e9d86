"""One database per service: engines, migrations and the unit of work.

SQLite by default (WAL, synchronous FULL, writers serialized with BEGIN IMMEDIATE) and
PostgreSQL by URL. Work runs on a small thread pool so the event loop never blocks on
the database; each use case is one hop, not one per statement.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy
from alembic import command
from alembic.config import Config
from google.protobuf.message import Message
from sqlalchemy import Connection, Engine, Table, event, insert, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import NullPool

from cadre.chassis import context as request_context
from cadre.chassis import deadlines, faults
from cadre.chassis.events import PendingEvent, build_event
from cadre.chassis.tables import audit_log, outbox

T = TypeVar("T")

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x43414452  # "CADR": one advisory lock key for schema migrations


def _create_engine(url: str, **options: Any) -> Engine:
    # Looked up at call time, so the tracing instrumentation's wrapper (installed once per
    # process by telemetry.setup_tracing) sees every engine, however many hosts a process runs.
    return sqlalchemy.create_engine(url, **options)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _sqlite_engine(url: str, *, synchronous: str, immediate: bool, connections: int) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != url:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # One pooled connection per worker thread (and the event loop): connections are kept,
    # not opened per call with their PRAGMAs.
    engine = _create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=connections, max_overflow=4
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Writers take the write lock up front, so two writers never deadlock upgrading.
        # Straight on the driver connection: a BEGIN needs no statement cache, events or span.
        connection.connection.driver_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")  # type: ignore[union-attr]

    return engine


def insert_if_absent(connection: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Inserts the row unless one with its primary key is there; True when it inserted.

    For a projection's first version of an entity (an employee's hire): a copy arriving
    after later events of the entity (redelivered, replayed, re-published by reconciliation)
    leaves the newer row as it is instead of putting the first version back (R6).
    """
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    key = [c.name for c in table.primary_key.columns]
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing(index_elements=key)
    return bool(connection.execute(statement).rowcount)


class UnitOfWork:
    """One transaction: the state change, its outbox rows and its audit rows commit together."""

    def __init__(self, connection: Connection, source: str) -> None:
        self.connection = connection
        self._source = source
        self.events: list[PendingEvent] = []
        self._deferred: dict[Table, list[dict[str, Any]]] = {}

    def insert_later(self, table: Table, values: dict[str, Any]) -> None:
        """Adds a row written with its table's other deferred rows in one executemany at
        commit: consumers applying a batch of events insert their rows together."""
        self._deferred.setdefault(table, []).append(values)

    def publish(self, *, event_type: str, entity: str, payload: Message) -> None:
        self.events.append(
            build_event(source=self._source, event_type=event_type, entity=entity, payload=payload)
        )

    @property
    def source(self) -> str:
        """The service writing, e.g. `roster`."""
        return self._source

    def audit(
        self,
        *,
        action: str,
        entity: str,
        before: object,
        after: object,
        acting_under: str = "",
        actor: str = "",
    ) -> None:
        """One audit record in this transaction; `acting_under` names the authority used,
        `actor` who acted when it was not this call's caller (e.g. a reported decision)."""
        who = request_context.current()
        self.connection.execute(
            insert(audit_log).values(
                occurred_at=datetime.now(UTC),
                actor=actor or who.actor,
                acting_under=acting_under,
                action=action,
                entity=entity,
                before=None if before is None else json.dumps(before, sort_keys=True, default=str),
                after=None if after is None else json.dumps(after, sort_keys=True, default=str),
                request_id=who.request_id,
            )
        )

    def _flush(self) -> None:
        for table, rows in self._deferred.items():
            self.connection.execute(insert(table), rows)
        self._deferred.clear()
        self._flush_events()

    def _flush_events(self) -> None:
        if not self.events:
            return
        self.connection.execute(
            insert(outbox),
            [
                {
                    "event_id": e.event_id,
                    "event_type": e.event_type,
                    "entity": e.entity,
                    "envelope": e.envelope,
                    "created_at": e.occurred_at,
                }
                for e in self.events
            ],
        )


class Database:
    def __init__(self, url: str, *, source: str, sqlite_synchronous: str = "FULL", threads: int = 8) -> None:
        self.url = url
        self.source = source
        if is_sqlite(url):
            self.engine = _sqlite_engine(
                url, synchronous=sqlite_synchronous, immediate=True, connections=threads
            )
            self.read_engine = _sqlite_engine(
                url, synchronous=sqlite_synchronous, immediate=False, connections=threads + 1
            )
        else:
            # Connections are recycled hourly instead of pinged on every checkout (a round trip each).
            self.engine = _create_engine(url, pool_size=threads, max_overflow=threads, pool_recycle=3600)
            self.read_engine = self.engine
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"{source}-db")
        self._commit_listeners: list[Callable[[], None]] = []

    def on_commit_with_events(self, listener: Callable[[], None]) -> None:
        """Called (from a worker thread) after a commit that wrote outbox rows."""
        self._commit_listeners.append(listener)

    def migrate(self, *service_versions: Path) -> None:
        """Brings the chassis tables and the service's own tables (one or more migration
        folders, e.g. the service's and a library's) to their newest revision."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        locations = " ".join(str(p) for p in (MIGRATIONS / "versions", *service_versions))
        config.set_main_option("version_locations", locations)
        config.set_main_option("path_separator", "space")
        engine = self.engine
        if is_sqlite(self.url):
            # DDL under WAL with a plain connection; no IMMEDIATE transaction games needed.
            engine = _create_engine(self.url, poolclass=NullPool)
        with engine.begin() as connection:
            if not is_sqlite(self.url):
                # Replicas starting together on an empty database take turns, not crash.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
        if engine is not self.engine:
            engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        with self.engine.connect() as connection, connection.begin():
            unit = UnitOfWork(connection, self.source)
            yield unit
            unit._flush()
            faults.pause_point("before_commit")
            deadlines.check_not_expired()
            if unit.events:
                faults.crash_point("before_commit")
        if unit.events:
            faults.crash_point("after_commit")
            for listener in self._commit_listeners:
                listener()

    @contextmanager
    def reader(self) -> Iterator[Connection]:
        with self.read_engine.connect() as connection, connection.begin():
            yield connection

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """Runs blocking database work on the pool, carrying the caller's context along."""
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(self._executor, ctx.run, work, *args)

    def dispose(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
