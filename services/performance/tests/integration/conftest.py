"""A performance service on a real socket, database and NATS, fed with real envelopes on
the producers' streams (roster, scheduling, training, the fact stream), as their relays
would publish them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf.message import Message
from google.type import date_pb2
from nats.js.api import StreamConfig

from cadre.chassis.events import PendingEvent, build_event
from cadre.chassis.server import ServiceHost
from cadre.cli import testing
from cadre.cli.processes import NatsServer
from cadre.performance.main import build
from cadre.performance.settings import PerformanceSettings
from cadre.performance.v1 import pay_pb2, performance_service_pb2_grpc
from cadre.roster.v1 import employee_pb2, events_pb2, grant_pb2, org_unit_pb2
from cadre.scheduling.v1 import events_pb2 as scheduling_events

Employee = employee_pb2.Employee
STREAMS = {
    "CADRE_ROSTER": "cadre.roster.v1.>",
    "CADRE_SCHEDULING": "cadre.scheduling.v1.>",
    "CADRE_TRAINING": "cadre.training.v1.>",
    "CADRE_FACTS": "cadre.facts.v1.>",
}


def d(value: date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class World:
    """The org and the people every test starts from (all in UTC, site "shenzhen")."""

    address: str
    host: ServiceHost
    js: Any
    units: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)
    grants: dict[str, str] = field(default_factory=dict)
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)
    sent: list[tuple[str, PendingEvent]] = field(default_factory=list)
    _paths: dict[str, list[str]] = field(default_factory=dict)

    def rules(self) -> pay_pb2.PayRules:
        """8,700 CNY a month over 174 h (50 CNY/h); overtime 150/200/300%; 9 March a statutory
        holiday; 100 CNY per MINOR error; minimum wage 2,490 CNY."""
        return pay_pb2.PayRules(
            site="shenzhen",
            effective_date=d(date(2026, 1, 1)),
            currency_code="CNY",
            base_kind=pay_pb2.PayRules.BASE_KIND_MONTHLY,
            base_amount_minor=870_000,
            standard_monthly_hours="174",
            statutory_holidays=[d(date(2026, 3, 9))],
            bonus_tiers=[pay_pb2.BonusTier(name="GOLD", min_score="90", amount_minor=100_000)],
            deduction_per_error_minor={"MINOR": 10_000, "MAJOR": 50_000},
            deduction_cap_ratio="0.20",
            minimum_wage_minor=249_000,
            training_hourly_rate_minor=3_000,
        )

    def as_(self, who: str = "admin") -> performance_service_pb2_grpc.PerformanceServiceStub:
        return performance_service_pb2_grpc.PerformanceServiceStub(self._channel(who))

    def operations(self) -> operations_pb2_grpc.OperationsStub:
        return operations_pb2_grpc.OperationsStub(self._channel("admin"))

    def _channel(self, who: str) -> grpc.aio.Channel:
        if who not in self.channels:
            subject = "system:admin" if who == "admin" else f"employees/{self.people[who]}"
            self.channels[who] = testing.channel(self.address, subject)
        return self.channels[who]

    async def publish(self, source: str, event_type: str, entity: str, payload: Message) -> PendingEvent:
        """One event as the producer's relay publishes it (Nats-Msg-Id = event id)."""
        event = build_event(source=source, event_type=event_type, entity=entity, payload=payload)
        await self.js.publish(event_type, event.envelope, headers={"Nats-Msg-Id": event.event_id})
        self.sent.append((event_type, event))
        return event

    async def republish(self, event: PendingEvent) -> None:
        """The same envelope again, past the broker's duplicate window (a new message id)."""
        await self.js.publish(event.event_type, event.envelope, headers={"Nats-Msg-Id": new_id()})

    async def settle(self, timeout: float = 15.0) -> None:
        """Waits until every consumer has caught up with its stream."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            behind = 0
            for consumer in self.host.consumers:
                try:
                    info = await self.js.consumer_info(consumer.stream, consumer.name)
                except Exception:
                    behind += 1
                    continue
                behind += info.num_pending + info.num_ack_pending
            if behind == 0:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{behind} events not applied in time")
            await asyncio.sleep(0.05)

    async def unit(self, key: str, kind: int, parent: str | None, site: str = "shenzhen") -> None:
        unit_id = new_id()
        self.units[key] = unit_id
        path = [*self._path(parent), f"orgUnits/{unit_id}"] if parent else [f"orgUnits/{unit_id}"]
        self._paths[key] = path
        await self.publish(
            "roster",
            "cadre.roster.v1.org_unit.created",
            f"orgUnits/{unit_id}",
            events_pb2.OrgUnitCreatedEvent(
                org_unit=org_unit_pb2.OrgUnit(
                    name=f"orgUnits/{unit_id}",
                    display_name=key,
                    kind=kind,
                    parent=f"orgUnits/{self.units[parent]}" if parent else "",
                    time_zone="UTC",
                    site=site,
                    path=path,
                )
            ),
        )

    def _path(self, key: str | None) -> list[str]:
        return self._paths[key] if key else []

    async def hire(self, key: str, team: str, role: int, hired: date = date(2025, 1, 1)) -> None:
        employee_id = new_id()
        self.people[key] = employee_id
        await self.publish(
            "roster",
            "cadre.roster.v1.employee.hired",
            f"employees/{employee_id}",
            events_pb2.EmployeeHiredEvent(
                employee=f"employees/{employee_id}",
                org_unit=f"orgUnits/{self.units[team]}",
                role=role,
                hire_date=d(hired),
            ),
        )

    async def transfer(self, key: str, from_team: str, to_team: str, effective: date) -> None:
        await self.publish(
            "roster",
            "cadre.roster.v1.employee.transferred",
            f"employees/{self.people[key]}",
            events_pb2.EmployeeTransferredEvent(
                employee=f"employees/{self.people[key]}",
                from_org_unit=f"orgUnits/{self.units[from_team]}",
                to_org_unit=f"orgUnits/{self.units[to_team]}",
                effective_date=d(effective),
                transfer=f"transfers/{new_id()}",
            ),
        )

    async def terminate(self, key: str, effective: date) -> None:
        await self.publish(
            "roster",
            "cadre.roster.v1.employee.state_changed",
            f"employees/{self.people[key]}",
            events_pb2.EmployeeStateChangedEvent(
                employee=f"employees/{self.people[key]}",
                state=Employee.STATE_TERMINATED,
                effective_date=d(effective),
            ),
        )

    async def grant(
        self, key: str, grantee: str, action: int, scope: str, max_amount_minor: int | None = None
    ) -> None:
        grant_id = new_id()
        self.grants[key] = grant_id
        limits = grant_pb2.Limits()
        if max_amount_minor is not None:
            limits.max_amount_minor = max_amount_minor
        grant = grant_pb2.Grant(
            name=f"grants/{grant_id}",
            grantee=f"employees/{self.people[grantee]}",
            action=action,
            scope=f"orgUnits/{self.units[scope]}",
            limits=limits,
            reason="payroll",
            depth=1,
        )
        grant.valid_from.FromDatetime(datetime(2020, 1, 1, tzinfo=UTC))
        await self.publish(
            "roster",
            "cadre.roster.v1.grant.created",
            f"grants/{grant_id}",
            events_pb2.GrantCreatedEvent(grant=grant, scope_path=self._path(scope)),
        )

    async def attendance(
        self,
        key: str,
        day: date,
        *,
        scheduled: int,
        worked: int,
        overtime: int = 0,
        rest_day: bool = False,
        revision: int = 1,
        team: str = "t1",
    ) -> PendingEvent:
        employee = f"employees/{self.people[key]}"
        return await self.publish(
            "scheduling",
            "cadre.scheduling.v1.attendance.recorded",
            employee,
            scheduling_events.AttendanceRecordedEvent(
                employee=employee,
                org_unit=f"orgUnits/{self.units[team]}",
                work_date=d(day),
                day_kind=scheduling_events.DAY_KIND_REST_DAY
                if rest_day
                else scheduling_events.DAY_KIND_WORK_DAY,
                scheduled_minutes=scheduled,
                worked_minutes=worked,
                overtime_minutes=overtime,
                revision=revision,
            ),
        )

    async def wait(self, operation: operations_pb2.Operation) -> operations_pb2.Operation:
        for _ in range(600):
            operation = await self.operations().GetOperation(
                operations_pb2.GetOperationRequest(name=operation.name)
            )
            if operation.done:
                return operation
            await asyncio.sleep(0.05)
        raise TimeoutError(operation.name)

    async def calculate(self, period: str) -> pay_pb2.PayPeriod:
        from cadre.performance.v1 import performance_service_pb2 as pb

        operation = await self.wait(
            await self.as_().CalculatePayPeriod(pb.CalculatePayPeriodRequest(name=period))
        )
        assert operation.HasField("response"), operation.error
        result = pay_pb2.PayPeriod()
        operation.response.Unpack(result)
        return result


async def start_world(tmp_path: Path, database_url: str, nats_server: NatsServer) -> AsyncIterator[World]:
    connection = await nats.connect(nats_server.url)
    js = connection.jetstream()
    for name, subject in STREAMS.items():
        await js.add_stream(StreamConfig(name=name, subjects=[subject]))
    settings = testing.host_settings(
        PerformanceSettings,
        database_url=database_url,
        nats=nats_server,
        data_dir=tmp_path,
        consumer_ack_wait_seconds=2,
        consumer_backoff_seconds=(0.2,),
        consumer_max_deliver=2,
        relay_poll_seconds=0.1,
    )
    host = build(settings)
    async with testing.serving(host):
        world = World(f"127.0.0.1:{host.bound_port}", host, js)
        await world.unit("center", org_unit_pb2.OrgUnit.KIND_CENTER, None)
        await world.unit("dept", org_unit_pb2.OrgUnit.KIND_DEPARTMENT, "center")
        await world.unit("t1", org_unit_pb2.OrgUnit.KIND_TEAM, "dept")
        await world.unit("t2", org_unit_pb2.OrgUnit.KIND_TEAM, "dept")
        await world.hire("ann", "t1", Employee.ROLE_AGENT)
        await world.hire("bob", "t1", Employee.ROLE_AGENT)
        await world.hire("xin", "t2", Employee.ROLE_AGENT)
        await world.hire("lea", "t1", Employee.ROLE_TEAM_LEADER)
        await world.hire("max", "t2", Employee.ROLE_TEAM_LEADER)
        await world.hire("hana", "dept", Employee.ROLE_HR_SPECIALIST)
        await world.grant("hr-pay", "hana", grant_pb2.ACTION_ADJUST_PAY, "center", max_amount_minor=100_000)
        await world.settle()
        try:
            yield world
        finally:
            for channel in world.channels.values():
                await channel.close()
    await connection.close()


@pytest.fixture
async def world(tmp_path: Path, database_url: str, nats_server: NatsServer) -> AsyncIterator[World]:
    async for value in start_world(tmp_path, database_url, nats_server):
        yield value
