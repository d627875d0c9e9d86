"""Training's certification events become skills on roster's record, published as
employee.updated — over a real NATS stream that appears after roster started."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import nats
from google.type import date_pb2

from cadre.chassis.events import build_event, parse_envelope, unpack_payload
from cadre.cli import testing
from cadre.cli.processes import NatsServer
from cadre.roster.main import build
from cadre.roster.settings import RosterSettings
from cadre.roster.v1 import employee_pb2, org_unit_pb2
from cadre.roster.v1 import roster_service_pb2 as rs
from cadre.roster.v1 import roster_service_pb2_grpc as rg
from cadre.training.v1 import events_pb2

E, Unit = employee_pb2.Employee, org_unit_pb2.OrgUnit


async def _publish(nats_url: str, event_type: str, entity: str, payload) -> None:
    event = build_event(source="training", event_type=event_type, entity=entity, payload=payload)
    client = await nats.connect(nats_url)
    try:
        await client.jetstream().publish(
            event_type, event.envelope, headers={"Nats-Msg-Id": event.event_id}, stream="CADRE_TRAINING"
        )
    finally:
        await client.close()


async def _skills_when(stub, name: str, condition) -> list[employee_pb2.Skill]:
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        employee = await stub.GetEmployee(rs.GetEmployeeRequest(name=name))
        if condition(list(employee.skills)) or asyncio.get_running_loop().time() > deadline:
            return list(employee.skills)
        await asyncio.sleep(0.2)


async def test_granted_adds_or_renews_the_skill_and_expired_removes_it(
    database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    host = build(
        testing.host_settings(RosterSettings, database_url=database_url, nats=nats_server, data_dir=tmp_path)
    )
    async with testing.serving(host), testing.channel(f"127.0.0.1:{host.bound_port}") as channel:
        admin = rg.RosterServiceStub(channel)
        parent = ""
        for kind in (Unit.KIND_CENTER, Unit.KIND_DEPARTMENT, Unit.KIND_TEAM):
            parent = (
                await admin.CreateOrgUnit(
                    rs.CreateOrgUnitRequest(
                        org_unit=Unit(display_name="U", kind=kind, parent=parent, time_zone="UTC")
                    )
                )
            ).name
        hired = await admin.HireEmployee(
            rs.HireEmployeeRequest(
                employee=E(
                    display_name="Ana",
                    org_unit=parent,
                    role=E.ROLE_AGENT,
                    employment_type=E.EMPLOYMENT_TYPE_FULL_TIME,
                    hire_date=date_pb2.Date(year=2026, month=1, day=5),
                    skills=[employee_pb2.Skill(skill="voice", level=2, source="hire")],
                )
            )
        )
        # Training's stream appears only now; roster was waiting for it.
        client = await nats.connect(nats_server.url)
        await client.jetstream().add_stream(name="CADRE_TRAINING", subjects=["cadre.training.v1.>"])
        await client.close()
        certification = f"{hired.name}/certifications/44444444-4444-4444-8444-444444444444"
        granted = events_pb2.CertificationGrantedEvent(
            certification=certification,
            employee=hired.name,
            course="courses/55555555-5555-4555-8555-555555555555",
            skill="billing",
            level=3,
            grant_date=date_pb2.Date(year=2026, month=3, day=2),
            expire_date=date_pb2.Date(year=2027, month=3, day=1),
        )
        await _publish(nats_server.url, "cadre.training.v1.certification.granted", certification, granted)
        skills = await _skills_when(admin, hired.name, lambda s: len(s) == 2)
        billing = next(s for s in skills if s.skill == "billing")
        assert (billing.level, billing.source) == (3, certification)
        assert date(billing.expire_date.year, billing.expire_date.month, billing.expire_date.day) == date(
            2027, 3, 1
        )

        # Renewed a year on: the same skill, a later expiry. Delivered twice: applied once.
        granted.expire_date.CopyFrom(date_pb2.Date(year=2028, month=3, day=1))
        for _ in range(2):
            await _publish(nats_server.url, "cadre.training.v1.certification.granted", certification, granted)
        skills = await _skills_when(
            admin, hired.name, lambda s: any(x.skill == "billing" and x.expire_date.year == 2028 for x in s)
        )
        assert [(s.skill, s.level, s.expire_date.year) for s in skills if s.skill == "billing"] == [
            ("billing", 3, 2028)
        ]

        expired = events_pb2.CertificationExpiredEvent(
            certification=certification, employee=hired.name, skill="billing"
        )
        await _publish(nats_server.url, "cadre.training.v1.certification.expired", certification, expired)
        skills = await _skills_when(admin, hired.name, lambda s: len(s) == 1)
        assert [(s.skill, s.source) for s in skills] == [("voice", "hire")]

        # Each change went out as employee.updated, as any change to the record does.
        client = await nats.connect(nats_server.url)
        sub = await client.jetstream().pull_subscribe(
            "cadre.roster.v1.employee.updated", stream="CADRE_ROSTER"
        )
        messages = []
        while True:
            try:
                messages += await sub.fetch(10, timeout=1)
            except (nats.errors.TimeoutError, TimeoutError):
                break
        await client.close()
        updates = [unpack_payload(parse_envelope(m.data)) for m in messages]
        assert [sorted(s.skill for s in u.skills) for u in updates] == [
            ["billing", "voice"],
            ["billing", "voice"],
            ["voice"],
        ]
