"""A real training host (gRPC socket, real database, real NATS) fed by real envelopes that
stand in for roster and scheduling, published onto their streams as they would publish them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
from google.protobuf.message import Message
from google.type import date_pb2

from cadre.chassis.events import build_event, parse_envelope, unpack_payload
from cadre.cli import testing
from cadre.cli.processes import NatsServer
from cadre.roster.v1 import employee_pb2, events_pb2, grant_pb2, org_unit_pb2
from cadre.scheduling.v1 import events_pb2 as scheduling_events
from cadre.scheduling.v1 import shift_pb2
from cadre.training.main import build
from cadre.training.settings import TrainingSettings
from cadre.training.v1 import training_service_pb2_grpc as tg

E = employee_pb2.Employee


class Clock:
    """Now, moved on by the test when it needs time to pass (a meeting to begin, a
    certification to lapse)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def pb_date(day: date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


@dataclass
class Training:
    address: str
    nats_url: str
    clock: Clock
    host: Any
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)
    published: int = 0

    def as_(self, who: str = "system:admin") -> tg.TrainingServiceStub:
        if who not in self.channels:
            self.channels[who] = testing.channel(self.address, who)
        return tg.TrainingServiceStub(self.channels[who])

    @staticmethod
    def shift(
        employee: str, queue: str, start: datetime, end: datetime, breaks=()
    ) -> shift_pb2.ScheduledShift:
        proto = shift_pb2.ScheduledShift(employee=employee, queue=queue)
        proto.start_time.FromDatetime(start)
        proto.end_time.FromDatetime(end)
        for a, b in breaks:
            activity = proto.activities.add(kind=shift_pb2.ACTIVITY_KIND_BREAK)
            activity.start_time.FromDatetime(a)
            activity.end_time.FromDatetime(b)
        return proto

    async def events(self, subject: str = "cadre.training.v1.>") -> list[tuple[str, Message]]:
        """Every event training has published so far, decoded, in stream order."""
        client = await nats.connect(self.nats_url)
        try:
            sub = await client.jetstream().pull_subscribe(subject, stream="CADRE_TRAINING")
            found = []
            while True:
                try:
                    messages = await sub.fetch(256, timeout=0.5)
                except (nats.errors.TimeoutError, TimeoutError):
                    break
                for msg in messages:
                    envelope = parse_envelope(msg.data)
                    found.append((envelope.type, unpack_payload(envelope)))
                    await msg.ack()
            await sub.unsubscribe()
            return found
        finally:
            await client.close()

    async def publish(self, source: str, event_type: str, entity: str, payload: Message) -> None:
        """Publishes an envelope onto the producer's stream as its relay would, and waits
        until training's consumers have applied it."""
        event = build_event(source=source, event_type=event_type, entity=entity, payload=payload)
        client = await nats.connect(self.nats_url)
        try:
            stream = f"CADRE_{source.upper()}"
            await client.jetstream().publish(
                event_type, event.envelope, headers={"Nats-Msg-Id": event.event_id}, stream=stream
            )
        finally:
            await client.close()
        self.published += 1
        deadline = asyncio.get_running_loop().time() + 20
        while sum(c.applied for c in self.host.consumers) < self.published:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("training did not apply the event")
            await asyncio.sleep(0.05)

    async def team(self, *, parent: list[str] | None = None, time_zone: str = "UTC") -> str:
        unit_id = str(uuid.uuid4())
        path = [*(parent or []), f"orgUnits/{unit_id}"]
        unit = org_unit_pb2.OrgUnit(
            name=f"orgUnits/{unit_id}",
            display_name="Team",
            kind=org_unit_pb2.OrgUnit.KIND_TEAM,
            time_zone=time_zone,
            path=path,
        )
        await self.publish(
            "roster",
            "cadre.roster.v1.org_unit.created",
            unit.name,
            events_pb2.OrgUnitCreatedEvent(org_unit=unit),
        )
        return unit.name

    async def hire(
        self, team: str, role: int = E.ROLE_AGENT, *, trainer_position: bool = False, skills=()
    ) -> str:
        employee = f"employees/{uuid.uuid4()}"
        await self.publish(
            "roster",
            "cadre.roster.v1.employee.hired",
            employee,
            events_pb2.EmployeeHiredEvent(
                employee=employee,
                org_unit=team,
                role=role,
                employment_type=E.EMPLOYMENT_TYPE_FULL_TIME,
                hire_date=pb_date(date(2025, 1, 6)),
                skills=[employee_pb2.Skill(skill=s, level=lv) for s, lv in skills],
            ),
        )
        if trainer_position:
            await self.publish(
                "roster",
                "cadre.roster.v1.employee.updated",
                employee,
                events_pb2.EmployeeUpdatedEvent(
                    employee=employee,
                    role=role,
                    virtual_positions=[
                        employee_pb2.VirtualPosition(
                            kind=employee_pb2.VirtualPosition.KIND_PART_TIME_TRAINER,
                            fte_share=0.2,
                            start_date=pb_date(date(2025, 1, 6)),
                        )
                    ],
                    version=2,
                ),
            )
        return employee

    async def grant(self, grantee: str, scope_path: list[str], *, max_minutes: int | None = None) -> str:
        name = f"grants/{uuid.uuid4()}"
        limits = grant_pb2.Limits()
        if max_minutes is not None:
            limits.max_minutes = max_minutes
        grant = grant_pb2.Grant(
            name=name,
            grantee=grantee,
            action=grant_pb2.ACTION_ENROLL_TRAINING,
            scope=scope_path[-1],
            limits=limits,
            depth=1,
        )
        grant.valid_from.FromDatetime(datetime(2025, 1, 1, tzinfo=UTC))
        await self.publish(
            "roster",
            "cadre.roster.v1.grant.created",
            name,
            events_pb2.GrantCreatedEvent(grant=grant, scope_path=scope_path),
        )
        return name

    async def schedule(
        self, team: str, first: date, days: int, shifts: list[shift_pb2.ScheduledShift], version: int = 1
    ) -> str:
        name = f"{team}/schedules/{uuid.uuid4()}"
        await self.publish(
            "scheduling",
            "cadre.scheduling.v1.schedule.published",
            name,
            scheduling_events.SchedulePublishedEvent(
                schedule=name,
                org_unit=team,
                start_date=pb_date(first),
                days=days,
                version=version,
                shifts=shifts,
            ),
        )
        return name


@pytest.fixture
async def training(database_url: str, nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[Training]:
    client = await nats.connect(nats_server.url)
    js = client.jetstream()
    for stream in ("roster", "scheduling"):
        await js.add_stream(name=f"CADRE_{stream.upper()}", subjects=[f"cadre.{stream}.v1.>"])
    await client.close()
    clock = Clock()
    settings = testing.host_settings(
        TrainingSettings,
        database_url=database_url,
        nats=nats_server,
        data_dir=tmp_path,
        expiry_check_seconds=0.2,
        relay_poll_seconds=0.1,
    )
    host = build(settings, clock=clock)
    async with testing.serving(host):
        t = Training(f"127.0.0.1:{host.bound_port}", nats_server.url, clock, host)
        try:
            yield t
        finally:
            for channel in t.channels.values():
                await channel.close()
