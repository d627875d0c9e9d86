"""Durable pull consumers: effect + inbox row in one transaction, then ack.

A batch of events is applied in one transaction (one commit per event caps near a
thousand a second). An event whose id is already in the inbox is acknowledged and not
applied again (RELIABILITY R3, R4). An event that cannot be decoded is parked at once;
one whose handler keeps failing is retried with backoff and parked after
`max_deliver` attempts, with its error, where an operator can list and replay it (R5).

Order per entity (R6): the stream keeps each producer's order, and a batch is applied in it.
When an event fails and waits for redelivery, its entity (the envelope's subject) is held:
later events of that entity are sent back to wait until the held one is applied or parked;
other entities flow on. Those returns are counted apart, so waiting never parks an event:
the broker redelivers without limit and the consumer bounds the real attempts itself.

An event about an entity the copy does not hold yet (an update whose hire the broker lost and
the relay re-published after it, R2, or that reconciliation re-publishes, R20) raises
`NotYetKnown`: it is retried like any failure, holding its entity, and is not recorded as
applied. The entity's opening events (`opening_types`, e.g. roster's `employee.hired`) do not
wait behind a hold: they only insert what is absent, so they cannot undo anything in any order,
and the held event they unblock is applied at its next attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.message import Message
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry import trace
from sqlalchemy import delete, insert, select, update

from cadre.chassis import faults
from cadre.chassis.bus import EventBus
from cadre.chassis.db import Database, UnitOfWork
from cadre.chassis.events import MalformedEvent, parse_envelope, trace_context_of, unpack_payload
from cadre.chassis.tables import deferrals, entity_holds, inbox, parked_events
from cadre.events.v1 import envelope_pb2

log = logging.getLogger(__name__)
tracer = trace.get_tracer("cadre.chassis.consumer")

Handler = Callable[[UnitOfWork, envelope_pb2.Envelope, Message], None]


class NotYetKnown(Exception):
    """A handler's event is about an entity its copy does not hold yet: the entity's opening
    event (its `awaits`) is still to come. Retried with backoff, never recorded as applied;
    parked with this message after the consumer's attempts run out (R5)."""

    def __init__(self, entity: str, awaits: str) -> None:
        super().__init__(f"{entity} is not known here yet (awaits {awaits})")
        self.entity = entity
        self.awaits = awaits


@dataclass(frozen=True)
class Delivery:
    msg: Msg
    envelope: envelope_pb2.Envelope
    payload: Message

    @property
    def entity(self) -> str:
        return self.envelope.subject

    @property
    def sequence(self) -> int:
        return int(self.msg.metadata.sequence.stream)


@dataclass(frozen=True)
class Hold:
    event_id: str
    sequence: int


