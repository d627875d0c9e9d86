"""Scheduling's copy of the roster, kept from roster's events as its relay publishes them (a real
NATS server and the service's durable consumer), in the orders a broker outage, a replay or
reconciliation can bring them in (R6)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import nats
import pytest
from google.protobuf.message import Message
from google.type import date_pb2, dayofweek_pb2, timeofday_pb2
from nats.js.api import StreamConfig
from sqlalchemy import select

from cadre.chassis.events import build_event
from cadre.chassis.server import ServiceHost
from cadre.cli import testing
from cadre.cli.processes import NatsServer
from cadre.roster.v1 import employee_pb2, events_pb2, org_unit_pb2
from cadre.scheduling.adapters import roster_projection
from cadre.scheduling.adapters.workforce_tables import teams
from cadre.scheduling.domain.team import Availability, Person, PersonState, Role
from cadre.scheduling.main import build
from cadre.scheduling.settings import SchedulingSettings

Employee = employee_pb2.Employee
HIRED = date(2026, 1, 5)
MOVED = date(2026, 3, 2)


def _d(day: date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


@dataclass
class Roster:
    """Publishes roster's events on CADRE_ROSTER and reads scheduling's copy."""

    host: ServiceHost
    js: Any

    async def publish(self, event_type: str, entity: str, payload: Message) -> None:
        event = build_event(
            source="roster", event_type=f"cadre.roster.v1.{event_type}", entity=entity, payload=payload
        )
        await self.js.publish(event.event_type, event.envelope, headers={"Nats-Msg-Id": event.event_id})

    async def team(self) -> str:
        name = f"orgUnits/{uuid.uuid4()}"
        unit = org_unit_pb2.OrgUnit(name=name, display_name=name, time_zone="UTC", path=[name])
        await self.publish("org_unit.created", name, events_pb2.OrgUnitCreatedEvent(org_unit=unit))
        return name

    async def hire(self, employee: str, team: str) -> None:
        await self.publish(
            "employee.hired",
            employee,
            events_pb2.EmployeeHiredEvent(
                employee=employee,
                org_unit=team,
                role=Employee.ROLE_AGENT,
                employment_type=Employee.EMPLOYMENT_TYPE_FULL_TIME,
                skills=[employee_pb2.Skill(skill="billing", level=1)],
                hire_date=_d(HIRED),
            ),
        )

    async def update(self, employee: str, version: int, skill_level: int) -> None:
        """The record at `version`: a skill level, Monday 08:00-16:00, a floor-coach position."""
        await self.publish(
            "employee.updated",
            employee,
            events_pb2.EmployeeUpdatedEvent(
                employee=employee,
                role=Employee.ROLE_AGENT,
                employment_type=Employee.EMPLOYMENT_TYPE_FULL_TIME,
                skills=[employee_pb2.Skill(skill="billing", level=skill_level)],
                availability=[
                    employee_pb2.AvailabilityWindow(
                        day=dayofweek_pb2.MONDAY,
                        start=timeofday_pb2.TimeOfDay(hours=8),
                        end=timeofday_pb2.TimeOfDay(hours=16),
                    )
                ],
                virtual_positions=[
                    employee_pb2.VirtualPosition(kind=employee_pb2.VirtualPosition.KIND_FLOOR_COACH)
                ],
                version=version,
            ),
        )

    async def transfer(self, employee: str, from_team: str, to_team: str) -> None:
        await self.publish(
            "employee.transferred",
            employee,
            events_pb2.EmployeeTransferredEvent(
                employee=employee,
                from_org_unit=from_team,
                to_org_unit=to_team,
                effective_date=_d(MOVED),
                transfer=f"transfers/{uuid.uuid4()}",
            ),
        )

    async def activate(self, employee: str) -> None:
        await self.publish(
            "employee.state_changed",
            employee,
            events_pb2.EmployeeStateChangedEvent(
                employee=employee, state=Employee.STATE_ACTIVE, effective_date=_d(HIRED)
            ),
        )

    async def settle(self, timeout: float = 20.0) -> None:
        """Until the roster consumer has applied (acknowledged) everything on the stream."""

        async def caught_up() -> bool:
            try:
                info = await self.js.consumer_info("CADRE_ROSTER", "scheduling-roster")
            except Exception:
                return False
            return bool(info.num_pending == 0 and info.num_ack_pending == 0)

        await testing.until(caught_up, timeout=timeout, what="the roster consumer to catch up")

    async def person(self, employee: str) -> tuple[Person | None, str | None, str | None]:
        """The person, their team on the hire date and from the transfer's date."""
        employee_id = employee.rsplit("/", 1)[-1]

        def read() -> tuple[Person | None, str | None, str | None]:
            with self.host.db.reader() as connection:
                return (
                    roster_projection.person(connection, employee_id),
                    roster_projection.team_id_of(connection, employee_id, HIRED),
                    roster_projection.team_id_of(connection, employee_id, MOVED),
                )

        return await self.host.db.run(read)


@pytest.fixture
async def roster(tmp_path: Path, database_url: str, nats_server: NatsServer) -> AsyncIterator[Roster]:
    connection = await nats.connect(nats_server.url)
    js = connection.jetstream()
    await js.add_stream(StreamConfig(name="CADRE_ROSTER", subjects=["cadre.roster.v1.>"]))
    host = build(
        testing.host_settings(
            SchedulingSettings,
            database_url=database_url,
            nats=nats_server,
            data_dir=tmp_path,
            consumer_ack_wait_seconds=2,
            consumer_backoff_seconds=(0.2,),
            consumer_max_deliver=3,
        )
    )
    try:
        async with testing.serving(host):
            yield Roster(host, js)
    finally:
        await connection.close()


