"""The authority copy (the mirror's durable consumer on a real NATS server, `projection.apply`)
takes roster's grant and org-unit events in the orders a broker outage, a replay or
reconciliation can bring them in (R6), and decides as roster does once all are in (R16)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest
from google.protobuf.message import Message
from google.type import date_pb2
from nats.js.api import StreamConfig
from sqlalchemy import select

from cadre.admin.v1 import admin_service_pb2, admin_service_pb2_grpc
from cadre.authority.mirror import MirrorSettings, build
from cadre.authority.policy import Action, Amount
from cadre.authority.projection import LocalAuthority
from cadre.chassis.events import build_event
from cadre.chassis.server import ServiceHost
from cadre.chassis.tables import parked_events
from cadre.cli import testing
from cadre.cli.processes import NatsServer
from cadre.roster.v1 import employee_pb2, events_pb2, grant_pb2, org_unit_pb2

OrgUnit, Employee = org_unit_pb2.OrgUnit, employee_pb2.Employee
NOW = datetime.now(UTC)


@dataclass
class Roster:
    """Publishes roster's events on CADRE_ROSTER as its relay would and asks the copy."""

    host: ServiceHost
    js: Any
    paths: dict[str, list[str]] = field(default_factory=dict)  # unit -> its path as roster has it

    async def publish(self, event_type: str, entity: str, payload: Message) -> None:
        event = build_event(
            source="roster", event_type=f"cadre.roster.v1.{event_type}", entity=entity, payload=payload
        )
        await self.js.publish(event.event_type, event.envelope, headers={"Nats-Msg-Id": event.event_id})

    def unit(self, name: str) -> OrgUnit:
        path = self.paths[name]
        return OrgUnit(name=name, display_name=name, kind=len(path), parent=path[-2] if len(path) > 1 else "")

    def new_unit(self, parent: str = "") -> str:
        """A unit made in roster (its event not published yet)."""
        name = f"orgUnits/{uuid.uuid4()}"
        self.paths[name] = [*self.paths.get(parent, []), name]
        return name

    async def created(self, name: str, path: list[str] | None = None) -> None:
        """Publishes the unit's creation, as it was created (`path`) or as it is now."""
        path = path or self.paths[name]
        unit = self.unit(name)
        unit.path.extend(path)
        unit.parent = path[-2] if len(path) > 1 else ""
        await self.publish("org_unit.created", name, events_pb2.OrgUnitCreatedEvent(org_unit=unit))

    async def create(self, parent: str = "") -> str:
        name = self.new_unit(parent)
        await self.created(name)
        return name

    def move(self, name: str, parent: str) -> events_pb2.OrgUnitMovedEvent:
        """Moves the unit and its subtree in roster; returns the event to publish."""
        old = list(self.paths[name])
        new = [*self.paths[parent], name]
        for unit, path in self.paths.items():
            if path[: len(old)] == old:
                self.paths[unit] = new + path[len(old) :]
        moved = self.unit(name)
        moved.path.extend(new)
        return events_pb2.OrgUnitMovedEvent(org_unit=moved, old_path=old, new_path=new)

    async def hire(self, team: str, role: int = Employee.ROLE_AGENT) -> str:
        employee = f"employees/{uuid.uuid4()}"
        await self.publish(
            "employee.hired",
            employee,
            events_pb2.EmployeeHiredEvent(
                employee=employee,
                org_unit=team,
                role=role,
                employment_type=Employee.EMPLOYMENT_TYPE_FULL_TIME,
                hire_date=date_pb2.Date(year=2026, month=1, day=5),
            ),
        )
        return employee

    def grant(self, grantee: str, scope: str) -> events_pb2.GrantCreatedEvent:
        """A root grant to approve up to 5 days of leave in `scope`'s subtree, as roster makes it."""
        g = grant_pb2.Grant(
            name=f"grants/{uuid.uuid4()}",
            grantee=grantee,
            action=grant_pb2.ACTION_APPROVE_LEAVE,
            scope=scope,
            limits=grant_pb2.Limits(max_days=5),
            reason="season",
            depth=1,
        )
        g.valid_from.FromDatetime(NOW - timedelta(days=1))
        g.create_time.FromDatetime(NOW - timedelta(days=1))
        return events_pb2.GrantCreatedEvent(grant=g, scope_path=self.paths[scope])

    async def granted(self, event: events_pb2.GrantCreatedEvent) -> None:
        await self.publish("grant.created", event.grant.name, event)

    async def revoke(self, grant: str) -> None:
        event = events_pb2.GrantRevokedEvent(grant=grant)
        event.revoke_time.FromDatetime(NOW - timedelta(hours=1))
        await self.publish("grant.revoked", grant, event)

    async def settle(self, timeout: float = 20.0) -> None:
        """Until the copy's consumer has applied (acknowledged) everything on the stream."""

        async def caught_up() -> bool:
            info = await self.js.consumer_info("CADRE_ROSTER", "authority-mirror")
            return bool(info.num_pending == 0 and info.num_ack_pending == 0)

        await testing.until(caught_up, timeout=timeout, what="the authority copy to catch up")

    async def may_approve(self, actor: str, target: str) -> bool | None:
        """The copy's decision: may `actor` approve a day of leave for `target` now?"""

        def decide() -> bool | None:
            with self.host.db.reader() as connection:
                decision = LocalAuthority().authorize(
                    connection,
                    actor=actor,
                    action=Action.APPROVE_LEAVE,
                    target=target,
                    amount=Amount(days=1),
                    moment=datetime.now(UTC),
                )
            return None if decision is None else decision.allowed

        return await self.host.db.run(decide)

    async def parked(self) -> list[str]:
        def read() -> list[str]:
            with self.host.db.reader() as connection:
                return list(connection.execute(select(parked_events.c.error)).scalars())

        return await self.host.db.run(read)


