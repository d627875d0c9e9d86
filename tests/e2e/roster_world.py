"""A small roster world the end-to-end tests build through roster's gRPC API: one center,
department and team, and hire requests for it."""

from __future__ import annotations

import uuid

from google.type import date_pb2

from cadre.roster.v1 import employee_pb2, org_unit_pb2, roster_service_pb2, roster_service_pb2_grpc

OrgUnit = org_unit_pb2.OrgUnit
Employee = employee_pb2.Employee


async def make_team(roster: roster_service_pb2_grpc.RosterServiceStub) -> str:
    parent = ""
    for kind, name in (
        (OrgUnit.KIND_CENTER, "Porto"),
        (OrgUnit.KIND_DEPARTMENT, "Care"),
        (OrgUnit.KIND_TEAM, "Care A"),
    ):
        unit = await roster.CreateOrgUnit(
            roster_service_pb2.CreateOrgUnitRequest(
                org_unit=OrgUnit(display_name=name, kind=kind, parent=parent, time_zone="Europe/Lisbon")
            ),
            timeout=10,
        )
        parent = unit.name
    return parent


def hire_request(team: str, index: int) -> roster_service_pb2.HireEmployeeRequest:
    return roster_service_pb2.HireEmployeeRequest(
        employee=Employee(
            display_name=f"Agent {index}",
            org_unit=team,
            role=Employee.ROLE_AGENT,
            employment_type=Employee.EMPLOYMENT_TYPE_FULL_TIME,
            hire_date=date_pb2.Date(year=2026, month=1, day=5),
        ),
        request_id=str(uuid.uuid4()),
    )
