"""Durable pull consumers: effect + inbox row in one transaction, then ack.

A batch of events is applied in one transaction (one commit per event caps near a
thousand a second). An event whose id is already in the inbox is acknowledged and not
applied again (RELIABILITY R3, R4). An event that cannot be decoded is parked at once;
one whose handler keeps failing is retried with backoff and parked after
`max_deliver` attempts, with its error, where an operator can list and replay it (R5).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry import trace
from sqlalchemy import insert, select, update

from cadre.chassis import faults
from cadre.chassis.bus import EventBus
from cadre.chassis.db import Database, UnitOfWork
from cadre.chassis.events import MalformedEvent, parse_envelope, trace_context_of, unpack_payload
from cadre.chassis.tables import inbox, parked_events
from cadre.events.v1 import envelope_pb2

log = logging.getLogger(__name__)
tracer = trace.get_tracer("cadre.chassis.consumer")

Handler = Callable[[UnitOfWork, envelope_pb2.Envelope, Message], None]


@dataclass(frozen=True)
class Delivery:
    msg: Msg
    envelope: envelope_pb2.Envelope
    payload: Message


class DurableConsumer:
    def __init__(
        self,
        *,
        db: Database,
        bus: EventBus,
        name: str,
        stream: str,
        subjects: Sequence[str],
        handler: Handler,
        batch_size: int,
        max_deliver: int,
        ack_wait: float,
        backoff: Sequence[float],
    ) -> None:
        if "." in name:
            raise ValueError("durable consumer names carry no dots, e.g. performance-roster")
        self.name = name
        self.stream = stream
        self._db = db
        self._bus = bus
        self._subjects = list(subjects)
        self._handler = handler
        self._batch_size = batch_size
        self._max_deliver = max_deliver
        self._ack_wait = ack_wait
        self._backoff = list(backoff)
        self._stopping = asyncio.Event()
        self.applied = 0

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._ack_wait,
            max_deliver=self._max_deliver,
            max_ack_pending=max(1000, self._batch_size * 4),
            filter_subjects=self._subjects,
        )

    async def ensure(self) -> None:
        """Creates the durable consumer or updates it to this configuration."""
        await self._bus.js.add_consumer(self.stream, self.config())

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.ensure()
                break
            except NotFoundError:
                # The producer has not created its stream yet (it may not be deployed): wait,
                # but stop at once when asked to.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=2.0)
        if self._stopping.is_set():
            return
        subscription = await self._bus.js.pull_subscribe_bind(durable=self.name, stream=self.stream)
        while not self._stopping.is_set():
            try:
                messages = await subscription.fetch(self._batch_size, timeout=1.0)
            except (NatsTimeoutError, TimeoutError):
                continue
            except Exception as error:  # broker away: wait for it, keep the durable state
                log.warning("consumer %s: fetch failed (%s)", self.name, error)
                await asyncio.sleep(0.5)
                continue
            await self.process(messages)
        await subscription.unsubscribe()

    async def stop(self) -> None:
        """Stops fetching; the batch in hand is settled before `run` returns."""
        self._stopping.set()

    async def process(self, messages: list[Msg]) -> None:
        deliveries: list[Delivery] = []
        for msg in messages:
            try:
                envelope = parse_envelope(msg.data)
                deliveries.append(Delivery(msg, envelope, unpack_payload(envelope)))
            except MalformedEvent as error:
                await self._park(msg, str(error))
        if not deliveries:
            return
        try:
            await self._db.run(self._apply, deliveries)
        except Exception:
            # Find the bad one: apply the rest one by one, so one poison message stops nothing.
            for delivery in deliveries:
                await self._apply_alone(delivery)
            return
        faults.crash_point("consumer_after_commit")
        for delivery in deliveries:
            await delivery.msg.ack()

    async def _apply_alone(self, delivery: Delivery) -> None:
        try:
            await self._db.run(self._apply, [delivery])
        except Exception as error:
            attempt = delivery.msg.metadata.num_delivered or 1
            if attempt >= self._max_deliver:
                await self._park(delivery.msg, f"{type(error).__name__}: {error}")
                return
            log.warning(
                "consumer %s: event %s failed (attempt %d/%d): %s",
                self.name,
                delivery.envelope.id,
                attempt,
                self._max_deliver,
                error,
            )
            delay = self._backoff[min(attempt - 1, len(self._backoff) - 1)] if self._backoff else 1
            await delivery.msg.nak(delay=delay)
            return
        faults.crash_point("consumer_after_commit")
        await delivery.msg.ack()

    def _apply(self, deliveries: list[Delivery]) -> None:
        with self._db.transaction() as unit:
            ids = [d.envelope.id for d in deliveries]
            seen = set(
                unit.connection.execute(
                    select(inbox.c.event_id).where(inbox.c.consumer == self.name, inbox.c.event_id.in_(ids))
                ).scalars()
            )
            fresh = []
            for delivery in deliveries:
                if delivery.envelope.id in seen:
                    continue
                seen.add(delivery.envelope.id)
                with tracer.start_as_current_span(
                    f"consume {delivery.envelope.type}",
                    context=trace_context_of(delivery.envelope),
                    kind=trace.SpanKind.CONSUMER,
                    attributes={"messaging.system": "nats", "messaging.message.id": delivery.envelope.id},
                ):
                    self._handler(unit, delivery.envelope, delivery.payload)
                fresh.append(
                    {"consumer": self.name, "event_id": delivery.envelope.id, "applied_at": datetime.now(UTC)}
                )
            if fresh:
                unit.connection.execute(insert(inbox), fresh)
        self.applied += len(fresh)

    async def _park(self, msg: Msg, error: str) -> None:
        try:
            event_id: str | None = parse_envelope(msg.data).id
        except MalformedEvent:
            event_id = (msg.headers or {}).get("Nats-Msg-Id")
        await self._db.run(self._insert_parked, msg, event_id, error)
        log.error("consumer %s: parked message %s: %s", self.name, msg.metadata.sequence.stream, error)
        await msg.ack()

    def _insert_parked(self, msg: Msg, event_id: str | None, error: str) -> None:
        with self._db.transaction() as unit:
            unit.connection.execute(
                insert(parked_events).values(
                    consumer=self.name,
                    stream_sequence=msg.metadata.sequence.stream,
                    nats_subject=msg.subject,
                    event_id=event_id,
                    data=msg.data,
                    error=error[:4000],
                    deliveries=msg.metadata.num_delivered or 1,
                    parked_at=datetime.now(UTC),
                )
            )

    def replay_parked(self, parked_id: int) -> None:
        """Applies a parked event again (after a fix), exactly once, and marks it replayed."""
        with self._db.reader() as connection:
            row = connection.execute(
                select(parked_events).where(
                    parked_events.c.id == parked_id, parked_events.c.consumer == self.name
                )
            ).first()
        if row is None:
            raise KeyError(parked_id)
        envelope = parse_envelope(row.data)  # still malformed: MalformedEvent, stays parked
        self._apply([Delivery(msg=None, envelope=envelope, payload=unpack_payload(envelope))])  # type: ignore[arg-type]
        with self._db.engine.begin() as connection:
            connection.execute(
                update(parked_events)
                .where(parked_events.c.id == parked_id)
                .values(replayed_at=datetime.now(UTC))
            )
