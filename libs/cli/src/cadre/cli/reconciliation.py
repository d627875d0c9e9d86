"""Reconciliation (RELIABILITY R20): what each producer published against what each consumer
applied, and the repair of any gap by publishing the missing events again.

Every service's AdminService tells which consumers it runs (stream and subjects); the service
that owns that stream lists the events it published in the window (from its outbox); the
consumer's service tells which of them it has neither applied nor parked. A gap is repaired by
the producer putting those events back into its outbox queue: the relay publishes them again
with the same event id, and consumers that had them already drop the copy at their inbox.
The window is bounded by the producers' outbox retention (`CADRE_OUTBOX_RETENTION_HOURS`);
events newer than `settle` are left out, since consumers may simply not have reached them yet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import grpc
from google.protobuf import timestamp_pb2

from cadre.admin.v1 import admin_service_pb2 as admin
from cadre.admin.v1 import admin_service_pb2_grpc
from cadre.chassis.client import open_channel

CHUNK = 1000


@dataclass
class ConsumerReport:
    service: str
    consumer: str
    producer: str
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    republished: int = 0


async def reconcile(
    addresses: Mapping[str, str],
    token: str,
    *,
    start: datetime,
    end: datetime,
    repair: bool,
    credentials: grpc.ChannelCredentials | None = None,
) -> list[ConsumerReport]:
    """One report per consumer of every reachable service whose producer is among `addresses`."""
    channels = {
        name: open_channel(address, token_source=lambda: token, default_timeout=30, credentials=credentials)
        for name, address in addresses.items()
    }
    try:
        stubs = {name: admin_service_pb2_grpc.AdminServiceStub(channel) for name, channel in channels.items()}
        statuses = {
            name: await stub.GetEventStatus(admin.GetEventStatusRequest()) for name, stub in stubs.items()
        }
        producers = {status.stream: name for name, status in statuses.items()}
        reports = []
        for service, status in statuses.items():
            for consumer in status.consumers:
                producer = producers.get(consumer.stream)
                if producer is None:
                    continue  # its producer is not part of this platform run
                report = ConsumerReport(service=service, consumer=consumer.name, producer=producer)
                async for event_ids in _published(stubs[producer], consumer.subjects, start, end):
                    report.checked += len(event_ids)
                    unapplied = await stubs[service].FindUnappliedEvents(
                        admin.FindUnappliedEventsRequest(consumer=consumer.name, event_ids=event_ids)
                    )
                    report.missing.extend(unapplied.event_ids)
                if repair:
                    for offset in range(0, len(report.missing), CHUNK):
                        answer = await stubs[producer].RepublishEvents(
                            admin.RepublishEventsRequest(event_ids=report.missing[offset : offset + CHUNK])
                        )
                        report.republished += answer.republished_count
                reports.append(report)
        return reports
    finally:
        for channel in channels.values():
            await channel.close()


async def _published(
    producer: admin_service_pb2_grpc.AdminServiceStub, subjects: list[str], start: datetime, end: datetime
) -> AsyncIterator[list[str]]:
    request = admin.ListPublishedEventsRequest(
        start_time=_timestamp(start), end_time=_timestamp(end), subjects=subjects, page_size=CHUNK
    )
    while True:
        page = await producer.ListPublishedEvents(request)
        if page.events:
            yield [event.event_id for event in page.events]
        if not page.next_page_token:
            return
        request.page_token = page.next_page_token


def _timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def window(*, hours: float, settle_seconds: float, now: datetime) -> tuple[datetime, datetime]:
    """From `hours` ago to `settle_seconds` ago."""
    return now - timedelta(hours=hours), now - timedelta(seconds=settle_seconds)
