"""R16, property-based: for random org trees, roles and grants, every decision roster makes over
gRPC equals a small reference policy written here, independently of the service's code."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.type import date_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadre.cli import testing
from cadre.cli.processes import NatsServer
from cadre.roster.main import build
from cadre.roster.settings import RosterSettings
from cadre.roster.v1 import employee_pb2, grant_pb2, org_unit_pb2
from cadre.roster.v1 import roster_service_pb2 as rs
from cadre.roster.v1 import roster_service_pb2_grpc as rg

OrgUnit, Employee = org_unit_pb2.OrgUnit, employee_pb2.Employee
ROLES = [
    Employee.ROLE_AGENT,
    Employee.ROLE_TEAM_LEADER,
    Employee.ROLE_SUPERVISOR,
    Employee.ROLE_HR_SPECIALIST,
]
ACTIONS = [grant_pb2.ACTION_APPROVE_LEAVE, grant_pb2.ACTION_MANAGE_EMPLOYEES]

scenarios = st.fixed_dictionaries(
    {
        "teams_per_department": st.lists(st.integers(1, 3), min_size=1, max_size=2),
        "people": st.lists(st.tuples(st.integers(0, 5), st.sampled_from(ROLES)), min_size=2, max_size=6),
        # (holder index, action, scope index, max days, expired)
        "grants": st.lists(
            st.tuples(
                st.integers(0, 5),
                st.sampled_from(ACTIONS),
                st.integers(0, 8),
                st.integers(0, 5),
                st.booleans(),
            ),
            max_size=4,
        ),
        "asker": st.integers(0, 5),
        "days": st.integers(0, 6),
    }
)


@pytest.fixture
async def admin(
    database_url: str, nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[tuple[rg.RosterServiceStub, str]]:
    settings_ = testing.host_settings(
        RosterSettings, database_url=database_url, nats=nats_server, data_dir=tmp_path
    )
    host = build(settings_)
    async with testing.serving(host):
        address = f"127.0.0.1:{host.bound_port}"
        async with testing.channel(address) as channel:
            yield rg.RosterServiceStub(channel), address


def _covers(scope: tuple[str, ...], path: tuple[str, ...]) -> bool:
    return path[: len(scope)] == scope


async def _code(call) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios)
async def test_every_decision_equals_the_reference_policy(admin, scenario) -> None:
    stub, address = admin
    now = datetime.now(UTC)
    paths: list[tuple[str, ...]] = []  # every unit's path of names, center first
    teams: list[tuple[str, tuple[str, ...]]] = []
    center = await stub.CreateOrgUnit(
        rs.CreateOrgUnitRequest(org_unit=OrgUnit(display_name="C", kind=OrgUnit.KIND_CENTER, time_zone="UTC"))
    )
    paths.append((center.name,))
    for count in scenario["teams_per_department"]:
        department = await stub.CreateOrgUnit(
            rs.CreateOrgUnitRequest(
                org_unit=OrgUnit(display_name="D", kind=OrgUnit.KIND_DEPARTMENT, parent=center.name)
            )
        )
        paths.append((center.name, department.name))
        for _ in range(count):
            team = await stub.CreateOrgUnit(
                rs.CreateOrgUnitRequest(
                    org_unit=OrgUnit(display_name="T", kind=OrgUnit.KIND_TEAM, parent=department.name)
                )
            )
            paths.append((center.name, department.name, team.name))
            teams.append((team.name, paths[-1]))
    people: list[tuple[str, int, tuple[str, ...]]] = []
    for team_index, role in scenario["people"]:
        team, path = teams[team_index % len(teams)]
        hired = await stub.HireEmployee(
            rs.HireEmployeeRequest(
                employee=Employee(
                    display_name="P",
                    org_unit=team,
                    role=role,
                    employment_type=Employee.EMPLOYMENT_TYPE_FULL_TIME,
                    hire_date=date_pb2.Date(year=2026, month=1, day=5),
                )
            )
        )
        people.append((hired.name, role, path))
    active: list[tuple[str, int, tuple[str, ...], int]] = []
    for holder, action, scope_index, max_days, expired in scenario["grants"]:
        grantee = people[holder % len(people)][0]
        scope = paths[scope_index % len(paths)]
        grant = grant_pb2.Grant(
            grantee=grantee,
            action=action,
            scope=scope[-1],
            limits=grant_pb2.Limits(max_days=max_days),
            reason="r",
        )
        if expired:
            grant.valid_from.FromDatetime(now - timedelta(days=10))
            grant.valid_until.FromDatetime(now - timedelta(days=1))
        else:
            active.append((grantee, action, scope, max_days))
        await stub.CreateGrant(rs.CreateGrantRequest(grant=grant))

    asker, asker_role, _ = people[scenario["asker"] % len(people)]
    sees_everything = asker_role == Employee.ROLE_HR_SPECIALIST
    scopes = [s for g, _, s, _ in active if g == asker]

    def may_see(path: tuple[str, ...]) -> bool:
        return sees_everything or any(_covers(s, path) for s in scopes)

    async with testing.channel(address, asker) as channel:
        as_asker = rg.RosterServiceStub(channel)
        for name, _, path in people:
            expected = (
                grpc.StatusCode.OK if (name == asker or may_see(path)) else grpc.StatusCode.PERMISSION_DENIED
            )
            assert await _code(as_asker.GetEmployee(rs.GetEmployeeRequest(name=name))) == expected
        unknown = f"employees/{uuid.uuid4()}"
        expected_unknown = grpc.StatusCode.NOT_FOUND if sees_everything else grpc.StatusCode.PERMISSION_DENIED
        assert await _code(as_asker.GetEmployee(rs.GetEmployeeRequest(name=unknown))) == expected_unknown

        listed = (
            await as_asker.ListEmployees(rs.ListEmployeesRequest(org_unit=center.name))
            if sees_everything
            else None
        )
        if listed is None:
            listed = await as_asker.ListEmployees(rs.ListEmployeesRequest(page_size=1000))
            in_scenario = {e.name for e in listed.employees} & {p[0] for p in people}
            assert in_scenario == {n for n, _, path in people if may_see(path)}
        else:
            assert {e.name for e in listed.employees} == {p[0] for p in people}

        for team, path in teams:
            may_hire = any(
                g == asker and a == grant_pb2.ACTION_MANAGE_EMPLOYEES and _covers(s, path)
                for g, a, s, _ in active
            )
            code = await _code(
                as_asker.HireEmployee(
                    rs.HireEmployeeRequest(
                        employee=Employee(
                            display_name="N",
                            org_unit=team,
                            role=Employee.ROLE_AGENT,
                            employment_type=Employee.EMPLOYMENT_TYPE_FULL_TIME,
                            hire_date=date_pb2.Date(year=2026, month=1, day=5),
                        )
                    )
                )
            )
            assert code == (grpc.StatusCode.OK if may_hire else grpc.StatusCode.PERMISSION_DENIED)

            decision = (
                await as_asker.Authorize(
                    rs.AuthorizeRequest(
                        actor=asker,
                        action=grant_pb2.ACTION_APPROVE_LEAVE,
                        target=team,
                        amount=grant_pb2.Amount(days=scenario["days"]),
                    )
                )
                if may_see(path) or sees_everything
                else None
            )
            if decision is not None:
                allowed = any(
                    g == asker
                    and a == grant_pb2.ACTION_APPROVE_LEAVE
                    and _covers(s, path)
                    and scenario["days"] <= d
                    for g, a, s, d in active
                )
                assert decision.allowed == allowed
