"""SchedulingService over gRPC: parses requests, runs use cases on the database pool.

Requests are checked field by field before any database work, so bad input never takes a
write lock. Numbers (forecasts, staffing) are computed outside write transactions: on a
read snapshot, then stored in a short transaction that re-checks what they depend on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2
from google.protobuf.message import Message

from cadre.chassis import paging
from cadre.chassis.db import Database, UnitOfWork
from cadre.chassis.errors import Violations, invalid_field
from cadre.chassis.idempotency import run_idempotent, validate_request_id
from cadre.chassis.operations import OperationRunner, Progress
from cadre.chassis.proto_dates import date_from_proto
from cadre.chassis.resource_names import new_id, parse_name
from cadre.scheduling.adapters import proto_mapping as m
from cadre.scheduling.adapters.repository import SqlSchedulingReads, SqlSchedulingUnit
from cadre.scheduling.adapters.workforce_servicer import WorkforceRpcs
from cadre.scheduling.adapters.workforce_unit import Authorities
from cadre.scheduling.app import forecasts as forecast_cases
from cadre.scheduling.app import history as history_cases
from cadre.scheduling.app import queues as queue_cases
from cadre.scheduling.app import requirements as requirement_cases
from cadre.scheduling.app.history import ImportResult
from cadre.scheduling.app.ports import NewestFirstCursor
from cadre.scheduling.domain.forecasting import (
    DEFAULT_PROFILE_WEEKS,
    Forecast,
    ForecastOptions,
    check_options,
)
from cadre.scheduling.domain.scenario import Scenario, check_scenario
from cadre.scheduling.domain.staffing import Requirement
from cadre.scheduling.v1 import (
    forecast_pb2,
    queue_pb2,
    requirement_pb2,
    scheduling_service_pb2,
    scheduling_service_pb2_grpc,
)

T = TypeVar("T")
M = TypeVar("M", bound=Message)
Clock = Callable[[], datetime]
SERVICE = scheduling_service_pb2.DESCRIPTOR.services_by_name["SchedulingService"].full_name
pb = scheduling_service_pb2

# Page sizes as the contract states them: history pages are long, result pages short
# (each forecast or requirement summary carries its parameters or targets).
RECORDS_PAGE = {"default": 500, "maximum": 10_000}
RESULTS_PAGE = {"default": 20, "maximum": 100}


R = TypeVar("R", Forecast, Requirement)


def _newest_first_key(item: Forecast | Requirement) -> tuple[str, str]:
    return (item.created_at.isoformat(), item.id)


def _newest_first_cursor(token: str, filters: dict[str, object]) -> NewestFirstCursor | None:
    cursor = paging.decode_page_token(token, filters)
    if cursor is None:
        return None
    try:
        created, last_id = cursor.after
        return datetime.fromisoformat(created), last_id
    except ValueError:
        raise invalid_field("page_token", "PAGE_TOKEN_MALFORMED", "is not a token this API issued") from None


def _import_response(result: ImportResult) -> pb.ImportIntervalRecordsResponse:
    return pb.ImportIntervalRecordsResponse(inserted=result.inserted, replaced=result.replaced)


class SchedulingServicer(WorkforceRpcs, scheduling_service_pb2_grpc.SchedulingServiceServicer):
    def __init__(
        self,
        db: Database,
        operations: OperationRunner,
        *,
        clock: Clock = lambda: datetime.now(UTC),
        authorities: Authorities | None = None,
    ) -> None:
        self._db = db
        self._operations = operations
        self._clock = clock
        self._authorities = authorities or Authorities()

    def _once_per_request_id(
        self, method: str, request: Any, response_type: type[M], work: Callable[[UnitOfWork], M]
    ) -> M:
        """`work` in one transaction, done once per request id: a retry gets the first answer."""
        return run_idempotent(
            self._db,
            method=f"{SERVICE}/{method}",
            request=request,
            request_id=request.request_id,
            response_type=response_type,
            work=work,
        )

    def _read(self, query: Callable[[SqlSchedulingReads], T]) -> T:
        with self._db.reader() as connection:
            return query(SqlSchedulingReads(connection))

    async def _reading(self, query: Callable[[SqlSchedulingReads], T]) -> T:
        return await self._db.run(self._read, query)

    # ------------------------------------------------------------ queues

    async def CreateQueue(
        self, request: pb.CreateQueueRequest, context: grpc.aio.ServicerContext
    ) -> queue_pb2.Queue:
        return await self._db.run(self._create_queue, request)

    def _create_queue(self, request: pb.CreateQueueRequest) -> queue_pb2.Queue:
        settings = m.settings_from_proto(request.queue)

        def work(unit: UnitOfWork) -> queue_pb2.Queue:
            created = queue_cases.create_queue(
                SqlSchedulingUnit(unit), queue_id=new_id(), settings=settings, now=self._clock()
            )
            return m.queue_to_proto(created)

        return self._once_per_request_id("CreateQueue", request, queue_pb2.Queue, work)

    async def GetQueue(
        self, request: pb.GetQueueRequest, context: grpc.aio.ServicerContext
    ) -> queue_pb2.Queue:
        queue_id = parse_name(request.name, m.QUEUES, "name")
        return await self._reading(
            lambda r: m.queue_to_proto(queue_cases.get_queue(r.queues, queue_id=queue_id))
        )

    async def ListQueues(
        self, request: pb.ListQueuesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListQueuesResponse:
        limit = paging.page_size(request.page_size)
        filters: dict[str, object] = {}
        cursor = paging.decode_page_token(request.page_token, filters)
        found = await self._reading(
            lambda r: queue_cases.list_queues(
                r.queues, after=cursor.after[0] if cursor else None, limit=limit + 1
            )
        )
        page, token = paging.trim_page(found, limit, lambda q: (q.id,), filters)
        return pb.ListQueuesResponse(queues=[m.queue_to_proto(q) for q in page], next_page_token=token)

    async def UpdateQueue(
        self, request: pb.UpdateQueueRequest, context: grpc.aio.ServicerContext
    ) -> queue_pb2.Queue:
        queue_id = parse_name(request.queue.name, m.QUEUES, "queue.name")
        expected_version = m.version_from_etag(request.queue.etag, "queue.etag")
        changes = m.changes_from_mask(request.update_mask.paths, request.queue)

        def update() -> queue_pb2.Queue:
            with self._db.transaction() as unit:
                updated = queue_cases.update_queue(
                    SqlSchedulingUnit(unit),
                    queue_id=queue_id,
                    changes=changes,
                    expected_version=expected_version,
                )
                return m.queue_to_proto(updated)

        return await self._db.run(update)

    async def DeleteQueue(
        self, request: pb.DeleteQueueRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        queue_id = parse_name(request.name, m.QUEUES, "name")
        expected_version = m.version_from_etag(request.etag, "etag")

        def delete() -> None:
            with self._db.transaction() as unit:
                queue_cases.delete_queue(
                    SqlSchedulingUnit(unit), queue_id=queue_id, expected_version=expected_version
                )

        await self._db.run(delete)
        return empty_pb2.Empty()

    # ------------------------------------------------------------ interval history

    async def ImportIntervalRecords(
        self, request: pb.ImportIntervalRecordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ImportIntervalRecordsResponse:
        return await self._db.run(self._import_interval_records, request)

    def _import_interval_records(
        self, request: pb.ImportIntervalRecordsRequest
    ) -> pb.ImportIntervalRecordsResponse:
        queue_id = parse_name(request.parent, m.QUEUES, "parent")
        if request.request_id:
            validate_request_id(request.request_id)
        drafts = m.record_drafts(request.records)
        now = self._clock()
        if request.validate_only:
            return self._read(
                lambda r: _import_response(
                    history_cases.validate_interval_records(r, queue_id=queue_id, drafts=drafts, now=now)
                )
            )

        def work(unit: UnitOfWork) -> pb.ImportIntervalRecordsResponse:
            result = history_cases.import_interval_records(
                SqlSchedulingUnit(unit), queue_id=queue_id, drafts=drafts, now=now
            )
            return _import_response(result)

        return self._once_per_request_id(
            "ImportIntervalRecords", request, pb.ImportIntervalRecordsResponse, work
        )

    async def ListIntervalRecords(
        self, request: pb.ListIntervalRecordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListIntervalRecordsResponse:
        queue_id = parse_name(request.parent, m.QUEUES, "parent")
        limit = paging.page_size(request.page_size, **RECORDS_PAGE)
        start = m.moment(request.start_time) if request.HasField("start_time") else None
        end = m.moment(request.end_time) if request.HasField("end_time") else None
        if start is not None and end is not None and end <= start:
            raise invalid_field("end_time", "EMPTY_TIME_RANGE", "must be after start_time")
        filters: dict[str, object] = {"parent": request.parent, "start": str(start), "end": str(end)}
        cursor = paging.decode_page_token(request.page_token, filters)
        try:
            after = datetime.fromtimestamp(int(cursor.after[0]), UTC) if cursor else None
        except ValueError:
            raise invalid_field(
                "page_token", "PAGE_TOKEN_MALFORMED", "is not a token this API issued"
            ) from None
        records = await self._reading(
            lambda r: history_cases.list_interval_records(
                r, queue_id=queue_id, start=start, end=end, after=after, limit=limit + 1
            )
        )
        page, token = paging.trim_page(
            records, limit, lambda rec: (str(int(rec.start_time.timestamp())),), filters
        )
        return pb.ListIntervalRecordsResponse(
            records=[m.record_to_proto(rec) for rec in page], next_page_token=token
        )

    # ------------------------------------------------------------ forecasts

    async def GenerateForecast(
        self, request: pb.GenerateForecastRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        queue_id = parse_name(request.parent, m.QUEUES, "parent")
        violations = Violations()
        start_date = date_from_proto(request.start_date, "start_date", violations)
        excluded = [
            date_from_proto(d, f"excluded_dates[{i}]", violations)
            for i, d in enumerate(request.excluded_dates)
        ]
        options = ForecastOptions(
            days=request.days,
            start_date=start_date,
            holdout_weeks=request.holdout_weeks,
            profile_weeks=request.profile_weeks or DEFAULT_PROFILE_WEEKS,
            excluded_dates=frozenset(d for d in excluded if d is not None),
        )
        check_options(options, violations)
        violations.raise_if_any()
        metadata = forecast_pb2.GenerateForecastMetadata(queue=request.parent, percent_done=0, stage="queued")
        operation, started_here = await self._db.run(
            self._record_forecast_operation, request, queue_id, options, metadata
        )
        if started_here:
            self._run_forecast(operation, metadata, queue_id, options)
        return operation

    def _record_forecast_operation(
        self,
        request: pb.GenerateForecastRequest,
        queue_id: str,
        options: ForecastOptions,
        metadata: forecast_pb2.GenerateForecastMetadata,
    ) -> tuple[operations_pb2.Operation, bool]:
        """The operation (a retry with the same request id gets the first one) and whether it is new."""
        created: list[str] = []

        def work(unit: UnitOfWork) -> operations_pb2.Operation:
            forecast_cases.check_forecast_request(SqlSchedulingUnit(unit), queue_id=queue_id, options=options)
            operation = self._operations.create(unit, method=f"{SERVICE}/GenerateForecast", metadata=metadata)
            created.append(operation.name)
            return operation

        operation = self._once_per_request_id("GenerateForecast", request, operations_pb2.Operation, work)
        # Only the call whose transaction created the operation starts it: a retry, or the loser
        # of a race on the same request id, gets the remembered operation and starts nothing.
        return operation, bool(created) and created[-1] == operation.name

    def _run_forecast(
        self,
        operation: operations_pb2.Operation,
        metadata: forecast_pb2.GenerateForecastMetadata,
        queue_id: str,
        options: ForecastOptions,
    ) -> None:
        def compute(progress: Progress[forecast_pb2.GenerateForecastMetadata]) -> Forecast:
            def report(percent: int, stage: str) -> None:
                def update(state: forecast_pb2.GenerateForecastMetadata) -> None:
                    state.percent_done, state.stage = percent, stage

                progress.report(update)

            forecast = self._read(
                lambda r: forecast_cases.compute_forecast(
                    r,
                    queue_id=queue_id,
                    forecast_id=new_id(),
                    options=options,
                    now=self._clock(),
                    progress=report,
                )
            )
            report(100, "done")
            return forecast

        def finish(unit: UnitOfWork, forecast: Forecast) -> forecast_pb2.Forecast:
            stored = forecast_cases.store_forecast(SqlSchedulingUnit(unit), forecast=forecast)
            return m.forecast_to_proto(stored)

        self._operations.run(operation, metadata, compute, finish)

    async def GetForecast(
        self, request: pb.GetForecastRequest, context: grpc.aio.ServicerContext
    ) -> forecast_pb2.Forecast:
        queue_id, forecast_id = m.parse_child_name(request.name, m.FORECASTS, "name")
        return await self._reading(
            lambda r: m.forecast_to_proto(
                forecast_cases.require_forecast(r, queue_id=queue_id, forecast_id=forecast_id, field="name")
            )
        )

    async def ListForecasts(
        self, request: pb.ListForecastsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListForecastsResponse:
        page, token = await self._newest_first_page(request, forecast_cases.list_forecasts)
        return pb.ListForecastsResponse(
            forecasts=[m.forecast_to_proto(f, with_intervals=False) for f in page], next_page_token=token
        )

    async def _newest_first_page(
        self, request: Any, list_case: Callable[..., Sequence[R]]
    ) -> tuple[Sequence[R], str]:
        """One page of a queue's forecasts or requirements (`list_case`), and the next page's token."""
        queue_id = parse_name(request.parent, m.QUEUES, "parent")
        limit = paging.page_size(request.page_size, **RESULTS_PAGE)
        filters: dict[str, object] = {"parent": request.parent}
        after = _newest_first_cursor(request.page_token, filters)
        found = await self._reading(lambda r: list_case(r, queue_id=queue_id, after=after, limit=limit + 1))
        return paging.trim_page(found, limit, _newest_first_key, filters)

    # ------------------------------------------------------------ requirements

    async def CreateRequirement(
        self, request: pb.CreateRequirementRequest, context: grpc.aio.ServicerContext
    ) -> requirement_pb2.Requirement:
        queue_id = parse_name(request.parent, m.QUEUES, "parent")
        forecast_queue_id, forecast_id = m.parse_child_name(request.forecast, m.FORECASTS, "forecast")
        if forecast_queue_id != queue_id:
            raise invalid_field(
                "forecast", "FORECAST_OF_ANOTHER_QUEUE", f"must be a forecast of {request.parent}"
            )
        violations = Violations()
        model = m.model_from_proto(request.model, "model", violations)
        violations.raise_if_any()
        if request.request_id:
            validate_request_id(request.request_id)
        requirement = await self._reading(
            lambda r: requirement_cases.compute_requirement(
                r,
                queue_id=queue_id,
                forecast_id=forecast_id,
                requirement_id=new_id(),
                requested_model=model,
                now=self._clock(),
            )
        )

        def work(unit: UnitOfWork) -> requirement_pb2.Requirement:
            stored = requirement_cases.store_requirement(SqlSchedulingUnit(unit), requirement=requirement)
            return m.requirement_to_proto(stored)

        return await self._db.run(
            lambda: self._once_per_request_id("CreateRequirement", request, requirement_pb2.Requirement, work)
        )

    async def GetRequirement(
        self, request: pb.GetRequirementRequest, context: grpc.aio.ServicerContext
    ) -> requirement_pb2.Requirement:
        queue_id, requirement_id = m.parse_child_name(request.name, m.REQUIREMENTS, "name")
        return await self._reading(
            lambda r: m.requirement_to_proto(
                requirement_cases.get_requirement(r, queue_id=queue_id, requirement_id=requirement_id)
            )
        )

    async def ListRequirements(
        self, request: pb.ListRequirementsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRequirementsResponse:
        page, token = await self._newest_first_page(request, requirement_cases.list_requirements)
        return pb.ListRequirementsResponse(
            requirements=[m.requirement_to_proto(r, with_intervals=False) for r in page],
            next_page_token=token,
        )

    async def EvaluateScenario(
        self, request: pb.EvaluateScenarioRequest, context: grpc.aio.ServicerContext
    ) -> pb.EvaluateScenarioResponse:
        queue_id, forecast_id = m.parse_child_name(request.forecast, m.FORECASTS, "forecast")
        violations = Violations()
        scenario = Scenario(
            volume_change=request.volume_change,
            aht_seconds=request.aht_seconds if request.HasField("aht_seconds") else None,
            service_level=request.service_level.fraction or None,
            answer_seconds=request.service_level.answer_seconds or None,
            planned_agents=tuple(request.planned_agents) or None,
            model=m.model_from_proto(request.model, "model", violations),
        )
        check_scenario(scenario, violations)
        violations.raise_if_any()
        forecast, outcome = await self._reading(
            lambda r: requirement_cases.evaluate_what_if(
                r, queue_id=queue_id, forecast_id=forecast_id, scenario=scenario
            )
        )
        return pb.EvaluateScenarioResponse(
            intervals=m.staffing_intervals(forecast.interval_starts, outcome.staffing, outcome.achieved),
            service_level=outcome.service_level,
            intervals_below_target=outcome.intervals_below_target,
            required_agent_hours=outcome.required_agent_hours,
        )
