"""AdminService: every service's outbox backlog, consumer lag and parked events, for operators."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from nats.js.errors import NotFoundError
from sqlalchemy import Row, func, select

from cadre.admin.v1 import admin_service_pb2, admin_service_pb2_grpc
from cadre.chassis import paging
from cadre.chassis.errors import failed_precondition, invalid_field, not_found
from cadre.chassis.events import MalformedEvent
from cadre.chassis.tables import parked_events

if TYPE_CHECKING:
    from cadre.chassis.server import ServiceHost

SERVICE = admin_service_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name
COLLECTION = "parkedEvents"


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
                name=consumer.name, stream=consumer.stream, parked=parked.get(consumer.name, 0)
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
