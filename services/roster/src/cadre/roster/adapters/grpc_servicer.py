"""RosterService over gRPC: parses requests, runs use cases on the database pool."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc

from cadre.chassis import paging
from cadre.chassis.db import Database, UnitOfWork
from cadre.chassis.errors import Violations
from cadre.chassis.idempotency import run_idempotent
from cadre.chassis.resource_names import new_id, parse_name, parse_optional_name
from cadre.roster.adapters import proto_mapping as m
from cadre.roster.adapters.repository import SqlEmployees, SqlOrgUnits, SqlRosterUnit
from cadre.roster.app import employees as employee_cases
from cadre.roster.app import org_units as org_unit_cases
from cadre.roster.v1 import (
    employee_pb2,
    org_unit_pb2,
    roster_service_pb2,
    roster_service_pb2_grpc,
)

T = TypeVar("T")
Clock = Callable[[], datetime]
SERVICE = roster_service_pb2.DESCRIPTOR.services_by_name["RosterService"].full_name


def _page(
    items: Sequence[T], limit: int, key: Callable[[T], str], filters: dict[str, object]
) -> tuple[Sequence[T], str]:
    """Trims the one extra item fetched to learn whether another page follows."""
    if len(items) <= limit:
        return items, ""
    items = items[:limit]
    return items, paging.encode_page_token((key(items[-1]),), filters)


class RosterServicer(roster_service_pb2_grpc.RosterServiceServicer):
    def __init__(self, db: Database, *, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self._db = db
        self._clock = clock

    async def CreateOrgUnit(
        self, request: roster_service_pb2.CreateOrgUnitRequest, context: grpc.aio.ServicerContext
    ) -> org_unit_pb2.OrgUnit:
        return await self._db.run(self._create_org_unit, request)

    def _create_org_unit(self, request: roster_service_pb2.CreateOrgUnitRequest) -> org_unit_pb2.OrgUnit:
        draft = request.org_unit
        violations = Violations()
        kind = m.kind_from_proto(draft.kind, "org_unit.kind", violations)
        violations.raise_if_any()
        parent_id = parse_optional_name(draft.parent, m.ORG_UNITS, "org_unit.parent")

        def work(unit: UnitOfWork) -> org_unit_pb2.OrgUnit:
            created = org_unit_cases.create_org_unit(
                SqlRosterUnit(unit),
                unit_id=new_id(),
                display_name=draft.display_name,
                kind=kind,
                parent_id=parent_id,
                time_zone=draft.time_zone,
                site=draft.site,
                now=self._clock(),
            )
            return m.org_unit_to_proto(created)

        return run_idempotent(
            self._db,
            method=f"{SERVICE}/CreateOrgUnit",
            request=request,
            request_id=request.request_id,
            response_type=org_unit_pb2.OrgUnit,
            work=work,
        )

    async def GetOrgUnit(
        self, request: roster_service_pb2.GetOrgUnitRequest, context: grpc.aio.ServicerContext
    ) -> org_unit_pb2.OrgUnit:
        unit_id = parse_name(request.name, m.ORG_UNITS, "name")
        return await self._db.run(
            self._read,
            lambda c: m.org_unit_to_proto(org_unit_cases.get_org_unit(SqlOrgUnits(c), unit_id=unit_id)),
        )

    async def ListOrgUnits(
        self, request: roster_service_pb2.ListOrgUnitsRequest, context: grpc.aio.ServicerContext
    ) -> roster_service_pb2.ListOrgUnitsResponse:
        limit = paging.page_size(request.page_size)
        parent_id = parse_optional_name(request.parent, m.ORG_UNITS, "parent")
        filters: dict[str, object] = {"parent": request.parent}
        cursor = paging.decode_page_token(request.page_token, filters)
        units = await self._db.run(
            self._read,
            lambda c: org_unit_cases.list_org_units(
                SqlOrgUnits(c),
                parent_id=parent_id,
                after=cursor.after[0] if cursor else None,
                limit=limit + 1,
            ),
        )
        page, token = _page(units, limit, lambda u: u.id, filters)
        return roster_service_pb2.ListOrgUnitsResponse(
            org_units=[m.org_unit_to_proto(u) for u in page], next_page_token=token
        )

    async def HireEmployee(
        self, request: roster_service_pb2.HireEmployeeRequest, context: grpc.aio.ServicerContext
    ) -> employee_pb2.Employee:
        return await self._db.run(self._hire_employee, request)

    def _hire_employee(self, request: roster_service_pb2.HireEmployeeRequest) -> employee_pb2.Employee:
        draft = request.employee
        violations = Violations()
        role = m.role_from_proto(draft.role, violations)
        employment_type = m.employment_type_from_proto(draft.employment_type, violations)
        hire_date = m.date_from_proto(draft.hire_date, "employee.hire_date", violations)
        skills = m.skills_from_proto(list(draft.skills), violations)
        violations.raise_if_any()
        org_unit_id = parse_name(draft.org_unit, m.ORG_UNITS, "employee.org_unit")

        def work(unit: UnitOfWork) -> employee_pb2.Employee:
            hired = employee_cases.hire_employee(
                SqlRosterUnit(unit),
                employee_id=new_id(),
                display_name=draft.display_name,
                org_unit_id=org_unit_id,
                role=role,
                employment_type=employment_type,
                contract=m.contract_from_proto(draft.contract),
                skills=skills,
                hire_date=hire_date,
                employee_number=draft.employee_number,
                now=self._clock(),
            )
            return m.employee_to_proto(hired)

        return run_idempotent(
            self._db,
            method=f"{SERVICE}/HireEmployee",
            request=request,
            request_id=request.request_id,
            response_type=employee_pb2.Employee,
            work=work,
        )

    async def GetEmployee(
        self, request: roster_service_pb2.GetEmployeeRequest, context: grpc.aio.ServicerContext
    ) -> employee_pb2.Employee:
        employee_id = parse_name(request.name, m.EMPLOYEES, "name")
        return await self._db.run(
            self._read,
            lambda c: m.employee_to_proto(
                employee_cases.get_employee(SqlEmployees(c), employee_id=employee_id)
            ),
        )

    async def ListEmployees(
        self, request: roster_service_pb2.ListEmployeesRequest, context: grpc.aio.ServicerContext
    ) -> roster_service_pb2.ListEmployeesResponse:
        limit = paging.page_size(request.page_size)
        org_unit_id = parse_optional_name(request.org_unit, m.ORG_UNITS, "org_unit")
        filters: dict[str, object] = {"org_unit": request.org_unit}
        cursor = paging.decode_page_token(request.page_token, filters)
        people = await self._db.run(
            self._read,
            lambda c: employee_cases.list_employees(
                SqlOrgUnits(c),
                SqlEmployees(c),
                org_unit_id=org_unit_id,
                after=cursor.after[0] if cursor else None,
                limit=limit + 1,
            ),
        )
        page, token = _page(people, limit, lambda e: e.id, filters)
        return roster_service_pb2.ListEmployeesResponse(
            employees=[m.employee_to_proto(e) for e in page], next_page_token=token
        )

    def _read(self, query: Callable[[Any], T]) -> T:
        with self._db.reader() as connection:
            return query(connection)