@dataclass(frozen=True)
class OrderState:
    """What the database knows about the entities and events of a batch."""

    holds: dict[str, Hold]  # entity -> the failed event it waits for
    deferrals: dict[str, int]  # event id -> deliveries that only waited


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
        opening_types: Collection[str] = (),
    ) -> None:
        if "." in name:
            raise ValueError("durable consumer names carry no dots, e.g. performance-roster")
        self.name = name
        self.stream = stream
        self._db = db
        self._bus = bus
        self.subjects = list(subjects)
        self._handler = handler
        self._batch_size = batch_size
        self._max_deliver = max_deliver
        self._ack_wait = ack_wait
        self._backoff = list(backoff)
        # Event types that create their entity only if absent: they pass a held event of it.
        self._opening = frozenset(opening_types)
        self._stopping = asyncio.Event()
        self.applied = 0

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._ack_wait,
            # Unbounded at the broker: deliveries that only wait behind a held entity are not
            # attempts. The consumer parks after `max_deliver` real attempts (see `_attempts`).
            max_deliver=-1,
            max_ack_pending=max(1000, self._batch_size * 4),
            filter_subjects=self.subjects,
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
        state = await self._db.run(self._order_state, deliveries)
        ready = [d for d in deliveries if not self._waits(d, state.holds)]
        await self._defer([d for d in deliveries if self._waits(d, state.holds)])
        if not ready:
            return
        waited = {hold.event_id for hold in state.holds.values()} | set(state.deferrals)
        settled = [d.envelope.id for d in ready if d.envelope.id in waited]
        try:
            await self._db.run(self._apply, ready, settled)
        except Exception:
            # Find the bad one: apply the rest one by one, so one poison message stops nothing
            # but the later events of its own entity.
            holds = dict(state.holds)
            for delivery in ready:
                if self._waits(delivery, holds):
                    await self._defer([delivery])
                    continue
                failed = await self._apply_alone(delivery, state)
                if failed and delivery.entity:
                    holds[delivery.entity] = Hold(delivery.envelope.id, delivery.sequence)
            return
        faults.crash_point("consumer_after_commit")
        for delivery in ready:
            await delivery.msg.ack()

    def _waits(self, delivery: Delivery, holds: dict[str, Hold]) -> bool:
        if delivery.envelope.type in self._opening:
            return False  # may be what the held event waits for; changes nothing that exists
        hold = holds.get(delivery.entity) if delivery.entity else None
        return hold is not None and delivery.sequence > hold.sequence

    def _order_state(self, deliveries: list[Delivery]) -> OrderState:
        entities = {d.entity for d in deliveries if d.entity}
        ids = [d.envelope.id for d in deliveries]
        with self._db.reader() as connection:
            holds = {
                row.entity: Hold(row.event_id, row.stream_sequence)
                for row in connection.execute(
                    select(entity_holds).where(
                        entity_holds.c.consumer == self.name, entity_holds.c.entity.in_(entities)
                    )
                )
            }
            waited: dict[str, int] = {
                event_id: count
                for event_id, count in connection.execute(
                    select(deferrals.c.event_id, deferrals.c.count).where(
                        deferrals.c.consumer == self.name, deferrals.c.event_id.in_(ids)
                    )
                ).tuples()
            }
        return OrderState(holds, waited)

    async def _defer(self, deliveries: list[Delivery]) -> None:
        """Sends events back to wait behind their entity's held event, counting the wait."""
        if not deliveries:
            return
        await self._db.run(self._count_deferrals, [d.envelope.id for d in deliveries])
        delay = self._backoff[0] if self._backoff else 1.0
        for delivery in deliveries:
            await delivery.msg.nak(delay=delay)

    def _count_deferrals(self, event_ids: list[str]) -> None:
        with self._db.transaction() as unit:
            for event_id in event_ids:
                key = (deferrals.c.consumer == self.name) & (deferrals.c.event_id == event_id)
                counted = unit.connection.execute(
                    update(deferrals).where(key).values(count=deferrals.c.count + 1)
                ).rowcount
                if not counted:
                    unit.connection.execute(
                        insert(deferrals).values(consumer=self.name, event_id=event_id, count=1)
                    )

    def _attempts(self, delivery: Delivery, state: OrderState) -> int:
        delivered = delivery.msg.metadata.num_delivered or 1
        return max(1, delivered - state.deferrals.get(delivery.envelope.id, 0))

    async def _apply_alone(self, delivery: Delivery, state: OrderState) -> bool:
        """Applies one event; True when it failed and now holds its entity."""
        try:
            await self._db.run(self._apply, [delivery])
        except Exception as error:
            attempt = self._attempts(delivery, state)
            if attempt >= self._max_deliver:
                await self._park(delivery.msg, f"{type(error).__name__}: {error}")
                return False
            log.warning(
                "consumer %s: event %s failed (attempt %d/%d): %s",
                self.name,
                delivery.envelope.id,
                attempt,
                self._max_deliver,
                error,
            )
            if delivery.entity:
                await self._db.run(self._hold, delivery)
            delay = self._backoff[min(attempt - 1, len(self._backoff) - 1)] if self._backoff else 1
            await delivery.msg.nak(delay=delay)
            return True
        faults.crash_point("consumer_after_commit")
        await delivery.msg.ack()
        return False

    def _hold(self, delivery: Delivery) -> None:
        with self._db.transaction() as unit:
            key = (entity_holds.c.consumer == self.name) & (entity_holds.c.entity == delivery.entity)
            held = unit.connection.execute(select(entity_holds.c.stream_sequence).where(key)).scalar()
            if held is not None and held <= delivery.sequence:
                return  # an earlier event of the entity already holds it
            unit.connection.execute(delete(entity_holds).where(key))
            unit.connection.execute(
                insert(entity_holds).values(
                    consumer=self.name,
                    entity=delivery.entity,
                    event_id=delivery.envelope.id,
                    stream_sequence=delivery.sequence,
                    held_at=datetime.now(UTC),
                )
            )

    def _release(self, unit: UnitOfWork, event_ids: list[str]) -> None:
        """The events are settled (applied or parked): their holds and wait counts go."""
        unit.connection.execute(
            delete(entity_holds).where(
                entity_holds.c.consumer == self.name, entity_holds.c.event_id.in_(event_ids)
            )
        )
        unit.connection.execute(
            delete(deferrals).where(deferrals.c.consumer == self.name, deferrals.c.event_id.in_(event_ids))
        )

    def _apply(self, deliveries: list[Delivery], settled: list[str] | None = None) -> None:
        """Applies the events not yet in the inbox, in order, in one transaction; `settled` are
        the events whose holds and wait counts go with them (all of them when not given)."""
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
            if settled is None or settled:
                self._release(unit, ids if settled is None else settled)
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
            if event_id is not None:
                self._release(unit, [event_id])
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
