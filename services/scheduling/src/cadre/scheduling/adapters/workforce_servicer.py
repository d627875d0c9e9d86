"""The day-to-day RPCs of SchedulingService: shift templates, schedules, leave, agent states.

Mixed into `SchedulingServicer`. Every call resolves its caller from the JWT subject and the
roster projection, checks scope before existence, and runs its use case in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import grpc
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2
from google.protobuf.message import Message

from cadre.chassis import paging
from cadre.chassis.db import Database, UnitOfWork
from cadre.chassis.errors import DomainError, Violations, invalid_field
from cadre.chassis.idempotency import run_idempotent, validate_request_id
from cadre.chassis.operations import OperationRunner, Progress
from cadre.chassis.proto_dates import date_from_proto
from cadre.chassis.resource_names import new_id, parse_name
from cadre.scheduling.adapters import workforce_mapping as w
from cadre.scheduling.adapters.workforce_unit import Authorities, SqlWorkforce
from cadre.scheduling.app import attendance as attendance_cases
from cadre.scheduling.app import leave as leave_cases
from cadre.scheduling.app import overtime as overtime_cases
from cadre.scheduling.app import schedules as schedule_cases
from cadre.scheduling.app import shift_templates as template_cases
from cadre.scheduling.app import swaps as swap_cases
from cadre.scheduling.domain import overtime as overtime_rules
from cadre.scheduling.domain.attendance import AgentState, StateChange
from cadre.scheduling.domain.rostering import problem as engine_problem
from cadre.scheduling.v1 import (
    leave_pb2,
    overtime_pb2,
    schedule_pb2,
    scheduling_service_pb2,
    shift_template_pb2,
    swap_pb2,
)

pb = scheduling_service_pb2
T = TypeVar("T")
M = TypeVar("M", bound=Message)


@dataclass(frozen=True)
class _Child(Generic[M]):
    """A child resource the verbs act on: where its name lives and how it goes out."""

    collection: str
    child: str
    parent_key: str
    child_key: str
    message: type[M]
    to_proto: Callable[[Any], M]


LEAVE = _Child(
    w.EMPLOYEES, "leaveRequests", "employee_id", "request_id", leave_pb2.LeaveRequest, w.leave_to_proto
)
SWAP = _Child(w.ORG_UNITS, "shiftSwaps", "org_unit_id", "swap_id", swap_pb2.ShiftSwap, w.swap_to_proto)
OFFER = _Child(
    w.ORG_UNITS, "overtimeOffers", "org_unit_id", "offer_id", overtime_pb2.OvertimeOffer, w.offer_to_proto
)
SERVICE = pb.DESCRIPTOR.services_by_name["SchedulingService"].full_name
SCHEDULES_PAGE = {"default": 20, "maximum": 100}


def _org_unit(name: str, field: str) -> str:
    return parse_name(name, w.ORG_UNITS, field)


def _employee(name: str, field: str) -> str:
    return parse_name(name, w.EMPLOYEES, field)


class WorkforceRpcs:
    _db: Database
    _operations: OperationRunner
    _clock: Callable[[], datetime]
    _authorities: Authorities

    # ------------------------------------------------------------ plumbing

    def _write(self, work: Callable[[SqlWorkforce], T]) -> T:
        with self._db.transaction() as unit:
            return work(SqlWorkforce(unit.connection, self._authorities, unit))

    async def _writing(self, work: Callable[[SqlWorkforce], T]) -> T:
        return await self._db.run(self._write, work)

    def _look(self, query: Callable[[SqlWorkforce], T]) -> T:
        with self._db.reader() as connection:
            return query(SqlWorkforce(connection, self._authorities))

    async def _looking(self, query: Callable[[SqlWorkforce], T]) -> T:
        return await self._db.run(self._look, query)

    async def _page_by_id(
        self,
        request: Any,
        filters: dict[str, object],
        lister: Callable[[SqlWorkforce, str | None, int, datetime], Sequence[Any]],
    ) -> tuple[Sequence[Any], str]:
        """One page of a list in id order; the page token is bound to ``filters``."""
        limit = paging.page_size(request.page_size)
        cursor = paging.decode_page_token(request.page_token, filters)
        after = cursor.after[0] if cursor else None
        now = self._clock()
        found = await self._looking(lambda x: lister(x, after, limit + 1, now))
        return paging.trim_page(list(found), limit, lambda item: (item.id,), filters)

    async def _change(
        self,
        verb: str,
        request: Any,
        kind: _Child[M],
        case: Callable[..., Any],
        *,
        versioned: bool = True,
    ) -> M:
        """A verb on one child resource (approve, reject, cancel, accept, withdraw): its name
        parsed, the etag as the expected version where the verb takes one, once per request id."""
        parent_id, child_id = w.child(request.name, kind.collection, kind.child, "name")
        keys: dict[str, object] = {kind.parent_key: parent_id, kind.child_key: child_id}
        if versioned:
            keys["expected_version"] = w.version_from_etag(request.etag, "etag")
        now = self._clock()
        return await self._once(
            verb, request, kind.message, lambda x: kind.to_proto(case(x, **keys, now=now))
        )

    async def _once(
        self, method: str, request: Any, response_type: type[M], work: Callable[[SqlWorkforce], M]
    ) -> M:
        if request.request_id:
            validate_request_id(request.request_id)

        def once() -> M:
            return run_idempotent(
                self._db,
                method=f"{SERVICE}/{method}",
                request=request,
                request_id=request.request_id,
                response_type=response_type,
                work=lambda unit: work(SqlWorkforce(unit.connection, self._authorities, unit)),
            )

        def run() -> M:
            try:
                return once()
            except DomainError:
                if not request.request_id:
                    raise
                # A concurrent twin with the same request id may have committed while this one
                # waited on the same rows (PostgreSQL runs both): its answer is the answer.
                return once()

        return await self._db.run(run)

    # ------------------------------------------------------------ shift templates

    async def CreateShiftTemplate(
        self, request: pb.CreateShiftTemplateRequest, context: grpc.aio.ServicerContext
    ) -> shift_template_pb2.ShiftTemplate:
        unit_id = _org_unit(request.parent, "parent")
        settings = w.template_settings(request.shift_template)
        now = self._clock()
        return await self._once(
            "CreateShiftTemplate",
            request,
            shift_template_pb2.ShiftTemplate,
            lambda x: w.template_to_proto(
                template_cases.create_template(
                    x, org_unit_id=unit_id, template_id=new_id(), settings=settings, now=now
                )
            ),
        )

    async def GetShiftTemplate(
        self, request: pb.GetShiftTemplateRequest, context: grpc.aio.ServicerContext
    ) -> shift_template_pb2.ShiftTemplate:
        unit_id, template_id = w.child(request.name, w.ORG_UNITS, "shiftTemplates", "name")
        now = self._clock()
        return await self._looking(
            lambda x: w.template_to_proto(
                template_cases.get_template(x, org_unit_id=unit_id, template_id=template_id, now=now)
            )
        )

    async def ListShiftTemplates(
        self, request: pb.ListShiftTemplatesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListShiftTemplatesResponse:
        unit_id = _org_unit(request.parent, "parent")
        page, token = await self._page_by_id(
            request,
            {"parent": unit_id},
            lambda x, after, limit, now: template_cases.list_templates(
                x, org_unit_id=unit_id, after=after, limit=limit, now=now
            ),
        )
        return pb.ListShiftTemplatesResponse(
            shift_templates=[w.template_to_proto(t) for t in page], next_page_token=token
        )

    async def UpdateShiftTemplate(
        self, request: pb.UpdateShiftTemplateRequest, context: grpc.aio.ServicerContext
    ) -> shift_template_pb2.ShiftTemplate:
        unit_id, template_id = w.child(
            request.shift_template.name, w.ORG_UNITS, "shiftTemplates", "shift_template.name"
        )
        expected = w.version_from_etag(request.shift_template.etag, "shift_template.etag")
        changes = w.template_changes(request.shift_template, list(request.update_mask.paths))
        now = self._clock()
        return await self._writing(
            lambda x: w.template_to_proto(
                template_cases.update_template(
                    x,
                    org_unit_id=unit_id,
                    template_id=template_id,
                    changes=changes,
                    expected_version=expected,
                    now=now,
                )
            )
        )

    async def DeleteShiftTemplate(
        self, request: pb.DeleteShiftTemplateRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        unit_id, template_id = w.child(request.name, w.ORG_UNITS, "shiftTemplates", "name")
        expected = w.version_from_etag(request.etag, "etag")
        now = self._clock()
        await self._writing(
            lambda x: template_cases.delete_template(
                x, org_unit_id=unit_id, template_id=template_id, expected_version=expected, now=now
            )
        )
        return empty_pb2.Empty()

    # ------------------------------------------------------------ schedules

    async def GenerateSchedule(
        self, request: pb.GenerateScheduleRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        unit_id = _org_unit(request.parent, "parent")
        violations = Violations()
        first_day = (
            date_from_proto(request.start_date, "start_date", violations)
            if request.HasField("start_date")
            else None
        )
        queue_ids = []
        for i, name in enumerate(request.queues):
            try:
                queue_ids.append(parse_name(name, "queues", f"queues[{i}]"))
            except Exception:
                violations.add(f"queues[{i}]", "MALFORMED_RESOURCE_NAME", "must look like queues/{id}")
        base_id = None
        if request.base_schedule:
            base_unit, base_id = w.child(request.base_schedule, w.ORG_UNITS, "schedules", "base_schedule")
            if base_unit != unit_id:
                violations.add("base_schedule", "OTHER_TEAM", "must be a schedule of parent")
        generation = schedule_cases.check_generation(
            org_unit_id=unit_id,
            first_day=first_day,
            days=request.days,
            queue_ids=queue_ids,
            budget=request.time_budget_seconds,
            seed=request.seed,
            base_schedule_id=base_id,
            violations=violations,
        )
        violations.raise_if_any()
        assert generation is not None
        metadata = schedule_pb2.GenerateScheduleMetadata(org_unit=request.parent, stage="queued")
        if request.request_id:
            validate_request_id(request.request_id)
        created: list[str] = []
        resolved: list[schedule_cases.GenerationRequest] = []
        now = self._clock()

        def work(unit: UnitOfWork) -> operations_pb2.Operation:
            x = SqlWorkforce(unit.connection, self._authorities, unit)
            resolved.append(schedule_cases.resolve_generation(x, generation, now=now))
            operation = self._operations.create(unit, method=f"{SERVICE}/GenerateSchedule", metadata=metadata)
            created.append(operation.name)
            return operation

        operation = await self._db.run(
            lambda: run_idempotent(
                self._db,
                method=f"{SERVICE}/GenerateSchedule",
                request=request,
                request_id=request.request_id,
                response_type=operations_pb2.Operation,
                work=work,
            )
        )
        if created and created[-1] == operation.name:
            self._run_generation(operation, metadata, resolved[-1])
        return operation

    def _run_generation(
        self,
        operation: operations_pb2.Operation,
        metadata: schedule_pb2.GenerateScheduleMetadata,
        generation: schedule_cases.GenerationRequest,
    ) -> None:
        schedule_id = new_id()

        def compute(progress: Progress[schedule_pb2.GenerateScheduleMetadata]) -> Any:
            def stage(name: str, percent: int, best: float | None = None, bound: float | None = None) -> None:
                def update(m: schedule_pb2.GenerateScheduleMetadata) -> None:
                    m.stage, m.percent_done = name, percent
                    if best is not None:
                        m.best_objective = best
                    if bound is not None:
                        m.lower_bound = bound

                progress.report(update, force=best is None)

            stage("building the problem", 5)
            problem = self._look(lambda x: schedule_cases.build_problem(x, generation))

            def on_progress(p: engine_problem.Progress) -> None:
                stage(
                    f"searching ({p.phase})", 10 + int(85 * min(1.0, p.fraction)), p.objective, p.lower_bound
                )

            result = schedule_cases.solve(problem, generation, on_progress)
            stage("storing", 98, float(result.objective), float(result.lower_bound))
            return result

        def finish(unit: UnitOfWork, result: Any) -> schedule_pb2.Schedule:
            x = SqlWorkforce(unit.connection, self._authorities, unit)
            base = (
                x.schedules.get(generation.org_unit_id, generation.base_schedule_id)
                if generation.base_schedule_id
                else None
            )
            draft = schedule_cases.draft_from(
                generation, result, schedule_id=schedule_id, base=base, now=self._clock()
            )
            return w.schedule_to_proto(schedule_cases.store_draft(x, draft))

        self._operations.run(operation, metadata, compute, finish)

    async def GetSchedule(
        self, request: pb.GetScheduleRequest, context: grpc.aio.ServicerContext
    ) -> schedule_pb2.Schedule:
        unit_id, schedule_id = w.child(request.name, w.ORG_UNITS, "schedules", "name")
        now = self._clock()
        return await self._looking(
            lambda x: w.schedule_to_proto(
                schedule_cases.get_schedule(x, org_unit_id=unit_id, schedule_id=schedule_id, now=now)
            )
        )

    async def ListSchedules(
        self, request: pb.ListSchedulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSchedulesResponse:
        unit_id = _org_unit(request.parent, "parent")
        limit = paging.page_size(request.page_size, **SCHEDULES_PAGE)  # type: ignore[arg-type]
        filters: dict[str, object] = {"parent": unit_id}
        cursor = paging.decode_page_token(request.page_token, filters)
        after = None
        if cursor is not None:
            try:
                after = (datetime.fromisoformat(cursor.after[0]), cursor.after[1])
            except (ValueError, IndexError):
                raise invalid_field(
                    "page_token", "PAGE_TOKEN_MALFORMED", "is not a token this API issued"
                ) from None
        now = self._clock()
        found = await self._looking(
            lambda x: schedule_cases.list_schedules(
                x, org_unit_id=unit_id, after=after, limit=limit + 1, now=now
            )
        )
        page, token = paging.trim_page(
            list(found), limit, lambda s: (s.created_at.isoformat(), s.id), filters
        )
        return pb.ListSchedulesResponse(
            schedules=[w.schedule_to_proto(s, with_shifts=False) for s in page], next_page_token=token
        )

    async def PublishSchedule(
        self, request: pb.PublishScheduleRequest, context: grpc.aio.ServicerContext
    ) -> schedule_pb2.Schedule:
        unit_id, schedule_id = w.child(request.name, w.ORG_UNITS, "schedules", "name")
        expected = w.version_from_etag(request.etag, "etag")
        now = self._clock()
        return await self._once(
            "PublishSchedule",
            request,
            schedule_pb2.Schedule,
            lambda x: w.schedule_to_proto(
                schedule_cases.publish_schedule(
                    x, org_unit_id=unit_id, schedule_id=schedule_id, expected_version=expected, now=now
                )
            ),
        )

    async def GetCoverageReport(
        self, request: pb.GetCoverageReportRequest, context: grpc.aio.ServicerContext
    ) -> schedule_pb2.CoverageReport:
        unit_id, schedule_id = w.child(request.schedule, w.ORG_UNITS, "schedules", "schedule")
        now = self._clock()
        report = await self._looking(
            lambda x: schedule_cases.coverage_report(x, org_unit_id=unit_id, schedule_id=schedule_id, now=now)
        )
        s = report.schedule
        gap = 0.0 if s.optimal or s.objective <= 0 else max(0.0, (s.objective - s.lower_bound) / s.objective)
        return schedule_pb2.CoverageReport(
            schedule=request.schedule,
            intervals=[
                schedule_pb2.IntervalCoverage(
                    queue=f"queues/{r.queue_id}",
                    start_time=w.timestamp(r.start_time),
                    required=r.required,
                    scheduled=r.scheduled,
                    projected_service_level=r.projected_service_level,
                    shortfall=r.shortfall,
                )
                for r in report.rows
            ],
            objective=s.objective,
            objective_lower_bound=s.lower_bound,
            relative_gap=gap,
        )

    # ------------------------------------------------------------ leave

    async def CreateLeaveRequest(
        self, request: pb.CreateLeaveRequestRequest, context: grpc.aio.ServicerContext
    ) -> leave_pb2.LeaveRequest:
        employee_id = _employee(request.parent, "parent")
        r = request.leave_request
        start = w.moment(r.start_time) if r.HasField("start_time") else None
        end = w.moment(r.end_time) if r.HasField("end_time") else None
        leave_cases.rules.check_request(leave_type=r.leave_type, start=start, end=end, reason=r.reason)
        now = self._clock()
        return await self._once(
            "CreateLeaveRequest",
            request,
            leave_pb2.LeaveRequest,
            lambda x: w.leave_to_proto(
                leave_cases.request_leave(
                    x,
                    employee_id=employee_id,
                    request_id=new_id(),
                    leave_type=r.leave_type,
                    start=start,
                    end=end,
                    reason=r.reason,
                    now=now,
                )
            ),
        )

    async def GetLeaveRequest(
        self, request: pb.GetLeaveRequestRequest, context: grpc.aio.ServicerContext
    ) -> leave_pb2.LeaveRequest:
        employee_id, request_id = w.child(request.name, w.EMPLOYEES, "leaveRequests", "name")
        now = self._clock()
        return await self._looking(
            lambda x: w.leave_to_proto(
                leave_cases.get_leave(x, employee_id=employee_id, request_id=request_id, now=now)
            )
        )

    async def ListLeaveRequests(
        self, request: pb.ListLeaveRequestsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListLeaveRequestsResponse:
        employee_id = None if request.parent == "employees/-" else _employee(request.parent, "parent")
        state = w.state_filter(request.state, w.LEAVE_STATE_FROM_PROTO, "leave request")
        page, token = await self._page_by_id(
            request,
            {"parent": request.parent, "state": int(request.state)},
            lambda x, after, limit, now: leave_cases.list_leave(
                x, employee_id=employee_id, state=state, after=after, limit=limit, now=now
            ),
        )
        return pb.ListLeaveRequestsResponse(
            leave_requests=[w.leave_to_proto(r) for r in page], next_page_token=token
        )

    async def ApproveLeaveRequest(
        self, request: pb.ApproveLeaveRequestRequest, context: grpc.aio.ServicerContext
    ) -> leave_pb2.LeaveRequest:
        return await self._change("ApproveLeaveRequest", request, LEAVE, leave_cases.approve_leave)

    async def RejectLeaveRequest(
        self, request: pb.RejectLeaveRequestRequest, context: grpc.aio.ServicerContext
    ) -> leave_pb2.LeaveRequest:
        return await self._change("RejectLeaveRequest", request, LEAVE, leave_cases.reject_leave)

    async def CancelLeaveRequest(
        self, request: pb.CancelLeaveRequestRequest, context: grpc.aio.ServicerContext
    ) -> leave_pb2.LeaveRequest:
        return await self._change("CancelLeaveRequest", request, LEAVE, leave_cases.cancel_leave)

    async def UpdateLeaveBalance(
        self, request: pb.UpdateLeaveBalanceRequest, context: grpc.aio.ServicerContext
    ) -> leave_pb2.LeaveBalance:
        b = request.leave_balance
        employee_id, leave_type = w.child(b.name, w.EMPLOYEES, "leaveBalances", "leave_balance.name")
        expected = w.version_from_etag(b.etag, "leave_balance.etag")
        now = self._clock()
        remaining, version = await self._writing(
            lambda x: leave_cases.set_balance(
                x,
                employee_id=employee_id,
                leave_type=leave_type,
                remaining=b.remaining_minutes,
                expected_version=expected,
                now=now,
            )
        )
        return leave_pb2.LeaveBalance(name=b.name, remaining_minutes=remaining, etag=w.etag(version))

    async def GetLeaveBalance(
        self, request: pb.GetLeaveBalanceRequest, context: grpc.aio.ServicerContext
    ) -> leave_pb2.LeaveBalance:
        employee_id, leave_type = w.child(request.name, w.EMPLOYEES, "leaveBalances", "name")
        now = self._clock()
        remaining, version = await self._looking(
            lambda x: leave_cases.get_balance(x, employee_id=employee_id, leave_type=leave_type, now=now)
        )
        return leave_pb2.LeaveBalance(name=request.name, remaining_minutes=remaining, etag=w.etag(version))

    # ------------------------------------------------------------ shift swaps

    async def CreateShiftSwap(
        self, request: pb.CreateShiftSwapRequest, context: grpc.aio.ServicerContext
    ) -> swap_pb2.ShiftSwap:
        unit_id = _org_unit(request.parent, "parent")
        s = request.shift_swap
        violations = Violations()
        people = []
        for field in ("requester", "partner"):
            try:
                people.append(_employee(getattr(s, field), f"shift_swap.{field}"))
            except Exception:
                violations.add(
                    f"shift_swap.{field}", "MALFORMED_RESOURCE_NAME", "must look like employees/{id}"
                )
        for field in ("requester_shift_start", "partner_shift_start"):
            if not s.HasField(field):
                violations.add(f"shift_swap.{field}", "REQUIRED", "is required")
        violations.raise_if_any()
        requester, partner = people
        now = self._clock()
        return await self._once(
            "CreateShiftSwap",
            request,
            swap_pb2.ShiftSwap,
            lambda x: w.swap_to_proto(
                swap_cases.create_swap(
                    x,
                    org_unit_id=unit_id,
                    swap_id=new_id(),
                    requester_id=requester,
                    requester_start=w.moment(s.requester_shift_start),
                    partner_id=partner,
                    partner_start=w.moment(s.partner_shift_start),
                    now=now,
                )
            ),
        )

    async def GetShiftSwap(
        self, request: pb.GetShiftSwapRequest, context: grpc.aio.ServicerContext
    ) -> swap_pb2.ShiftSwap:
        unit_id, swap_id = w.child(request.name, w.ORG_UNITS, "shiftSwaps", "name")
        now = self._clock()
        return await self._looking(
            lambda x: w.swap_to_proto(swap_cases.get_swap(x, org_unit_id=unit_id, swap_id=swap_id, now=now))
        )

    async def ApproveShiftSwap(
        self, request: pb.ApproveShiftSwapRequest, context: grpc.aio.ServicerContext
    ) -> swap_pb2.ShiftSwap:
        return await self._change("ApproveShiftSwap", request, SWAP, swap_cases.approve_swap)

    async def ListShiftSwaps(
        self, request: pb.ListShiftSwapsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListShiftSwapsResponse:
        unit_id = _org_unit(request.parent, "parent")
        state = w.state_filter(request.state, w.SWAP_STATE_FROM_PROTO, "shift swap")
        employee_id = _employee(request.employee, "employee") if request.employee else None
        page, token = await self._page_by_id(
            request,
            {
                "parent": unit_id,
                "state": int(request.state),
                "employee": employee_id or "",
            },
            lambda x, after, limit, now: swap_cases.list_swaps(
                x,
                org_unit_id=unit_id,
                state=state,
                employee_id=employee_id,
                after=after,
                limit=limit,
                now=now,
            ),
        )
        return pb.ListShiftSwapsResponse(
            shift_swaps=[w.swap_to_proto(s) for s in page], next_page_token=token
        )

    async def RejectShiftSwap(
        self, request: pb.RejectShiftSwapRequest, context: grpc.aio.ServicerContext
    ) -> swap_pb2.ShiftSwap:
        return await self._change("RejectShiftSwap", request, SWAP, swap_cases.reject_swap)

    async def CancelShiftSwap(
        self, request: pb.CancelShiftSwapRequest, context: grpc.aio.ServicerContext
    ) -> swap_pb2.ShiftSwap:
        return await self._change("CancelShiftSwap", request, SWAP, swap_cases.cancel_swap)

    # ------------------------------------------------------------ overtime

    async def CreateOvertimeOffer(
        self, request: pb.CreateOvertimeOfferRequest, context: grpc.aio.ServicerContext
    ) -> overtime_pb2.OvertimeOffer:
        unit_id = _org_unit(request.parent, "parent")
        o = request.overtime_offer
        queue_id = parse_name(o.queue, "queues", "overtime_offer.queue")
        start = w.moment(o.start_time) if o.HasField("start_time") else None
        end = w.moment(o.end_time) if o.HasField("end_time") else None
        overtime_rules.check_offer(start, end)
        assert start is not None and end is not None
        now = self._clock()
        return await self._once(
            "CreateOvertimeOffer",
            request,
            overtime_pb2.OvertimeOffer,
            lambda x: w.offer_to_proto(
                overtime_cases.create_offer(
                    x,
                    org_unit_id=unit_id,
                    offer_id=new_id(),
                    queue_id=queue_id,
                    start=start,
                    end=end,
                    now=now,
                )
            ),
        )

    async def GetOvertimeOffer(
        self, request: pb.GetOvertimeOfferRequest, context: grpc.aio.ServicerContext
    ) -> overtime_pb2.OvertimeOffer:
        unit_id, offer_id = w.child(request.name, w.ORG_UNITS, "overtimeOffers", "name")
        now = self._clock()
        return await self._looking(
            lambda x: w.offer_to_proto(
                overtime_cases.get_offer(x, org_unit_id=unit_id, offer_id=offer_id, now=now)
            )
        )

    async def AcceptOvertimeOffer(
        self, request: pb.AcceptOvertimeOfferRequest, context: grpc.aio.ServicerContext
    ) -> overtime_pb2.OvertimeOffer:
        return await self._change(
            "AcceptOvertimeOffer", request, OFFER, overtime_cases.accept_offer, versioned=False
        )

    async def ListOvertimeOffers(
        self, request: pb.ListOvertimeOffersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOvertimeOffersResponse:
        unit_id = _org_unit(request.parent, "parent")
        state = w.state_filter(request.state, w.OFFER_STATE_FROM_PROTO, "overtime offer")
        page, token = await self._page_by_id(
            request,
            {"parent": unit_id, "state": int(request.state)},
            lambda x, after, limit, now: overtime_cases.list_offers(
                x, org_unit_id=unit_id, state=state, after=after, limit=limit, now=now
            ),
        )
        return pb.ListOvertimeOffersResponse(
            overtime_offers=[w.offer_to_proto(o) for o in page], next_page_token=token
        )

    async def WithdrawOvertimeOffer(
        self, request: pb.WithdrawOvertimeOfferRequest, context: grpc.aio.ServicerContext
    ) -> overtime_pb2.OvertimeOffer:
        return await self._change("WithdrawOvertimeOffer", request, OFFER, overtime_cases.withdraw_offer)

    # ------------------------------------------------------------ agent states

    async def RecordAgentStates(
        self, request: pb.RecordAgentStatesRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordAgentStatesResponse:
        changes = state_changes(request.changes, "changes")
        now = self._clock()
        new, known = await self._writing(
            lambda x: attendance_cases.record_states(x, x.caller(now), changes, now=now)
        )
        return pb.RecordAgentStatesResponse(recorded=new, duplicates=known)

    async def ListDailyAdherence(
        self, request: pb.ListDailyAdherenceRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDailyAdherenceResponse:
        employee_id = _employee(request.parent, "parent")
        violations = Violations()
        first = date_from_proto(request.start_date, "start_date", violations)
        last = date_from_proto(request.end_date, "end_date", violations)
        if first is None and not violations:
            violations.add("start_date", "REQUIRED", "is required")
        if last is None and not violations:
            violations.add("end_date", "REQUIRED", "is required")
        violations.raise_if_any()
        assert first is not None and last is not None
        now = self._clock()
        days = await self._looking(
            lambda x: attendance_cases.list_days(x, employee_id=employee_id, first=first, last=last, now=now)
        )
        return pb.ListDailyAdherenceResponse(days=[w.adherence_to_proto(f, rev) for f, rev in days])


def state_changes(changes: Any, field: str) -> list[StateChange]:
    """Agent state changes from protobuf, every bad one named."""
    violations = Violations()
    found = []
    if len(changes) > attendance_cases.MAX_CHANGES:
        raise invalid_field(field, "TOO_MANY", f"at most {attendance_cases.MAX_CHANGES} per call")
    for i, c in enumerate(changes):
        try:
            employee_id = parse_name(c.employee, w.EMPLOYEES, f"{field}[{i}].employee")
        except Exception:
            violations.add(
                f"{field}[{i}].employee", "MALFORMED_RESOURCE_NAME", "must look like employees/{id}"
            )
            continue
        if c.state not in AgentState._value2member_map_:
            violations.add(f"{field}[{i}].state", "STATE_INVALID", "must be a known agent state")
            continue
        if not c.HasField("time"):
            violations.add(f"{field}[{i}].time", "REQUIRED", "is required")
            continue
        found.append(StateChange(employee_id, w.moment(c.time), AgentState(c.state)))
    violations.raise_if_any()
    return found
