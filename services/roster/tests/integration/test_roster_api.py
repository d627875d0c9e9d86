"""RosterService over a real gRPC socket, a real database and a real NATS server."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import jwt
import pytest
from google.type import date_pb2
from sqlalchemy import func, select

from cadre.chassis.auth import SYSTEM_ADMIN, ensure_dev_keys, issue_token
from cadre.chassis.grpc_errors import error_info
from cadre.chassis.tables import audit_log, outbox, request_ledger
from cadre.cli import testing
from cadre.cli.processes import NatsServer
from cadre.cli.testing import serving
from cadre.roster.adapters.tables import employees, org_units
from cadre.roster.main import build
from cadre.roster.settings import RosterSettings
from cadre.roster.v1 import employee_pb2, org_unit_pb2, roster_service_pb2, roster_service_pb2_grpc

OrgUnit = org_unit_pb2.OrgUnit
Employee = employee_pb2.Employee


@pytest.fixture
async def roster(
    database_url: str, nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[tuple[roster_service_pb2_grpc.RosterServiceStub, object]]:
    settings = testing.host_settings(
        RosterSettings, database_url=database_url, nats=nats_server, data_dir=tmp_path
    )
    host = build(settings)
    async with serving(host), testing.channel(f"127.0.0.1:{host.bound_port}") as channel:
        yield roster_service_pb2_grpc.RosterServiceStub(channel), host


async def _tree(stub: roster_service_pb2_grpc.RosterServiceStub) -> tuple[OrgUnit, OrgUnit, OrgUnit]:
    center = await stub.CreateOrgUnit(
        roster_service_pb2.CreateOrgUnitRequest(
            org_unit=OrgUnit(
                display_name="Lisbon center", kind=OrgUnit.KIND_CENTER, time_zone="Europe/Lisbon"
            )
        )
    )
    department = await stub.CreateOrgUnit(
        roster_service_pb2.CreateOrgUnitRequest(
            org_unit=OrgUnit(display_name="Billing", kind=OrgUnit.KIND_DEPARTMENT, parent=center.name)
        )
    )
    team = await stub.CreateOrgUnit(
        roster_service_pb2.CreateOrgUnitRequest(
            org_unit=OrgUnit(display_name="Billing early", kind=OrgUnit.KIND_TEAM, parent=department.name)
        )
    )
    return center, department, team


def _hire_request(
    team: str, name: str = "Ana Costa", **overrides: object
) -> roster_service_pb2.HireEmployeeRequest:
    employee = Employee(
        display_name=name,
        org_unit=team,
        role=Employee.ROLE_AGENT,
        employment_type=Employee.EMPLOYMENT_TYPE_PART_TIME,
        hire_date=date_pb2.Date(year=2026, month=3, day=2),
        skills=[employee_pb2.Skill(skill="billing", level=3)],
    )
    request = roster_service_pb2.HireEmployeeRequest(employee=employee)
    for key, value in overrides.items():
        setattr(request, key, value)
    return request


def _row_counts(host: object) -> dict[str, int]:
    db = host.db  # type: ignore[attr-defined]
    with db.reader() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (org_units, employees, outbox, audit_log, request_ledger)
        }


async def test_org_tree_inherits_time_zone_and_lists_by_parent(roster) -> None:
    stub, _ = roster
    center, department, team = await _tree(stub)
    assert team.time_zone == "Europe/Lisbon"
    assert list(team.path) == [center.name, department.name, team.name]
    children = await stub.ListOrgUnits(roster_service_pb2.ListOrgUnitsRequest(parent=department.name))
    assert [u.name for u in children.org_units] == [team.name]
    fetched = await stub.GetOrgUnit(roster_service_pb2.GetOrgUnitRequest(name=team.name))
    assert fetched == team


async def test_hire_is_stored_listed_by_subtree_and_audited(roster) -> None:
    stub, host = roster
    center, department, team = await _tree(stub)
    other_department = await stub.CreateOrgUnit(
        roster_service_pb2.CreateOrgUnitRequest(
            org_unit=OrgUnit(display_name="Sales", kind=OrgUnit.KIND_DEPARTMENT, parent=center.name)
        )
    )
    other_team = await stub.CreateOrgUnit(
        roster_service_pb2.CreateOrgUnitRequest(
            org_unit=OrgUnit(display_name="Sales late", kind=OrgUnit.KIND_TEAM, parent=other_department.name)
        )
    )
    ana = await stub.HireEmployee(_hire_request(team.name))
    await stub.HireEmployee(_hire_request(other_team.name, "Rui Lopes"))
    assert ana.state == Employee.STATE_ACTIVE
    assert ana.contract.max_weekly_minutes == 1800  # the part-time default contract
    assert await stub.GetEmployee(roster_service_pb2.GetEmployeeRequest(name=ana.name)) == ana

    in_billing = await stub.ListEmployees(roster_service_pb2.ListEmployeesRequest(org_unit=department.name))
    assert [e.name for e in in_billing.employees] == [ana.name]
    everyone = await stub.ListEmployees(roster_service_pb2.ListEmployeesRequest(org_unit=center.name))
    assert len(everyone.employees) == 2
    counts = _row_counts(host)
    assert counts["chassis_audit_log"] == counts["chassis_outbox"] == 5 + 2


async def test_list_pages_through_everyone_once_in_stable_order(roster) -> None:
    stub, _ = roster
    _, _, team = await _tree(stub)
    hired = [(await stub.HireEmployee(_hire_request(team.name, f"Agent {i}"))).name for i in range(7)]
    seen: list[str] = []
    token = ""
    while True:
        page = await stub.ListEmployees(
            roster_service_pb2.ListEmployeesRequest(org_unit=team.name, page_size=3, page_token=token)
        )
        assert len(page.employees) <= 3
        seen.extend(e.name for e in page.employees)
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(hired)
    assert seen == sorted(seen)


def _expect_error(error: grpc.aio.AioRpcError, code: grpc.StatusCode, reason: str, field: str | None) -> None:
    assert error.code() == code, error.details()
    info, bad_request = error_info(error)
    assert info is not None and info.reason == reason
    if field is not None:
        fields = (
            [v.field for v in bad_request.field_violations] if bad_request else [info.metadata.get("field")]
        )
        assert field in fields


BAD_INPUT = [
    (
        "empty org unit name",
        lambda t, d: (
            "CreateOrgUnit",
            roster_service_pb2.CreateOrgUnitRequest(
                org_unit=OrgUnit(display_name=" ", kind=OrgUnit.KIND_TEAM, parent=d)
            ),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "REQUIRED_FIELD_MISSING",
        "org_unit.display_name",
    ),
    (
        "unknown parent",
        lambda t, d: (
            "CreateOrgUnit",
            roster_service_pb2.CreateOrgUnitRequest(
                org_unit=OrgUnit(display_name="X", kind=OrgUnit.KIND_TEAM, parent=f"orgUnits/{uuid.uuid4()}")
            ),
        ),
        grpc.StatusCode.NOT_FOUND,
        "ORG_UNIT_NOT_FOUND",
        "org_unit.parent",
    ),
    (
        "team under a center",
        lambda t, d: (
            "CreateOrgUnit",
            roster_service_pb2.CreateOrgUnitRequest(
                org_unit=OrgUnit(display_name="X", kind=OrgUnit.KIND_TEAM, parent=t)
            ),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "WRONG_PARENT_KIND",
        "org_unit.parent",
    ),
    (
        "unknown enum value",
        lambda t, d: (
            "CreateOrgUnit",
            roster_service_pb2.CreateOrgUnitRequest(org_unit=OrgUnit(display_name="X", kind=42)),
        ),  # type: ignore[arg-type]
        grpc.StatusCode.INVALID_ARGUMENT,
        "UNKNOWN_ENUM_VALUE",
        "org_unit.kind",
    ),
    (
        "malformed parent name",
        lambda t, d: (
            "CreateOrgUnit",
            roster_service_pb2.CreateOrgUnitRequest(
                org_unit=OrgUnit(display_name="X", kind=OrgUnit.KIND_TEAM, parent="teams/7")
            ),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "MALFORMED_RESOURCE_NAME",
        "org_unit.parent",
    ),
    (
        "empty employee name",
        lambda t, d: ("HireEmployee", _hire_request(t, " ")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "REQUIRED_FIELD_MISSING",
        "employee.display_name",
    ),
    (
        "hire into a department",
        lambda t, d: ("HireEmployee", _hire_request(d)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "NOT_A_TEAM",
        "employee.org_unit",
    ),
    (
        "skill level out of range",
        lambda t, d: (
            "HireEmployee",
            roster_service_pb2.HireEmployeeRequest(
                employee=Employee(
                    display_name="A",
                    org_unit=t,
                    role=Employee.ROLE_AGENT,
                    employment_type=Employee.EMPLOYMENT_TYPE_FULL_TIME,
                    hire_date=date_pb2.Date(year=2026, month=1, day=5),
                    skills=[employee_pb2.Skill(skill="billing", level=9)],
                )
            ),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "OUT_OF_RANGE",
        "employee.skills[0].level",
    ),
    (
        "impossible date",
        lambda t, d: (
            "HireEmployee",
            roster_service_pb2.HireEmployeeRequest(
                employee=Employee(
                    display_name="A",
                    org_unit=t,
                    role=Employee.ROLE_AGENT,
                    employment_type=Employee.EMPLOYMENT_TYPE_FULL_TIME,
                    hire_date=date_pb2.Date(year=2026, month=2, day=30),
                )
            ),
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_DATE",
        "employee.hire_date",
    ),
    (
        "malformed request id",
        lambda t, d: ("HireEmployee", _hire_request(t, request_id="not-a-uuid")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "REQUEST_ID_MALFORMED",
        "request_id",
    ),
    (
        "negative page size",
        lambda t, d: ("ListEmployees", roster_service_pb2.ListEmployeesRequest(page_size=-1)),
        grpc.StatusCode.INVALID_ARGUMENT,
        "PAGE_SIZE_NEGATIVE",
        "page_size",
    ),
    (
        "garbage page token",
        lambda t, d: ("ListEmployees", roster_service_pb2.ListEmployeesRequest(page_token="%%%")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "PAGE_TOKEN_MALFORMED",
        "page_token",
    ),
    (
        "malformed employee id",
        lambda t, d: ("GetEmployee", roster_service_pb2.GetEmployeeRequest(name="employees/42")),
        grpc.StatusCode.INVALID_ARGUMENT,
        "MALFORMED_RESOURCE_NAME",
        "name",
    ),
    (
        "unknown employee",
        lambda t, d: ("GetEmployee", roster_service_pb2.GetEmployeeRequest(name=f"employees/{uuid.uuid4()}")),
        grpc.StatusCode.NOT_FOUND,
        "EMPLOYEE_NOT_FOUND",
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "make", "code", "reason", "field"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT]
)
async def test_bad_input_is_refused_with_reason_and_field_and_writes_nothing(
    roster, case, make, code, reason, field
) -> None:
    stub, host = roster
    center, department, team = await _tree(stub)
    before = _row_counts(host)
    method, request = make(team.name if case != "team under a center" else center.name, department.name)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await getattr(stub, method)(request)
    _expect_error(raised.value, code, reason, field)
    assert _row_counts(host) == before


async def test_page_token_from_another_query_is_refused(roster) -> None:
    stub, _ = roster
    center, _, team = await _tree(stub)
    for i in range(3):
        await stub.HireEmployee(_hire_request(team.name, f"Agent {i}"))
    page = await stub.ListEmployees(roster_service_pb2.ListEmployeesRequest(org_unit=team.name, page_size=1))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.ListEmployees(
            roster_service_pb2.ListEmployeesRequest(org_unit=center.name, page_token=page.next_page_token)
        )
    _expect_error(raised.value, grpc.StatusCode.INVALID_ARGUMENT, "PAGE_TOKEN_MISMATCH", "page_token")


async def test_twenty_concurrent_hires_with_one_request_id_store_one_row(roster) -> None:
    stub, host = roster
    _, _, team = await _tree(stub)
    request = _hire_request(team.name, request_id=str(uuid.uuid4()))
    before = _row_counts(host)
    answers = await asyncio.gather(*(stub.HireEmployee(request) for _ in range(20)))
    assert len({a.SerializeToString(deterministic=True) for a in answers}) == 1
    after = _row_counts(host)
    assert after["employees"] == before["employees"] + 1
    assert after["chassis_outbox"] == before["chassis_outbox"] + 1

    different = _hire_request(team.name, "Somebody else", request_id=request.request_id)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.HireEmployee(different)
    _expect_error(raised.value, grpc.StatusCode.INVALID_ARGUMENT, "REQUEST_ID_REUSED", "request_id")
    assert _row_counts(host) == after


BAD_TOKENS = {
    "missing": None,
    "expired": lambda: testing.token(now=0, ttl_seconds=60),
    "wrong audience": lambda: testing.token(audience="billing-system"),
    "wrongly signed": lambda: issue_token(ensure_dev_keys(Path(tempfile.mkdtemp()))[0], SYSTEM_ADMIN),
    "alg none": lambda: jwt.encode(
        {"sub": SYSTEM_ADMIN, "aud": "cadre", "iss": "cadre", "iat": 0, "exp": 2**40}, None, algorithm="none"
    ),
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_every_rpc_refuses_a_bad_token_and_writes_nothing(roster, case: str) -> None:
    _, host = roster
    before = _row_counts(host)
    make = BAD_TOKENS[case]
    metadata = None if make is None else [("authorization", f"Bearer {make()}")]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{host.bound_port}") as bare:
        stub = roster_service_pb2_grpc.RosterServiceStub(bare)
        calls = [
            stub.CreateOrgUnit(
                roster_service_pb2.CreateOrgUnitRequest(
                    org_unit=OrgUnit(display_name="C", kind=OrgUnit.KIND_CENTER, time_zone="UTC")
                ),
                metadata=metadata,
            ),
            stub.HireEmployee(_hire_request(f"orgUnits/{uuid.uuid4()}"), metadata=metadata),
            stub.ListEmployees(roster_service_pb2.ListEmployeesRequest(), metadata=metadata),
            stub.GetOrgUnit(
                roster_service_pb2.GetOrgUnitRequest(name=f"orgUnits/{uuid.uuid4()}"), metadata=metadata
            ),
        ]
        for call in calls:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await call
            assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
            info, _ = error_info(raised.value)
            assert info is not None and info.reason.startswith("TOKEN_")
    assert _row_counts(host) == before
