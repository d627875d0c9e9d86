"""AdminService: every service's outbox backlog, consumer lag and parked events, and the
reconciliation of what producers published with what consumers applied (R20), for operators.

Only the platform administrator (`system:admin`) may call it (R17: no team leader reaches
the plumbing)."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

import grpc
from nats.js.errors import NotFoundError
from sqlalchemy import Row, func, select, update

from cadre.admin.v1 import admin_service_pb2, admin_service_pb2_grpc
from cadre.chassis import context as request_context
from cadre.chassis import paging
from cadre.chassis.auth import SYSTEM_ADMIN
from cadre.chassis.errors import failed_precondition, invalid_field, not_found, permission_denied
from cadre.chassis.events import MalformedEvent, subject_matches
from cadre.chassis.tables import inbox, outbox, parked_events

if TYPE_CHECKING:
    from cadre.chassis.server import ServiceHost

SERVICE = admin_service_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name
COLLECTION = "parkedEvents"
MAX_EVENT_IDS = 1000


def _require_administrator() -> None:
    if request_context.current().actor != SYSTEM_ADMIN:
        raise permission_denied("ADMINISTRATOR_ONLY", "the admin service is for the platform administrator")


def _event_ids(values: list[str]) -> list[str]:
    if len(values) > MAX_EVENT_IDS:
        raise invalid_field("event_ids", "TOO_MANY_EVENT_IDS", f"at most {MAX_EVENT_IDS} per call")
    return list(values)


def _parked_to_proto(row: Row) -> admin_service_pb2.ParkedEvent:
    message = admin_service_pb2.ParkedEvent(
        name=f"{COLLECTION}/{row.id}",
        consumer=row.consumer,
        nats_subject=row.nats_subject,
        stream_sequence=row.stream_sequence,
        event_id=row.event_id or "",
        error=row.error,
        deliveries=row.deliveries,
    )
    message.park_time.FromDatetime(row.parked_at)
    if row.replayed_at is not None:
        message.replay_time.FromDatetime(row.replayed_at)
    return message


def _parse_parked_name(name: str) -> int:
    prefix = f"{COLLECTION}/"
    if not name.startswith(prefix) or not name[len(prefix) :].isdigit():
        raise invalid_field("name", "MALFORMED_RESOURCE_NAME", f"must look like {prefix}{{number}}")
    return int(name[len(prefix) :])


class AdminServicer(admin_service_pb2_grpc.AdminServiceServicer):
    def __init__(self, host: ServiceHost) -> None:
        self._host = host

    async def GetEventStatus(
        self, request: admin_service_pb2.GetEventStatusRequest, context: grpc.aio.ServicerContext
    ) -> admin_service_pb2.EventStatus:
        _require_administrator()
        host = self._host
        status = admin_service_pb2.EventStatus(
            service=host.settings.service_name,
            stream=host.settings.stream_name,
            outbox_pending=await host.db.run(host.relay.pending),
            bus_connected=host.bus.is_connected,
        )
        parked = dict(await host.db.run(self._parked_counts))
        for consumer in host.consumers:
            entry = status.consumers.add(
                name=consumer.name,
                stream=consumer.stream,
                parked=parked.get(consumer.name, 0),
                subjects=consumer.subjects,
            )
            if host.bus.is_connected:
                try:
                    info = await host.bus.js.consumer_info(consumer.stream, consumer.name)
                except NotFoundError:
                    continue  # an optional consumer whose stream has not appeared yet: nothing to read
                entry.pending = info.num_pending or 0
                entry.unacknowledged = info.num_ack_pending or 0
        return status

    def _parked_counts(self) -> list[tuple[str, int]]:
        with self._host.db.reader() as connection:
            rows = connection.execute(
                select(parked_events.c.consumer, func.count())
                .where(parked_events.c.replayed_at.is_(None))
                .group_by(parked_events.c.consumer)
            )
            return [(row[0], int(row[1])) for row in rows]

    async def ListParkedEvents(
        self, request: admin_service_pb2.ListParkedEventsRequest, context: grpc.aio.ServicerContext
    ) -> admin_service_pb2.ListParkedEventsResponse:
        _require_administrator()
        limit = paging.page_size(request.page_size)
        filters: dict[str, object] = {"show_replayed": request.show_replayed}
        cursor = paging.decode_page_token(request.page_token, filters)
        after = int(cursor.after[0]) if cursor else 0

        def query() -> list[Row]:
            statement = select(parked_events).where(parked_events.c.id > after).order_by(parked_events.c.id)
            if not request.show_replayed:
                statement = statement.where(parked_events.c.replayed_at.is_(None))
            with self._host.db.reader() as connection:
                return list(connection.execute(statement.limit(limit + 1)))

        rows = await self._host.db.run(query)
        page, token = paging.trim_page(rows, limit, lambda row: (str(row.id),), filters)
        return admin_service_pb2.ListParkedEventsResponse(
            parked_events=[_parked_to_proto(row) for row in page], next_page_token=token
        )

    async def ReplayParkedEvent(
        self, request: admin_service_pb2.ReplayParkedEventRequest, context: grpc.aio.ServicerContext
    ) -> admin_service_pb2.ParkedEvent:
        _require_administrator()
        parked_id = _parse_parked_name(request.name)

        def replay() -> Row:
            with self._host.db.reader() as connection:
                row = connection.execute(select(parked_events).where(parked_events.c.id == parked_id)).first()
            if row is None:
                raise not_found("PARKED_EVENT_NOT_FOUND", "name: no such parked event")
            if row.replayed_at is not None:
                raise failed_precondition("ALREADY_REPLAYED", "this parked event was replayed already")
            consumers = {c.name: c for c in self._host.consumers}
            if row.consumer not in consumers:
                raise failed_precondition(
                    "CONSUMER_NOT_RUNNING", f"consumer {row.consumer} does not run in this process"
                )
            try:
                consumers[row.consumer].replay_parked(parked_id)
            except MalformedEvent as error:
                raise failed_precondition(
                    "EVENT_UNREADABLE", f"the parked message is not an event: {error}"
                ) from None
            with self._host.db.reader() as connection:
                return connection.execute(select(parked_events).where(parked_events.c.id == parked_id)).one()

        return _parked_to_proto(await self._host.db.run(replay))

    async def ListPublishedEvents(
        self, request: admin_service_pb2.ListPublishedEventsRequest, context: grpc.aio.ServicerContext
    ) -> admin_service_pb2.ListPublishedEventsResponse:
        _require_administrator()
        if not request.HasField("start_time") or not request.HasField("end_time"):
            raise invalid_field(
                "start_time", "REQUIRED_FIELD_MISSING", "start_time and end_time are required"
            )
        try:
            start = request.start_time.ToDatetime(tzinfo=UTC)
            end = request.end_time.ToDatetime(tzinfo=UTC)
        except (ValueError, OverflowError):
            raise invalid_field("start_time", "INVALID_TIMESTAMP", "not a representable time") from None
        limit = paging.page_size(request.page_size)
        filters: dict[str, object] = {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "subjects": list(request.subjects),
        }
        cursor = paging.decode_page_token(request.page_token, filters)
        after = int(cursor.after[0]) if cursor else 0
        subjects = list(request.subjects)

        def query() -> list[Row]:
            # Subjects are NATS filters, matched here; scan in chunks until a page is full.
            found: list[Row] = []
            last = after
            with self._host.db.reader() as connection:
                while len(found) <= limit:
                    chunk = list(
                        connection.execute(
                            select(outbox.c.seq, outbox.c.event_id, outbox.c.event_type, outbox.c.entity)
                            .add_columns(outbox.c.published_at)
                            .where(
                                outbox.c.seq > last,
                                outbox.c.published_at >= start,
                                outbox.c.published_at < end,
                            )
                            .order_by(outbox.c.seq)
                            .limit(1000)
                        )
                    )
                    if not chunk:
                        break
                    found.extend(row for row in chunk if subject_matches(subjects, row.event_type))
                    last = chunk[-1].seq
            return found[: limit + 1]

        rows = await self._host.db.run(query)
        page, token = paging.trim_page(rows, limit, lambda row: (str(row.seq),), filters)
        response = admin_service_pb2.ListPublishedEventsResponse(next_page_token=token)
        for row in page:
            event = response.events.add(event_id=row.event_id, subject=row.event_type, entity=row.entity)
            event.publish_time.FromDatetime(row.published_at)
        return response

    async def FindUnappliedEvents(
        self, request: admin_service_pb2.FindUnappliedEventsRequest, context: grpc.aio.ServicerContext
    ) -> admin_service_pb2.FindUnappliedEventsResponse:
        _require_administrator()
        event_ids = _event_ids(list(request.event_ids))
        if request.consumer not in {c.name for c in self._host.consumers}:
            raise not_found(
                "CONSUMER_NOT_FOUND", f"consumer: {request.consumer!r} does not run in this service"
            )

        def query() -> set[str]:
            with self._host.db.reader() as connection:
                applied = connection.execute(
                    select(inbox.c.event_id).where(
                        inbox.c.consumer == request.consumer, inbox.c.event_id.in_(event_ids)
                    )
                ).scalars()
                parked = connection.execute(
                    select(parked_events.c.event_id).where(
                        parked_events.c.consumer == request.consumer, parked_events.c.event_id.in_(event_ids)
                    )
                ).scalars()
                return {*applied, *(p for p in parked if p)}

        known = await self._host.db.run(query)
        return admin_service_pb2.FindUnappliedEventsResponse(
            event_ids=[i for i in event_ids if i not in known]
        )

    async def RepublishEvents(
        self, request: admin_service_pb2.RepublishEventsRequest, context: grpc.aio.ServicerContext
    ) -> admin_service_pb2.RepublishEventsResponse:
        _require_administrator()
        event_ids = _event_ids(list(request.event_ids))

        def requeue() -> set[str]:
            # Back to unpublished: the relay sends them again in outbox order, with the same
            # Nats-Msg-Id, and consumers' inboxes drop any copy they already applied.
            with self._host.db.transaction() as unit:
                found = set(
                    unit.connection.execute(
                        select(outbox.c.event_id).where(outbox.c.event_id.in_(event_ids))
                    ).scalars()
                )
                if found:
                    unit.connection.execute(
                        update(outbox).where(outbox.c.event_id.in_(found)).values(published_at=None)
                    )
                    unit.audit(
                        action="RepublishEvents",
                        entity=f"streams/{self._host.settings.stream_name}",
                        before=None,
                        after={"event_ids": sorted(found)},
                    )
            return found

        found = await self._host.db.run(requeue)
        if found:
            self._host.relay.wake_threadsafe()
        return admin_service_pb2.RepublishEventsResponse(
            republished_count=len(found), unknown_event_ids=[i for i in event_ids if i not in found]
        )
