"""RosterService over gRPC: parses requests, resolves the caller's access, runs use cases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from sqlalchemy import Connection, select

from cadre.authority.policy import Amount
from cadre.chassis import paging
from cadre.chassis.db import Database, UnitOfWork
from cadre.chassis.errors import Violations, invalid_field, permission_denied
from cadre.chassis.idempotency import run_idempotent
from cadre.chassis.resource_names import new_id, parse_name, parse_optional_name
from cadre.chassis.tables import audit_log
from cadre.roster.adapters import proto_mapping as m
from cadre.roster.adapters.access import AccessResolver
from cadre.roster.adapters.repository import SqlRosterReader, SqlRosterUnit
from cadre.roster.app import employees as employee_cases
from cadre.roster.app import grants as grant_cases
from cadre.roster.app import org_units as org_unit_cases
from cadre.roster.app import transfers as transfer_cases
from cadre.roster.app.access import Access
from cadre.roster.domain import employee as employee_rules
from cadre.roster.domain.transfer import check_reason
from cadre.roster.v1 import (
    audit_pb2,
    employee_pb2,
    grant_pb2,
    org_unit_pb2,
    roster_service_pb2,
    roster_service_pb2_grpc,
    transfer_pb2,
)

T = TypeVar("T")
R = TypeVar("R", bound=Message)
Clock = Callable[[], datetime]
SERVICE = roster_service_pb2.DESCRIPTOR.services_by_name["RosterService"].full_name
rs = roster_service_pb2


def _reason(text: str, field: str) -> str:
    violations = Violations()
    check_reason(text, field, violations)
    violations.raise_if_any()
    return text


class RosterServicer(roster_service_pb2_grpc.RosterServiceServicer):
    def __init__(self, db: Database, *, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self._db = db
        self._clock = clock
        self._access = AccessResolver()

    # --- plumbing: one transaction per command, one read snapshot per query ---

    def _write(
        self,
        method: str,
        request: Message,
        response_type: type[R],
        work: Callable[[SqlRosterUnit, Access], R],
    ) -> R:
        def in_transaction(unit: UnitOfWork) -> R:
            access = self._access.access(unit.connection, now=self._clock())
            return work(SqlRosterUnit(unit), access)

        return run_idempotent(
            self._db,
            method=f"{SERVICE}/{method}",
            request=request,
            request_id=getattr(request, "request_id", ""),
            response_type=response_type,
            work=in_transaction,
        )

    async def _command(
        self,
        method: str,
        request: Message,
        response_type: type[R],
        work: Callable[[SqlRosterUnit, Access], R],
    ) -> R:
        return await self._db.run(self._write, method, request, response_type, work)

    async def _query(
        self, work: Callable[[SqlRosterReader, Access, Connection], T], *, point: bool = False
    ) -> T:
        """A read; `point` reads (one record by id) may run inline (see Database.read), lists
        of up to a thousand records go to the pool so they never stall the event loop."""

        def read() -> T:
            with self._db.reader() as connection:
                return work(
                    SqlRosterReader(connection),
                    self._access.access(connection, now=self._clock()),
                    connection,
                )

        return await self._db.run(read)

    # --- org units ---

    async def CreateOrgUnit(
        self, request: rs.CreateOrgUnitRequest, context: grpc.aio.ServicerContext
    ) -> org_unit_pb2.OrgUnit:
        draft = request.org_unit
        violations = Violations()
        kind = m.kind_from_proto(draft.kind, "org_unit.kind", violations)
        violations.raise_if_any()
        parent_id = parse_optional_name(draft.parent, m.ORG_UNITS, "org_unit.parent")

        def work(unit: SqlRosterUnit, access: Access) -> org_unit_pb2.OrgUnit:
            created = org_unit_cases.create_org_unit(
                unit,
                access,
                unit_id=new_id(),
                display_name=draft.display_name,
                kind=kind,
                parent_id=parent_id,
                time_zone=draft.time_zone,
                site=draft.site,
                now=self._clock(),
            )
            return m.org_unit_to_proto(created)

        return await self._command("CreateOrgUnit", request, org_unit_pb2.OrgUnit, work)

    async def GetOrgUnit(
        self, request: rs.GetOrgUnitRequest, context: grpc.aio.ServicerContext
    ) -> org_unit_pb2.OrgUnit:
        unit_id = parse_name(request.name, m.ORG_UNITS, "name")
        return await self._query(
            lambda r, a, c: m.org_unit_to_proto(org_unit_cases.get_org_unit(r.org_units, a, unit_id=unit_id))
        )

    async def ListOrgUnits(
        self, request: rs.ListOrgUnitsRequest, context: grpc.aio.ServicerContext
    ) -> rs.ListOrgUnitsResponse:
        limit = paging.page_size(request.page_size)
        parent_id = parse_optional_name(request.parent, m.ORG_UNITS, "parent")
        filters: dict[str, object] = {"parent": request.parent}
        cursor = paging.decode_page_token(request.page_token, filters)
        units = await self._query(
            lambda r, a, c: org_unit_cases.list_org_units(
                r.org_units,
                a,
                parent_id=parent_id,
                after=cursor.after[0] if cursor else None,
                limit=limit + 1,
            )
        )
        page, token = paging.trim_page(units, limit, lambda u: (u.id,), filters)
        return rs.ListOrgUnitsResponse(
            org_units=[m.org_unit_to_proto(u) for u in page], next_page_token=token
        )

    async def UpdateOrgUnit(
        self, request: rs.UpdateOrgUnitRequest, context: grpc.aio.ServicerContext
    ) -> org_unit_pb2.OrgUnit:
        draft = request.org_unit
        unit_id = parse_name(draft.name, m.ORG_UNITS, "org_unit.name")
        fields = frozenset(request.update_mask.paths)
        if not fields:
            raise invalid_field("update_mask", "REQUIRED_FIELD_MISSING", "must name the fields to change")

        def work(unit: SqlRosterUnit, access: Access) -> org_unit_pb2.OrgUnit:
            changed = org_unit_cases.update_org_unit(
                unit,
                access,
                unit_id=unit_id,
                fields=fields,
                display_name=draft.display_name,
                time_zone=draft.time_zone,
                site=draft.site,
                expected_version=m.version_from_etag(draft.etag),
            )
            return m.org_unit_to_proto(changed)

        return await self._command("UpdateOrgUnit", request, org_unit_pb2.OrgUnit, work)

    async def MoveOrgUnit(
        self, request: rs.MoveOrgUnitRequest, context: grpc.aio.ServicerContext
    ) -> org_unit_pb2.OrgUnit:
        unit_id = parse_name(request.name, m.ORG_UNITS, "name")
        new_parent_id = parse_name(request.new_parent, m.ORG_UNITS, "new_parent")

        def work(unit: SqlRosterUnit, access: Access) -> org_unit_pb2.OrgUnit:
            moved = org_unit_cases.move_org_unit(
                unit,
                access,
                unit_id=unit_id,
                new_parent_id=new_parent_id,
                expected_version=m.version_from_etag(request.etag),
            )
            return m.org_unit_to_proto(moved)

        return await self._command("MoveOrgUnit", request, org_unit_pb2.OrgUnit, work)

    # --- employees ---

    async def HireEmployee(
        self, request: rs.HireEmployeeRequest, context: grpc.aio.ServicerContext
    ) -> employee_pb2.Employee:
        draft = request.employee
        violations = Violations()
        role = m.role_from_proto(draft.role, violations)
        employment_type = m.employment_type_from_proto(draft.employment_type, violations)
        hire_date = m.date_from_proto(draft.hire_date, "employee.hire_date", violations)
        skills = m.skills_from_proto(list(draft.skills), violations)
        violations.raise_if_any()
        org_unit_id = parse_name(draft.org_unit, m.ORG_UNITS, "employee.org_unit")

        def work(unit: SqlRosterUnit, access: Access) -> employee_pb2.Employee:
            hired = employee_cases.hire_employee(
                unit,
                access,
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
                onboarding=tuple(t.task for t in draft.onboarding_tasks),
            )
            return m.employee_to_proto(hired)

        return await self._command("HireEmployee", request, employee_pb2.Employee, work)

    async def GetEmployee(
        self, request: rs.GetEmployeeRequest, context: grpc.aio.ServicerContext
    ) -> employee_pb2.Employee:
        employee_id = parse_name(request.name, m.EMPLOYEES, "name")
        return await self._query(
            lambda r, a, c: m.employee_to_proto(
                employee_cases.get_employee(r.employees, r.org_units, a, employee_id=employee_id)
            )
        )

    async def ListEmployees(
        self, request: rs.ListEmployeesRequest, context: grpc.aio.ServicerContext
    ) -> rs.ListEmployeesResponse:
        limit = paging.page_size(request.page_size)
        org_unit_id = parse_optional_name(request.org_unit, m.ORG_UNITS, "org_unit")
        filters: dict[str, object] = {"org_unit": request.org_unit}
        cursor = paging.decode_page_token(request.page_token, filters)
        people = await self._query(
            lambda r, a, c: employee_cases.list_employees(
                r.org_units,
                r.employees,
                a,
                org_unit_id=org_unit_id,
                after=cursor.after[0] if cursor else None,
                limit=limit + 1,
            )
        )
        page, token = paging.trim_page(people, limit, lambda e: (e.id,), filters)
        return rs.ListEmployeesResponse(
            employees=[m.employee_to_proto(e) for e in page], next_page_token=token
        )

    async def UpdateEmployee(
        self, request: rs.UpdateEmployeeRequest, context: grpc.aio.ServicerContext
    ) -> employee_pb2.Employee:
        employee_id = parse_name(request.employee.name, m.EMPLOYEES, "employee.name")
        fields = frozenset(request.update_mask.paths)
        if not fields:
            raise invalid_field("update_mask", "REQUIRED_FIELD_MISSING", "must name the fields to change")
        expected = m.version_from_etag(request.employee.etag)

        def work(unit: SqlRosterUnit, access: Access) -> employee_pb2.Employee:
            current = unit.employees.get(employee_id)
            if current is None:
                raise access.missing("EMPLOYEE_NOT_FOUND", "no such employee", employee=employee_id)
            violations = Violations()
            proposed = m.employee_from_proto(request.employee, current, violations)
            violations.raise_if_any()
            updated = employee_cases.update_employee(
                unit,
                access,
                employee_id=employee_id,
                proposed=proposed,
                fields=fields,
                expected_version=expected,
                now=self._clock(),
            )
            return m.employee_to_proto(updated)

        return await self._command("UpdateEmployee", request, employee_pb2.Employee, work)

    async def _lifecycle(
        self, method: str, request: Any, field: str, transition: Callable[..., Any]
    ) -> employee_pb2.Employee:
        employee_id = parse_name(request.name, m.EMPLOYEES, "name")
        violations = Violations()
        day = m.date_from_proto(getattr(request, field), field, violations)
        if day is None:
            violations.add(field, "REQUIRED_FIELD_MISSING", "must be a date")
        violations.raise_if_any()
        assert day is not None
        if hasattr(request, "reason"):
            _reason(request.reason, "reason")

        def work(unit: SqlRosterUnit, access: Access) -> employee_pb2.Employee:
            changed = employee_cases.change_state(
                unit,
                access,
                employee_id=employee_id,
                effective_date=day,
                transition=lambda e, today: transition(e, day, today),
                now=self._clock(),
            )
            return m.employee_to_proto(changed)

        return await self._command(method, request, employee_pb2.Employee, work)

    async def CompleteOnboardingTask(
        self, request: rs.CompleteOnboardingTaskRequest, context: grpc.aio.ServicerContext
    ) -> employee_pb2.Employee:
        employee_id = parse_name(request.name, m.EMPLOYEES, "name")

        def work(unit: SqlRosterUnit, access: Access) -> employee_pb2.Employee:
            done = employee_cases.complete_onboarding_task(
                unit, access, employee_id=employee_id, task=request.task, now=self._clock()
            )
            return m.employee_to_proto(done)

        return await self._command("CompleteOnboardingTask", request, employee_pb2.Employee, work)

    async def StartLeave(
        self, request: rs.StartLeaveRequest, context: grpc.aio.ServicerContext
    ) -> employee_pb2.Employee:
        return await self._lifecycle(
            "StartLeave",
            request,
            "start_date",
            lambda e, d, t: employee_rules.start_leave(e, start_date=d, today=t),
        )

    async def EndLeave(
        self, request: rs.EndLeaveRequest, context: grpc.aio.ServicerContext
    ) -> employee_pb2.Employee:
        return await self._lifecycle(
            "EndLeave",
            request,
            "return_date",
            lambda e, d, t: employee_rules.end_leave(e, return_date=d, today=t),
        )

    async def TerminateEmployee(
        self, request: rs.TerminateEmployeeRequest, context: grpc.aio.ServicerContext
    ) -> employee_pb2.Employee:
        return await self._lifecycle(
            "TerminateEmployee",
            request,
            "termination_date",
            lambda e, d, t: employee_rules.terminate(e, termination_date=d, today=t),
        )

    # --- transfers ---

    async def RequestTransfer(
        self, request: rs.RequestTransferRequest, context: grpc.aio.ServicerContext
    ) -> transfer_pb2.Transfer:
        draft = request.transfer
        employee_id = parse_name(draft.employee, m.EMPLOYEES, "transfer.employee")
        to_id = parse_name(draft.to_org_unit, m.ORG_UNITS, "transfer.to_org_unit")
        violations = Violations()
        effective = m.date_from_proto(draft.effective_date, "transfer.effective_date", violations)
        violations.raise_if_any()

        def work(unit: SqlRosterUnit, access: Access) -> transfer_pb2.Transfer:
            requested = transfer_cases.request_transfer(
                unit,
                access,
                transfer_id=new_id(),
                employee_id=employee_id,
                to_org_unit_id=to_id,
                effective_date=effective,
                reason=draft.reason,
                now=self._clock(),
            )
            return m.transfer_to_proto(requested)

        return await self._command("RequestTransfer", request, transfer_pb2.Transfer, work)

    async def ExecuteTransfer(
        self, request: rs.ExecuteTransferRequest, context: grpc.aio.ServicerContext
    ) -> transfer_pb2.Transfer:
        transfer_id = parse_name(request.name, m.TRANSFERS, "name")

        def work(unit: SqlRosterUnit, access: Access) -> transfer_pb2.Transfer:
            executed = transfer_cases.execute_transfer(
                unit, access, transfer_id=transfer_id, now=self._clock()
            )
            # Due already (effective today): in effect now rather than at the job's next pass.
            transfer_cases.complete_due_transfers(unit, now=self._clock(), only=executed.id)
            current = unit.transfers.get(transfer_id)
            assert current is not None
            return m.transfer_to_proto(current)

        return await self._command("ExecuteTransfer", request, transfer_pb2.Transfer, work)

    async def RejectTransfer(
        self, request: rs.RejectTransferRequest, context: grpc.aio.ServicerContext
    ) -> transfer_pb2.Transfer:
        transfer_id = parse_name(request.name, m.TRANSFERS, "name")

        def work(unit: SqlRosterUnit, access: Access) -> transfer_pb2.Transfer:
            return m.transfer_to_proto(
                transfer_cases.reject_transfer(unit, access, transfer_id=transfer_id, reason=request.reason)
            )

        return await self._command("RejectTransfer", request, transfer_pb2.Transfer, work)

    async def GetTransfer(
        self, request: rs.GetTransferRequest, context: grpc.aio.ServicerContext
    ) -> transfer_pb2.Transfer:
        transfer_id = parse_name(request.name, m.TRANSFERS, "name")
        return await self._query(
            lambda r, a, c: m.transfer_to_proto(transfer_cases.get_transfer(r, a, transfer_id=transfer_id))  # type: ignore[arg-type]
        )

    async def ListTransfers(
        self, request: rs.ListTransfersRequest, context: grpc.aio.ServicerContext
    ) -> rs.ListTransfersResponse:
        limit = paging.page_size(request.page_size)
        employee_id = parse_optional_name(request.employee, m.EMPLOYEES, "employee")
        state = None
        if request.state:
            state = m.TRANSFER_STATE_FROM_PROTO.get(request.state)
            if state is None:
                raise invalid_field("state", "UNKNOWN_ENUM_VALUE", f"{request.state} is not a transfer state")
        filters: dict[str, object] = {"employee": request.employee, "state": request.state}
        cursor = paging.decode_page_token(request.page_token, filters)
        found = await self._query(
            lambda r, a, c: transfer_cases.list_transfers(
                r,
                a,
                employee_id=employee_id,
                state=state,  # type: ignore[arg-type]
                after=cursor.after[0] if cursor else None,
                limit=limit + 1,
            )
        )
        page, token = paging.trim_page(found, limit, lambda t: (t.id,), filters)
        return rs.ListTransfersResponse(
            transfers=[m.transfer_to_proto(t) for t in page], next_page_token=token
        )

    # --- authority ---

    async def CreateGrant(
        self, request: rs.CreateGrantRequest, context: grpc.aio.ServicerContext
    ) -> grant_pb2.Grant:
        draft = request.grant
        grantee_id = parse_name(draft.grantee, m.EMPLOYEES, "grant.grantee")
        scope_id = parse_name(draft.scope, m.ORG_UNITS, "grant.scope")
        parent_id = parse_optional_name(draft.parent_grant, m.GRANTS, "grant.parent_grant")
        violations = Violations()
        action = m.action_from_proto(draft.action, "grant.action", violations)
        violations.raise_if_any()

        def work(unit: SqlRosterUnit, access: Access) -> grant_pb2.Grant:
            made = grant_cases.create_grant(
                unit,
                access,
                grant_id=new_id(),
                grantee_id=grantee_id,
                action=action,
                scope_id=scope_id,
                limits=m.limits_from_proto(draft.limits),
                valid_from=m.timestamp_or_none(draft.valid_from, draft.HasField("valid_from")),
                valid_until=m.timestamp_or_none(draft.valid_until, draft.HasField("valid_until")),
                parent_id=parent_id,
                reason=draft.reason,
                now=self._clock(),
            )
            return m.grant_to_proto(made)

        return await self._command("CreateGrant", request, grant_pb2.Grant, work)

    async def GetGrant(
        self, request: rs.GetGrantRequest, context: grpc.aio.ServicerContext
    ) -> grant_pb2.Grant:
        grant_id = parse_name(request.name, m.GRANTS, "name")
        return await self._query(
            lambda r, a, c: m.grant_to_proto(grant_cases.get_grant(r, a, grant_id=grant_id))
        )  # type: ignore[arg-type]

    async def ListGrants(
        self, request: rs.ListGrantsRequest, context: grpc.aio.ServicerContext
    ) -> rs.ListGrantsResponse:
        limit = paging.page_size(request.page_size)
        grantee_id = parse_optional_name(request.grantee, m.EMPLOYEES, "grantee")
        filters: dict[str, object] = {"grantee": request.grantee}
        cursor = paging.decode_page_token(request.page_token, filters)
        found = await self._query(
            lambda r, a, c: grant_cases.list_grants(
                r,
                a,
                grantee_id=grantee_id,
                after=cursor.after[0] if cursor else None,
                limit=limit + 1,  # type: ignore[arg-type]
            )
        )
        page, token = paging.trim_page(found, limit, lambda g: (g.id,), filters)
        return rs.ListGrantsResponse(grants=[m.grant_to_proto(g) for g in page], next_page_token=token)

    async def RevokeGrant(
        self, request: rs.RevokeGrantRequest, context: grpc.aio.ServicerContext
    ) -> grant_pb2.Grant:
        grant_id = parse_name(request.name, m.GRANTS, "name")

        def work(unit: SqlRosterUnit, access: Access) -> grant_pb2.Grant:
            return m.grant_to_proto(
                grant_cases.revoke_grant(unit, access, grant_id=grant_id, now=self._clock())
            )

        return await self._command("RevokeGrant", request, grant_pb2.Grant, work)

    async def Authorize(
        self, request: rs.AuthorizeRequest, context: grpc.aio.ServicerContext
    ) -> grant_pb2.AuthorizationDecision:
        actor_id = parse_name(request.actor, m.EMPLOYEES, "actor")
        violations = Violations()
        action = m.action_from_proto(request.action, "action", violations)
        violations.raise_if_any()
        assert action is not None
        if request.target.startswith(f"{m.EMPLOYEES}/"):
            target_employee, target_unit = parse_name(request.target, m.EMPLOYEES, "target"), None
        else:
            target_employee, target_unit = None, parse_name(request.target, m.ORG_UNITS, "target")
        amount = Amount(request.amount.days, request.amount.minutes, request.amount.amount_minor)

        def decide(r: SqlRosterReader, access: Access, c: Connection) -> grant_pb2.AuthorizationDecision:
            moment = m.timestamp_or_none(request.time, request.HasField("time")) or self._clock()
            if target_employee is not None:
                _, path = employee_cases.visible_employee(
                    r.employees, r.org_units, access, employee_id=target_employee
                )
            else:
                path = org_unit_cases.get_org_unit(r.org_units, access, unit_id=target_unit).path  # type: ignore[arg-type]
            actor = r.employees.get(actor_id)
            if actor is None:
                raise access.missing("EMPLOYEE_NOT_FOUND", "actor: no such employee", field="actor")
            decision = grant_cases.authorize(
                r,
                access,
                actor=request.actor,  # type: ignore[arg-type]
                actor_is_administrator=actor.role.value == "ADMIN" and actor.state.value != "TERMINATED",
                action=action,
                target_path=path,
                amount=amount,
                moment=moment,
            )
            return grant_pb2.AuthorizationDecision(
                allowed=decision.allowed,
                outcome=decision.outcome.value,
                grant_chain=[f"{m.GRANTS}/{g.id}" for g in decision.chain],
                explanation=decision.explain(),
            )

        return await self._query(decide)

    # --- audit ---

    async def ListAuditRecords(
        self, request: rs.ListAuditRecordsRequest, context: grpc.aio.ServicerContext
    ) -> rs.ListAuditRecordsResponse:
        if not request.entity:
            raise invalid_field("entity", "REQUIRED_FIELD_MISSING", "must name an entity")

        def may_read(r: SqlRosterReader, access: Access) -> None:
            if not access.sees_everything:
                raise permission_denied("AUDITORS_ONLY", "audit records are for administrators and HR")

        return await self._audit_page(
            request.page_size,
            request.page_token,
            {"entity": request.entity},
            audit_log.c.entity == request.entity,
            may_read,
        )

    async def ListGrantUses(
        self, request: rs.ListGrantUsesRequest, context: grpc.aio.ServicerContext
    ) -> rs.ListAuditRecordsResponse:
        grant_id = parse_name(request.grant, m.GRANTS, "grant")

        def may_read(r: SqlRosterReader, access: Access) -> None:
            grant_cases.get_grant(r, access, grant_id=grant_id)  # type: ignore[arg-type]

        # Decisions name their whole chain, so a grant's uses include those of its delegations.
        return await self._audit_page(
            request.page_size,
            request.page_token,
            {"grant": request.grant},
            audit_log.c.acting_under.contains(f"grants/{grant_id}"),
            may_read,
        )

    async def _audit_page(
        self,
        page_size: int,
        page_token: str,
        filters: dict[str, object],
        condition: Any,
        may_read: Callable[[SqlRosterReader, Access], None],
    ) -> rs.ListAuditRecordsResponse:
        limit = paging.page_size(page_size)
        cursor = paging.decode_page_token(page_token, filters)

        def read(r: SqlRosterReader, access: Access, c: Connection) -> list[Any]:
            may_read(r, access)
            query = select(audit_log).where(condition).order_by(audit_log.c.id).limit(limit + 1)
            if cursor:
                query = query.where(audit_log.c.id > int(cursor.after[0]))
            return list(c.execute(query))

        rows = await self._query(read)
        page, token = paging.trim_page(rows, limit, lambda row: (str(row.id),), filters)
        records = []
        for row in page:
            record = audit_pb2.AuditRecord(
                sequence=row.id,
                actor=row.actor,
                acting_under=row.acting_under,
                action=row.action,
                entity=row.entity,
                request_id=row.request_id,
            )
            record.time.FromDatetime(row.occurred_at)
            if row.before:
                json_format.Parse(row.before, record.before)
            if row.after:
                json_format.Parse(row.after, record.after)
            records.append(record)
        return rs.ListAuditRecordsResponse(audit_records=records, next_page_token=token)