def _id(name: str) -> str:
    return name.rsplit("/", 1)[-1]


async def test_a_hire_arriving_after_later_changes_leaves_the_newer_record(roster: Roster) -> None:
    """Roster's hire is the person's first version: a copy of it arriving after an update, the
    activation and a transfer (replayed, re-published) puts none of them back."""
    team_a, team_b = await roster.team(), await roster.team()
    ann = f"employees/{uuid.uuid4()}"
    await roster.hire(ann, team_a)
    await roster.update(ann, version=2, skill_level=4)
    await roster.activate(ann)
    await roster.transfer(ann, team_a, team_b)
    await roster.hire(ann, team_a)  # the copy, under a new event id
    await roster.settle()

    person, first_team, later_team = await roster.person(ann)
    assert person is not None
    assert person.state is PersonState.ACTIVE
    assert person.skills[0].level == 4
    assert person.availability == (Availability(1, 480, 960),)
    assert person.virtual_positions == (str(employee_pb2.VirtualPosition.KIND_FLOOR_COACH),)
    assert (first_team, later_team) == (_id(team_a), _id(team_b))


async def test_an_older_update_arriving_late_changes_nothing(roster: Roster) -> None:
    team = await roster.team()
    bob = f"employees/{uuid.uuid4()}"
    await roster.hire(bob, team)
    await roster.update(bob, version=3, skill_level=5)
    await roster.update(bob, version=2, skill_level=2)  # late, e.g. re-published by reconciliation
    await roster.settle()

    person, _, _ = await roster.person(bob)
    assert person is not None and person.skills[0].level == 5


async def test_changes_published_before_the_hire_are_applied_once_it_is_in(roster: Roster) -> None:
    """The hire lost by the broker and re-published after the person's later changes (R2, R20):
    the changes wait for it instead of changing nothing and counting as applied."""
    team_a, team_b = await roster.team(), await roster.team()
    await roster.settle()
    cai = f"employees/{uuid.uuid4()}"
    await roster.update(cai, version=2, skill_level=3)
    await roster.activate(cai)
    await roster.transfer(cai, team_a, team_b)
    await asyncio.sleep(0.1)  # the update has been tried and is held
    await roster.hire(cai, team_a)
    await roster.settle()

    person, first_team, later_team = await roster.person(cai)
    assert person is not None
    assert (person.role, person.state, person.skills[0].level) == (Role.AGENT, PersonState.ACTIVE, 3)
    assert person.availability == (Availability(1, 480, 960),)
    assert (first_team, later_team) == (_id(team_a), _id(team_b))


async def _unit(roster: Roster, event_type: str, name: str, path: list[str], time_zone: str) -> None:
    unit = org_unit_pb2.OrgUnit(
        name=name, display_name=name, time_zone=time_zone, parent=path[-2] if len(path) > 1 else "", path=path
    )
    if event_type == "org_unit.created":
        await roster.publish(event_type, name, events_pb2.OrgUnitCreatedEvent(org_unit=unit))
    else:
        await roster.publish(event_type, name, events_pb2.OrgUnitUpdatedEvent(org_unit=unit))


async def _team_row(roster: Roster, team: str) -> tuple[str, str] | None:
    def read() -> tuple[str, str] | None:
        with roster.host.db.reader() as connection:
            row = connection.execute(
                select(teams.c.path, teams.c.time_zone).where(teams.c.id == _id(team))
            ).first()
        return None if row is None else (row.path, row.time_zone)

    return await roster.host.db.run(read)


async def test_a_late_copy_of_a_teams_creation_leaves_it_as_changed_and_moved(roster: Roster) -> None:
    """The team's creation re-published after its time zone changed and it moved to another
    department puts neither the old time zone nor the old place back (R6)."""
    first, second = await roster.team(), await roster.team()
    team = f"orgUnits/{uuid.uuid4()}"
    await _unit(roster, "org_unit.created", team, [first, team], "UTC")
    await _unit(roster, "org_unit.updated", team, [first, team], "Europe/Berlin")
    moved = org_unit_pb2.OrgUnit(
        name=team, display_name=team, time_zone="Europe/Berlin", parent=second, path=[second, team]
    )
    await roster.publish(
        "org_unit.moved",
        team,
        events_pb2.OrgUnitMovedEvent(org_unit=moved, old_path=[first, team], new_path=[second, team]),
    )
    await _unit(roster, "org_unit.created", team, [first, team], "UTC")  # the late copy
    await roster.settle()
    assert await _team_row(roster, team) == (f"/{_id(second)}/{_id(team)}/", "Europe/Berlin")


async def test_a_change_to_a_team_before_its_creation_waits_for_it(roster: Roster) -> None:
    """The team's creation lost and re-published after its change: the change is applied after
    it, instead of being overwritten by the creation's first version."""
    department = await roster.team()
    await roster.settle()
    team = f"orgUnits/{uuid.uuid4()}"
    await _unit(roster, "org_unit.updated", team, [department, team], "Europe/Berlin")
    await asyncio.sleep(0.1)  # tried and held
    await _unit(roster, "org_unit.created", team, [department, team], "UTC")
    await roster.settle()
    assert await _team_row(roster, team) == (f"/{_id(department)}/{_id(team)}/", "Europe/Berlin")
