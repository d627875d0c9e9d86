"""The outbox relay: publishes committed outbox rows to JetStream, in order, in batches.

A row is marked sent only after JetStream acknowledged it. Each publish carries
`Nats-Msg-Id` = event id, so a re-publish inside the broker's duplicate window is
dropped there, and consumers drop later ones through their inbox. After the broker
comes back from an outage, rows published within the republish window are sent again,
because JetStream acknowledges before its own disk sync (RELIABILITY R1, R2).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import Row, delete, func, select, update

from cadre.chassis import faults
from cadre.chassis.bus import EventBus
from cadre.chassis.db import Database
from cadre.chassis.events import parse_envelope
from cadre.chassis.tables import outbox

log = logging.getLogger(__name__)

_ACK_TIMEOUT = 10.0
_PURGE_EVERY = 300.0


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        stream: str,
        batch_size: int,
        poll_seconds: float,
        republish_window: float,
        retention: timedelta,
    ) -> None:
        self._db = db
        self._bus = bus
        self._stream = stream
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._republish_window = republish_window
        self._retention = retention
        self._wake = asyncio.Event()
        self._republish_since: datetime | None = None
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.published = 0
        db.on_commit_with_events(self.wake_threadsafe)
        bus.on_reconnect(self._after_broker_outage)

    def wake_threadsafe(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def _after_broker_outage(self) -> None:
        self._republish_since = datetime.now(UTC) - timedelta(seconds=self._republish_window)
        self._wake.set()

    async def run(self) -> None:
        """Publishes until stopped; after `stop()` it makes one last pass, then returns."""
        self._loop = asyncio.get_running_loop()
        backoff = 0.1
        last_purge = 0.0
        while True:
            try:
                await self.drain()
                backoff = 0.1
                if self._loop.time() - last_purge > _PURGE_EVERY:
                    await self._db.run(self._purge)
                    last_purge = self._loop.time()
            except Exception as error:
                if self._stopping:
                    log.warning("outbox relay: stopped with rows unpublished (%s)", error)
                    return
                log.warning("outbox relay: %s; retrying in %.1fs", error, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if self._stopping:
                return
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    def stop(self) -> None:
        """Asks `run` to make its last pass and return."""
        self._stopping = True
        self._wake.set()

    async def drain(self) -> None:
        """Publishes until no unpublished row is left."""
        if self._republish_since is not None:
            since, self._republish_since = self._republish_since, None
            await self._republish(since)
        while True:
            rows = await self._db.run(self._fetch_unpublished)
            if not rows:
                return
            published_seqs = await self._publish(rows)
            faults.crash_point("after_publish_before_mark")
            if published_seqs:
                await self._db.run(self._mark_published, published_seqs)
                self.published += len(published_seqs)
            if len(published_seqs) < len(rows):
                raise ConnectionError(f"{len(rows) - len(published_seqs)} publishes not acknowledged")

    async def _republish(self, since: datetime) -> None:
        after_seq = 0
        while True:
            rows = await self._db.run(self._fetch_published_since, since, after_seq)
            if not rows:
                return
            log.info("re-publishing %d recent events after a broker outage", len(rows))
            await self._publish(rows)
            after_seq = rows[-1].seq

    async def _publish(self, rows: list[Row]) -> list[int]:
        js = self._bus.js
        futures = []
        for row in rows:
            headers = {"Nats-Msg-Id": row.event_id}
            headers.update(parse_envelope(row.envelope).trace_context)
            futures.append(
                await js.publish_async(row.event_type, row.envelope, stream=self._stream, headers=headers)
            )
        results = await asyncio.wait_for(
            asyncio.gather(*futures, return_exceptions=True), timeout=_ACK_TIMEOUT
        )
        acknowledged = []
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("publish of %s not acknowledged: %s", row.event_id, result)
                break  # keep order: everything after the first failure waits for the retry
            acknowledged.append(row.seq)
        return acknowledged

    def _fetch_unpublished(self) -> list[Row]:
        with self._db.reader() as connection:
            return list(
                connection.execute(
                    select(outbox.c.seq, outbox.c.event_id, outbox.c.event_type, outbox.c.envelope)
                    .where(outbox.c.published_at.is_(None))
                    .order_by(outbox.c.seq)
                    .limit(self._batch_size)
                )
            )

    def _fetch_published_since(self, since: datetime, after_seq: int) -> list[Row]:
        with self._db.reader() as connection:
            return list(
                connection.execute(
                    select(outbox.c.seq, outbox.c.event_id, outbox.c.event_type, outbox.c.envelope)
                    .where(outbox.c.published_at >= since, outbox.c.seq > after_seq)
                    .order_by(outbox.c.seq)
                    .limit(self._batch_size)
                )
            )

    def _mark_published(self, seqs: list[int]) -> None:
        with self._db.engine.begin() as connection:
            connection.execute(
                update(outbox).where(outbox.c.seq.in_(seqs)).values(published_at=datetime.now(UTC))
            )

    def _purge(self) -> None:
        cutoff = datetime.now(UTC) - self._retention
        with self._db.engine.begin() as connection:
            connection.execute(
                delete(outbox).where(outbox.c.published_at.is_not(None), outbox.c.published_at < cutoff)
            )

    def pending(self) -> int:
        with self._db.reader() as connection:
            return int(
                connection.execute(
                    select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
                ).scalar_one()
            )