@pytest.fixture
async def roster(tmp_path: Path, database_url: str, nats_server: NatsServer) -> AsyncIterator[Roster]:
    connection = await nats.connect(nats_server.url)
    js = connection.jetstream()
    await js.add_stream(StreamConfig(name="CADRE_ROSTER", subjects=["cadre.roster.v1.>"]))
    host = build(
        testing.host_settings(
            MirrorSettings,
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


async def _team_with_lead(roster: Roster) -> tuple[str, str, str, str]:
    """A center, its department and team, a team leader and an agent in the team."""
    center = await roster.create()
    department = await roster.create(center)
    team = await roster.create(department)
    return center, team, await roster.hire(team, Employee.ROLE_TEAM_LEADER), await roster.hire(team)


async def test_a_late_copy_of_a_grant_leaves_it_revoked(roster: Roster) -> None:
    """A grant's creation re-published after its revocation (reconciliation, a replay) must not
    give the revoked team leader their authority back (R16)."""
    _, team, lead, agent = await _team_with_lead(roster)
    grant = roster.grant(lead, team)
    await roster.granted(grant)
    await roster.settle()
    assert await roster.may_approve(lead, agent) is True

    await roster.revoke(grant.grant.name)
    await roster.granted(grant)  # the late copy, under a new event id
    await roster.settle()
    assert await roster.may_approve(lead, agent) is False


async def test_a_revocation_before_its_grant_waits_for_it(roster: Roster) -> None:
    """The grant's creation lost by the broker and re-published after its revocation (R2, R20):
    the revocation is not applied to nothing, it waits for the grant and then revokes it."""
    _, team, lead, agent = await _team_with_lead(roster)
    await roster.settle()
    grant = roster.grant(lead, team)
    await roster.revoke(grant.grant.name)
    await asyncio.sleep(0.1)  # tried and held
    await roster.granted(grant)
    await roster.settle()
    assert await roster.may_approve(lead, agent) is False
    assert await roster.parked() == []


async def test_a_late_copy_of_a_units_creation_leaves_it_where_it_was_moved(roster: Roster) -> None:
    """A team's creation re-published after the team moved to another department must not put
    it back under the first: the leader of the new department decides for its people."""
    center = await roster.create()
    first, second = await roster.create(center), await roster.create(center)
    team = await roster.create(first)
    head = await roster.hire(second, Employee.ROLE_MANAGER)
    agent = await roster.hire(team)
    await roster.granted(roster.grant(head, second))
    created_under_first = list(roster.paths[team])
    await roster.publish("org_unit.moved", team, roster.move(team, second))
    await roster.created(team, created_under_first)  # the late copy
    await roster.settle()
    assert await roster.may_approve(head, agent) is True
    assert await roster.may_approve(head, team) is True


async def test_a_move_before_the_units_creation_waits_for_it(roster: Roster) -> None:
    """The team's creation lost and re-published after its move: the move waits for it, then
    takes the team (and the grants scoped in it) under the new department."""
    center = await roster.create()
    first, second = await roster.create(center), await roster.create(center)
    head = await roster.hire(second, Employee.ROLE_MANAGER)
    await roster.granted(roster.grant(head, second))
    await roster.settle()
    team = roster.new_unit(first)
    created_under_first = list(roster.paths[team])
    lead = await roster.hire(team, Employee.ROLE_TEAM_LEADER)
    agent = await roster.hire(team)
    await roster.granted(roster.grant(lead, team))
    await roster.publish("org_unit.moved", team, roster.move(team, second))
    await asyncio.sleep(0.1)  # tried and held
    await roster.created(team, created_under_first)
    await roster.settle()
    assert await roster.may_approve(head, agent) is True
    assert await roster.may_approve(lead, agent) is True  # the grant moved with its scope
    assert await roster.parked() == []


async def test_a_grant_copied_after_its_scope_moved_follows_the_move(roster: Roster) -> None:
    """A grant made before its department moved to another center, its creation arriving after
    the move (another entity, so in no fixed order with it): its scope is where the department
    now is, as in roster, not the path the event was published with."""
    center, other = await roster.create(), await roster.create()
    department = await roster.create(center)
    team = await roster.create(department)
    head = await roster.hire(team, Employee.ROLE_MANAGER)
    agent = await roster.hire(team)
    grant = roster.grant(head, department)  # made while the department is under `center`
    await roster.publish("org_unit.moved", department, roster.move(department, other))
    await roster.settle()
    await roster.granted(grant)
    await roster.settle()
    assert await roster.may_approve(head, agent) is True


async def test_a_units_creation_copied_after_its_parent_moved_lands_under_it(roster: Roster) -> None:
    """A team created before its department moved, its creation arriving after the move: the
    team is where the department now is, and the new center's grant covers its people."""
    center, other = await roster.create(), await roster.create()
    department = await roster.create(center)
    head = await roster.hire(other, Employee.ROLE_MANAGER)
    await roster.granted(roster.grant(head, other))
    team = roster.new_unit(department)
    created_under_center = list(roster.paths[team])
    await roster.publish("org_unit.moved", department, roster.move(department, other))
    await roster.settle()
    await roster.created(team, created_under_center)
    agent = await roster.hire(team)
    await roster.settle()
    assert await roster.may_approve(head, agent) is True


async def test_moves_of_a_unit_and_of_its_old_parent_in_either_order_give_roster_s_tree(
    roster: Roster,
) -> None:
    """The team moves out of its department to another one, then the department it left moves
    to another center; the copy applies the department's move first (other entities): the team
    stays where it went, out of the moved department's subtree."""
    center, other = await roster.create(), await roster.create()
    left, joined = await roster.create(center), await roster.create(center)
    team = await roster.create(left)
    head_left = await roster.hire(left, Employee.ROLE_MANAGER)
    head_joined = await roster.hire(joined, Employee.ROLE_MANAGER)
    agent = await roster.hire(team)
    for head, unit in ((head_left, left), (head_joined, joined)):
        await roster.granted(roster.grant(head, unit))
    await roster.settle()
    team_moved = roster.move(team, joined)
    await roster.publish("org_unit.moved", left, roster.move(left, other))
    await roster.settle()
    await roster.publish("org_unit.moved", team, team_moved)
    await roster.settle()
    assert await roster.may_approve(head_joined, agent) is True
    assert await roster.may_approve(head_left, agent) is False


async def test_a_move_before_an_earlier_move_of_the_unit_is_parked_not_applied_first(
    roster: Roster,
) -> None:
    """The team's first move lost and re-published after its second (R2, R20): the second does
    not go first (the first would then take the team back where the second took it from); it
    waits, is parked once its attempts run out and, replayed after the first, leaves the team
    where roster has it."""
    center = await roster.create()
    first, second, third = [await roster.create(center) for _ in range(3)]
    team = await roster.create(first)
    head = await roster.hire(third, Employee.ROLE_MANAGER)
    agent = await roster.hire(team)
    await roster.granted(roster.grant(head, third))
    await roster.settle()
    to_second = roster.move(team, second)
    await roster.publish("org_unit.moved", team, roster.move(team, third))
    await testing.until(roster.parked, what="the later move to be parked")
    await roster.publish("org_unit.moved", team, to_second)
    await roster.settle()
    assert await roster.may_approve(head, agent) is False  # under `second` until the replay

    async with testing.channel(f"127.0.0.1:{roster.host.bound_port}") as channel:
        admin = admin_service_pb2_grpc.AdminServiceStub(channel)
        (parked,) = (await admin.ListParkedEvents(admin_service_pb2.ListParkedEventsRequest())).parked_events
        assert "is not known here yet" in parked.error
        await admin.ReplayParkedEvent(admin_service_pb2.ReplayParkedEventRequest(name=parked.name))
    assert await roster.may_approve(head, agent) is True
