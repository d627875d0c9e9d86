"""PerformanceService over gRPC: parses requests, resolves the caller, runs the use cases."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import grpc
from google.longrunning import operations_pb2
from google.protobuf.message import Message
from sqlalchemy import Connection, and_, func, insert, or_, select, update

from cadre.authority.policy import Action, Amount
from cadre.authority.usage import record_use
from cadre.chassis import paging
from cadre.chassis.db import Database, UnitOfWork
from cadre.chassis.errors import (
    Violations,
    aborted,
    failed_precondition,
    invalid_argument,
    invalid_field,
    not_found,
)
from cadre.chassis.idempotency import run_idempotent
from cadre.chassis.operations import OperationRunner, Progress
from cadre.chassis.proto_dates import date_to_proto
from cadre.chassis.resource_names import new_id, parse_name
from cadre.performance.adapters import facts
from cadre.performance.adapters import proto_mapping as m
from cadre.performance.adapters.access import AccessResolver
from cadre.performance.adapters.store import Store
from cadre.performance.adapters.tables import disputes, pay_periods, pay_rules, statement_lines, statements
from cadre.performance.app import kpis, payroll
from cadre.performance.app.access import Caller, out_of_scope
from cadre.performance.domain import period as period_rules
from cadre.performance.domain.kpi import Scorecard, score
from cadre.performance.domain.money import Money
from cadre.performance.domain.org import last_team_within
from cadre.performance.domain.pay_rules import BaseKind
from cadre.performance.domain.period import PeriodState
from cadre.performance.domain.reconciliation import DayFacts, reconcile_day
from cadre.performance.domain.statement import LineKind, PayPeriod, StatementLine
from cadre.performance.v1 import (
    events_pb2,
    pay_pb2,
    performance_service_pb2,
    performance_service_pb2_grpc,
)

pb = performance_service_pb2
T = TypeVar("T")
R = TypeVar("R", bound=Message)
Clock = Callable[[], datetime]
SERVICE = pb.DESCRIPTOR.services_by_name["PerformanceService"].full_name
MAX_REASON = 2000
MAX_PERIOD_DAYS = 93
MAX_KPI_DAYS = 366
EVENT = "cadre.performance.v1."


def _reason(text: str, field: str) -> str:
    if not text.strip() or len(text) > MAX_REASON:
        raise invalid_field(field, "OUT_OF_RANGE", f"must be 1–{MAX_REASON} characters")
    return text


def _period_of(row: Any) -> PayPeriod:
    return PayPeriod(row.start_date, row.end_date)


def _parse_line(name: str, field: str) -> tuple[str, str, str]:
    """`payPeriods/{p}/statements/{e}/lines/{l}` → (p, e, l)."""
    parts = name.split("/")
    if len(parts) != 6 or parts[0] != m.PAY_PERIODS or parts[2] != "statements" or parts[4] != "lines":
        raise invalid_field(
            field,
            "MALFORMED_RESOURCE_NAME",
            "must look like payPeriods/{id}/statements/{employee}/lines/{id}",
        )
    return (
        parse_name("/".join(parts[0:2]), m.PAY_PERIODS, field),
        parse_name(f"employees/{parts[3]}", m.EMPLOYEES, field),
        parse_name(f"lines/{parts[5]}", "lines", field),
    )


def _parse_child(name: str, collection: str, field: str) -> tuple[str, str]:
    parts = name.split("/")
    if len(parts) != 4 or parts[2] != collection:
        raise invalid_field(
            field, "MALFORMED_RESOURCE_NAME", f"must look like payPeriods/{{id}}/{collection}/{{id}}"
        )
    parent = parse_name("/".join(parts[0:2]), m.PAY_PERIODS, field)
    child_collection = "employees" if collection == "statements" else collection
    return parent, parse_name(f"{child_collection}/{parts[3]}", child_collection, field)


class PerformanceServicer(performance_service_pb2_grpc.PerformanceServiceServicer):
    def __init__(
        self,
        db: Database,
        operations: OperationRunner,
        *,
        max_facts: int = 100_000,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._operations = operations
        self._max_facts = max_facts
        self._clock = clock
        self._access = AccessResolver()

    # --- plumbing ---

    def _write(
        self,
        method: str,
        request: Message,
        response_type: type[R],
        work: Callable[[UnitOfWork, Store, Caller], R],
    ) -> R:
        def in_transaction(unit: UnitOfWork) -> R:
            caller = self._access.caller(unit.connection, now=self._clock())
            return work(unit, Store(unit.connection), caller)

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
        work: Callable[[UnitOfWork, Store, Caller], R],
    ) -> R:
        return await self._db.run(self._write, method, request, response_type, work)

    async def _query(self, work: Callable[[Store, Caller, Connection], T]) -> T:
        def read() -> T:
            with self._db.reader() as connection:
                return work(Store(connection), self._access.caller(connection, now=self._clock()), connection)

        return await self._db.run(read)

    @staticmethod
    def _period_row(store: Store, period_id: str) -> Any:
        row = store.period(period_id)
        if row is None:
            raise not_found("PAY_PERIOD_NOT_FOUND", f"payPeriods/{period_id} does not exist")
        return row

    def _period_proto(self, store: Store, row: Any, caller: Caller) -> pay_pb2.PayPeriod:
        count, total = store.period_totals(row.id)
        return m.period_to_proto(
            row,
            statement_count=count,
            total_minor=total if caller.is_payroll else 0,
            open_disputes=store.open_disputes(row.id),
        )

    @staticmethod
    def _check_etag(row: Any, etag: str) -> None:
        if etag and etag != str(row.version):
            raise aborted("ETAG_MISMATCH", "the period changed since it was read; read it again")

    # --- facts ---

    async def IngestFacts(
        self, request: pb.IngestFactsRequest, context: grpc.aio.ServicerContext
    ) -> pb.IngestFactsResponse:
        def work(unit: UnitOfWork, store: Store, caller: Caller) -> pb.IngestFactsResponse:
            caller.require_payroll()
            rows = facts.fact_rows(
                request.facts,
                max_facts=self._max_facts,
                zones=lambda ids: facts.team_time_zones(unit.connection, ids),
            )
            accepted, duplicates = facts.insert_new(unit.connection, rows)
            unit.audit(
                action="IngestFacts",
                entity="facts",
                before=None,
                after={"accepted": accepted, "duplicates": duplicates},
            )
            return pb.IngestFactsResponse(accepted_count=accepted, duplicate_count=duplicates)

        return await self._command("IngestFacts", request, pb.IngestFactsResponse, work)

    # --- scorecards and KPIs ---

    async def CreateScorecard(
        self, request: pb.CreateScorecardRequest, context: grpc.aio.ServicerContext
    ) -> pay_pb2.Scorecard:
        unit_id = parse_name(request.parent, m.ORG_UNITS, "parent")

        def work(unit: UnitOfWork, store: Store, caller: Caller) -> pay_pb2.Scorecard:
            caller.require_payroll()
            version = store.next_scorecard_version(unit_id)
            m.scorecard_from_proto(request.scorecard, version, kpis.MEASURES)
            stored = pay_pb2.Scorecard()
            stored.CopyFrom(request.scorecard)
            stored.name = f"{request.parent}/scorecards/{version}"
            stored.version = version
            stored.create_time.FromDatetime(self._clock())
            store.new_scorecard(unit_id, version, m.scorecard_to_json(stored), self._clock())
            unit.audit(
                action="CreateScorecard", entity=stored.name, before=None, after=m.scorecard_to_json(stored)
            )
            return stored

        return await self._command("CreateScorecard", request, pay_pb2.Scorecard, work)

    async def ComputeKpis(
        self, request: pb.ComputeKpisRequest, context: grpc.aio.ServicerContext
    ) -> pb.KpiReport:
        violations = Violations()
        first = m.required_date(request.start_date, "start_date", violations)
        last = m.required_date(request.end_date, "end_date", violations)
        violations.raise_if_any()
        if last < first or (last - first).days >= MAX_KPI_DAYS:
            raise invalid_field(
                "end_date", "OUT_OF_RANGE", f"must be on or after start_date, at most {MAX_KPI_DAYS} days"
            )
        is_employee = request.subject.startswith("employees/")
        subject_id = parse_name(request.subject, m.EMPLOYEES if is_employee else m.ORG_UNITS, "subject")

        def work(store: Store, caller: Caller, connection: Connection) -> pb.KpiReport:
            tree = store.tree()
            if is_employee:
                team = self._access.team_of(connection, subject_id)
                path = self._access.unit_path(connection, team) if team else None
                if not caller.may_see_pay_of(subject_id, path):
                    raise out_of_scope()
                own = store.stints([subject_id]).get(subject_id, [])
                sums = kpis.person_sums(store.day_sums(first, last, [subject_id]), subject_id)
                anchor = last_team_within(own, first, last)
            else:
                path = tree.paths.get(subject_id) or self._access.unit_path(connection, subject_id)
                if not caller.is_payroll and not caller.leads(path):
                    raise out_of_scope()
                if subject_id not in tree.paths:
                    raise not_found("ORG_UNIT_NOT_FOUND", f"{request.subject} is not known here")
                units = tree.subtree(subject_id)
                members = store.stints()
                inside = [e for e, ss in members.items() if any(s.org_unit_id in units for s in ss)]
                sums = kpis.group_sums(store.day_sums(first, last, inside), members, units)
                anchor = subject_id
            report = pb.KpiReport(
                subject=request.subject, measures={k: str(v) for k, v in sums.values.items()}
            )
            found = store.scorecard_of(tree, anchor) if anchor else None
            if found is not None:
                owner, version, scorecard = found
                result = score(scorecard, sums)
                report.scorecard = f"orgUnits/{owner}/scorecards/{version}"
                report.scorecard_version = version
                report.score = "" if result.score is None else str(result.score)
                for metric in result.metrics:
                    report.metrics.append(
                        pay_pb2.MetricValue(
                            code=metric.code,
                            value=""
                            if metric.value is None
                            else str(metric.value.quantize(Decimal("0.0001"))),
                            points=""
                            if metric.points is None
                            else str(metric.points.quantize(Decimal("0.01"))),
                            met=bool(metric.met),
                        )
                    )
            return report

        return await self._query(work)

    # --- pay rules ---

    async def CreatePayRules(
        self, request: pb.CreatePayRulesRequest, context: grpc.aio.ServicerContext
    ) -> pay_pb2.PayRules:
        def work(unit: UnitOfWork, store: Store, caller: Caller) -> pay_pb2.PayRules:
            caller.require_payroll()
            history = store.rule_history(request.pay_rules.site)
            version = len(history.versions) + 1
            rules = m.pay_rules_from_proto(request.pay_rules, version)
            history.add(rules)
            stored = pay_pb2.PayRules()
            stored.CopyFrom(request.pay_rules)
            rules_id = new_id()
            stored.name = f"{m.PAY_RULES}/{rules_id}"
            stored.version = version
            stored.create_time.FromDatetime(self._clock())
            body = m.pay_rules_to_json(stored)
            unit.connection.execute(
                insert(pay_rules).values(
                    id=rules_id,
                    site=stored.site,
                    version=version,
                    effective_date=rules.effective_from,
                    body=body,
                    create_time=self._clock(),
                )
            )
            unit.audit(action="CreatePayRules", entity=stored.name, before=None, after=json.loads(body))
            return stored

        return await self._command("CreatePayRules", request, pay_pb2.PayRules, work)

    async def ListPayRules(
        self, request: pb.ListPayRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPayRulesResponse:
        limit = paging.page_size(request.page_size)
        filters = {"site": request.site}
        cursor = paging.decode_page_token(request.page_token, filters)

        def work(store: Store, caller: Caller, connection: Connection) -> pb.ListPayRulesResponse:
            caller.require_payroll()
            query = select(pay_rules).order_by(pay_rules.c.site, pay_rules.c.version)
            if request.site:
                query = query.where(pay_rules.c.site == request.site)
            if cursor:
                site, version = cursor.after[0], int(cursor.after[1])
                query = query.where(
                    or_(
                        pay_rules.c.site > site, and_(pay_rules.c.site == site, pay_rules.c.version > version)
                    )
                )
            rows = list(connection.execute(query.limit(limit + 1)))
            page, token = paging.trim_page(rows, limit, lambda r: (r.site, str(r.version)), filters)
            return pb.ListPayRulesResponse(
                pay_rules=[m.pay_rules_from_json(r.body) for r in page], next_page_token=token
            )

        return await self._query(work)

    # --- pay periods ---

    async def CreatePayPeriod(
        self, request: pb.CreatePayPeriodRequest, context: grpc.aio.ServicerContext
    ) -> pay_pb2.PayPeriod:
        draft = request.pay_period
        violations = Violations()
        start = m.required_date(draft.start_date, "pay_period.start_date", violations)
        end = m.required_date(draft.end_date, "pay_period.end_date", violations)
        if not draft.site or len(draft.site) > 200:
            violations.add("pay_period.site", "OUT_OF_RANGE", "must be 1–200 characters")
        violations.raise_if_any()
        if end < start or (end - start).days >= MAX_PERIOD_DAYS:
            raise invalid_field(
                "pay_period.end_date",
                "OUT_OF_RANGE",
                f"on or after start_date, at most {MAX_PERIOD_DAYS} days",
            )

        def work(unit: UnitOfWork, store: Store, caller: Caller) -> pay_pb2.PayPeriod:
            caller.require_payroll()
            overlapping = unit.connection.execute(
                select(pay_periods.c.id).where(
                    pay_periods.c.site == draft.site,
                    pay_periods.c.start_date <= end,
                    pay_periods.c.end_date >= start,
                )
            ).first()
            if overlapping is not None:
                raise failed_precondition(
                    "PERIOD_OVERLAPS", f"payPeriods/{overlapping.id} of {draft.site} overlaps these dates"
                )
            period_id = new_id()
            now = self._clock()
            unit.connection.execute(
                insert(pay_periods).values(
                    id=period_id,
                    site=draft.site,
                    start_date=start,
                    end_date=end,
                    state=PeriodState.OPEN.value,
                    revision=0,
                    version=1,
                    close_time=None,
                    closed_by="",
                    create_time=now,
                )
            )
            name = f"{m.PAY_PERIODS}/{period_id}"
            unit.audit(
                action="CreatePayPeriod",
                entity=name,
                before=None,
                after={"site": draft.site, "start": start, "end": end},
            )
            return self._period_proto(store, store.period(period_id), caller)

        return await self._command("CreatePayPeriod", request, pay_pb2.PayPeriod, work)

    async def GetPayPeriod(
        self, request: pb.GetPayPeriodRequest, context: grpc.aio.ServicerContext
    ) -> pay_pb2.PayPeriod:
        period_id = parse_name(request.name, m.PAY_PERIODS, "name")
        return await self._query(lambda s, c, _: self._period_proto(s, self._period_row(s, period_id), c))

    async def ListPayPeriods(
        self, request: pb.ListPayPeriodsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPayPeriodsResponse:
        limit = paging.page_size(request.page_size)
        filters = {"site": request.site}
        cursor = paging.decode_page_token(request.page_token, filters)

        def work(store: Store, caller: Caller, connection: Connection) -> pb.ListPayPeriodsResponse:
            query = select(pay_periods).order_by(pay_periods.c.start_date.desc(), pay_periods.c.id)
            if request.site:
                query = query.where(pay_periods.c.site == request.site)
            if cursor:
                start, last_id = date.fromisoformat(cursor.after[0]), cursor.after[1]
                query = query.where(
                    or_(
                        pay_periods.c.start_date < start,
                        and_(pay_periods.c.start_date == start, pay_periods.c.id > last_id),
                    )
                )
            rows = list(connection.execute(query.limit(limit + 1)))
            page, token = paging.trim_page(rows, limit, lambda r: (r.start_date.isoformat(), r.id), filters)
            return pb.ListPayPeriodsResponse(
                pay_periods=[self._period_proto(store, r, caller) for r in page], next_page_token=token
            )

        return await self._query(work)

    async def CalculatePayPeriod(
        self, request: pb.CalculatePayPeriodRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        period_id = parse_name(request.name, m.PAY_PERIODS, "name")
        metadata = pb.CalculatePayPeriodMetadata(pay_period=request.name)
        created: list[str] = []

        def work(unit: UnitOfWork, store: Store, caller: Caller) -> operations_pb2.Operation:
            caller.require_payroll()
            row = self._period_row(store, period_id)
            period_rules.check_can_calculate(PeriodState(row.state), request.name)
            operation = self._operations.create(
                unit, method=f"{SERVICE}/CalculatePayPeriod", metadata=metadata
            )
            created.append(operation.name)
            return operation

        operation = await self._command("CalculatePayPeriod", request, operations_pb2.Operation, work)
        if created and created[-1] == operation.name:
            self._operations.run(
                operation,
                metadata,
                lambda p: self._calculate(period_id, p),
                lambda u, r: self._store_calculation(period_id, u, r),
            )
        return operation

    def _calculate(
        self, period_id: str, progress: Progress[pb.CalculatePayPeriodMetadata]
    ) -> list[payroll.CalculatedStatement]:
        with self._db.reader() as connection:
            store = Store(connection)
            row = self._period_row(store, period_id)
            period = _period_of(row)
            rules = store.rule_history(row.site).in_effect(period.start)
            people = store.period_people(row.site, period)
            tree = store.tree()
            cards: dict[str, Scorecard | None] = {}
            for person in people:
                team = last_team_within(person.stints, period.start, period.end)
                if team is not None and team not in cards:
                    found = store.scorecard_of(tree, team)
                    cards[team] = None if found is None else found[2]

        def update(state: pb.CalculatePayPeriodMetadata, total: int = len(people)) -> None:
            state.employee_count = total

        progress.report(update, force=True)

        def advance(done: int) -> None:
            def step(state: pb.CalculatePayPeriodMetadata) -> None:
                state.calculated_count = done

            progress.report(step)

        results = payroll.calculate_period(
            people, period=period, rules=rules, scorecard_for=cards.get, progress=advance
        )

        def finished(state: pb.CalculatePayPeriodMetadata) -> None:
            state.calculated_count = len(people)

        progress.report(finished, force=True)
        return results

    def _store_calculation(
        self, period_id: str, unit: UnitOfWork, results: list[payroll.CalculatedStatement]
    ) -> pay_pb2.PayPeriod:
        store = Store(unit.connection)
        row = self._period_row(store, period_id)
        name = f"{m.PAY_PERIODS}/{period_id}"
        # The period may have moved on while the calculation ran: the state decides again here.
        period_rules.check_can_calculate(PeriodState(row.state), name)
        revision = row.revision + 1
        store.write_calculation(period_id, results, revision)
        totals: dict[str, int] = {}
        for line in unit.connection.execute(
            select(statement_lines.c.employee_id, func.sum(statement_lines.c.amount_minor).label("total"))
            .where(statement_lines.c.period_id == period_id)
            .group_by(statement_lines.c.employee_id)
        ):
            totals[line.employee_id] = int(line.total or 0)
        for result in results:
            employee_id = result.statement.employee_id
            unit.publish(
                event_type=f"{EVENT}statement.issued",
                entity=f"{name}/statements/{employee_id}",
                payload=events_pb2.StatementIssuedEvent(
                    statement=f"{name}/statements/{employee_id}",
                    employee=f"employees/{employee_id}",
                    pay_period=name,
                    currency_code=result.statement.currency,
                    total_minor=totals.get(employee_id, 0),
                    revision=revision,
                ),
            )
        store.change_period(period_id, row.version, state=PeriodState.CALCULATED.value, revision=revision)
        count, total = store.period_totals(period_id)
        unit.audit(
            action="CalculatePayPeriod",
            entity=name,
            before={"state": row.state, "revision": row.revision},
            after={
                "state": PeriodState.CALCULATED.value,
                "revision": revision,
                "statements": count,
                "total_minor": total,
            },
        )
        return m.period_to_proto(
            store.period(period_id),
            statement_count=count,
            total_minor=total,
            open_disputes=store.open_disputes(period_id),
        )

    async def StartPayPeriodReview(
        self, request: pb.StartPayPeriodReviewRequest, context: grpc.aio.ServicerContext
    ) -> pay_pb2.PayPeriod:
        period_id = parse_name(request.name, m.PAY_PERIODS, "name")

        def work(unit: UnitOfWork, store: Store, caller: Caller) -> pay_pb2.PayPeriod:
            caller.require_payroll()
            row = self._period_row(store, period_id)
            period_rules.check_can_start_review(PeriodState(row.state), request.name)
            self._check_etag(row, request.etag)
            store.change_period(period_id, row.version, state=PeriodState.IN_REVIEW.value)
            unit.audit(
                action="StartPayPeriodReview",
                entity=request.name,
                before={"state": row.state},
                after={"state": "IN_REVIEW"},
            )
            return self._period_proto(store, store.period(period_id), caller)

        return await self._command("StartPayPeriodReview", request, pay_pb2.PayPeriod, work)

    async def ClosePayPeriod(
        self, request: pb.ClosePayPeriodRequest, context: grpc.aio.ServicerContext
    ) -> pay_pb2.PayPeriod:
        period_id = parse_name(request.name, m.PAY_PERIODS, "name")

        def work(unit: UnitOfWork, store: Store, caller: Caller) -> pay_pb2.PayPeriod:
            caller.require_payroll()
            row = self._period_row(store, period_id)
            open_disputes = store.open_disputes(period_id)
            period_rules.check_can_close(
                PeriodState(row.state),
                request.name,
                open_disputes=open_disputes,
                may_override=request.allow_open_disputes and caller.is_administrator,
            )
            self._check_etag(row, request.etag)
            now = self._clock()
            store.change_period(
                period_id,
                row.version,
                state=PeriodState.CLOSED.value,
                close_time=now,
                closed_by=caller.principal,
            )
            count, total = store.period_totals(period_id)
            currency = unit.connection.execute(
                select(pay_rules.c.body)
                .where(pay_rules.c.site == row.site)
                .order_by(pay_rules.c.version.desc())
                .limit(1)
            ).scalar()
            event = events_pb2.PeriodClosedEvent(
                pay_period=request.name,
                site=row.site,
                start_date=date_to_proto(row.start_date),
                end_date=date_to_proto(row.end_date),
                statement_count=count,
                total_minor=total,
                currency_code=m.pay_rules_from_json(currency).currency_code if currency else "",
            )
            unit.publish(event_type=f"{EVENT}period.closed", entity=request.name, payload=event)
            unit.audit(
                action="ClosePayPeriod",
                entity=request.name,
                before={"state": row.state},
                after={
                    "state": "CLOSED",
                    "open_disputes": open_disputes,
                    "statements": count,
                    "total_minor": total,
                },
                acting_under="ALLOWED_AS_ADMINISTRATOR" if open_disputes else "",
            )
            return self._period_proto(store, store.period(period_id), caller)

        return await self._command("ClosePayPeriod", request, pay_pb2.PayPeriod, work)

    async def ExportPayPeriod(
        self, request: pb.ExportPayPeriodRequest, context: grpc.aio.ServicerContext
    ) -> pb.ExportPayPeriodResponse:
        period_id = parse_name(request.name, m.PAY_PERIODS, "name")
        if request.format not in (
            pb.ExportPayPeriodRequest.FORMAT_CSV,
            pb.ExportPayPeriodRequest.FORMAT_JSON,
        ):
            raise invalid_field("format", "REQUIRED_FIELD_MISSING", "must be CSV or JSON")

        def work(store: Store, caller: Caller, connection: Connection) -> pb.ExportPayPeriodResponse:
            caller.require_payroll()
            row = self._period_row(store, period_id)
            if row.state != PeriodState.CLOSED.value:
                raise failed_precondition(
                    "PERIOD_NOT_CLOSED", f"{request.name} is exported once it is closed"
                )
            return export_period(store, row, request.format)

        return await self._query(work)

    # --- statements ---

    def _statement_proto(self, store: Store, row: Any, lines: list[Any], caller: Caller) -> pay_pb2.Statement:
        show = caller.may_see_rates_of(row.employee_id)
        corrected = {}
        for line in lines:
            if line.corrects_line_id:
                original = store.line(line.corrects_line_id)
                if original is not None:
                    corrected[line.id] = m.line_name(original.period_id, original.employee_id, original.id)
        return pay_pb2.Statement(
            name=f"{m.PAY_PERIODS}/{row.period_id}/statements/{row.employee_id}",
            employee=f"employees/{row.employee_id}",
            org_unit=f"orgUnits/{row.org_unit_id}",
            currency_code=row.currency,
            rule_version=row.rule_version,
            lines=[m.line_to_proto(line, corrected.get(line.id, ""), show_rate=show) for line in lines],
            total_minor=sum(line.amount_minor for line in lines),
            revision=row.revision,
        )

    def _require_sees(
        self, connection: Connection, caller: Caller, employee_id: str, team: str | None
    ) -> None:
        """Permission before existence: the team is the statement's, or the person's current one."""
        if caller.is_payroll or caller.employee_id == employee_id:
            return
        team = team or self._access.team_of(connection, employee_id)
        caller.require_sees(employee_id, self._access.unit_path(connection, team) if team else None)

    async def GetStatement(
        self, request: pb.GetStatementRequest, context: grpc.aio.ServicerContext
    ) -> pay_pb2.Statement:
        period_id, employee_id = _parse_child(request.name, "statements", "name")

        def work(store: Store, caller: Caller, connection: Connection) -> pay_pb2.Statement:
            row = store.statement(period_id, employee_id)
            self._require_sees(connection, caller, employee_id, row.org_unit_id if row is not None else None)
            if row is None:
                raise not_found("STATEMENT_NOT_FOUND", f"{request.name} does not exist")
            return self._statement_proto(
                store, row, store.lines(period_id, [employee_id])[employee_id], caller
            )

        return await self._query(work)

    async def ListStatements(
        self, request: pb.ListStatementsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListStatementsResponse:
        period_id = parse_name(request.parent, m.PAY_PERIODS, "parent")
        limit = paging.page_size(request.page_size)
        filters = {"parent": request.parent}
        cursor = paging.decode_page_token(request.page_token, filters)

        def work(store: Store, caller: Caller, connection: Connection) -> pb.ListStatementsResponse:
            self._period_row(store, period_id)
            after = cursor.after[0] if cursor else None
            visible: list[Any] = []
            while len(visible) <= limit:
                rows = store.statement_rows(period_id, after, 500)
                if not rows:
                    break
                for row in rows:
                    team_path = self._access.unit_path(connection, row.org_unit_id)
                    if caller.may_see_pay_of(row.employee_id, team_path):
                        visible.append(row)
                after = rows[-1].employee_id
            page, token = paging.trim_page(visible, limit, lambda r: (r.employee_id,), filters)
            lines = store.lines(period_id, [r.employee_id for r in page])
            return pb.ListStatementsResponse(
                statements=[
                    self._statement_proto(store, r, lines.get(r.employee_id, []), caller) for r in page
                ],
                next_page_token=token,
            )

        return await self._query(work)

    async def CorrectStatementLine(
        self, request: pb.CorrectStatementLineRequest, context: grpc.aio.ServicerContext
    ) -> pay_pb2.Statement:
        original_period, employee_id, line_id = _parse_line(request.line, "line")
        target_period = parse_name(request.pay_period, m.PAY_PERIODS, "pay_period")
        reason = _reason(request.reason, "reason")

        def work(unit: UnitOfWork, store: Store, caller: Caller) -> pay_pb2.Statement:
            caller.require_payroll()
            now = self._clock()
            # Scope first (permission before existence), then the limit on what actually changes.
            self._access.adjust_pay(unit.connection, caller, employee_id=employee_id, amount_minor=0, now=now)
            original = store.line(line_id)
            if (
                original is None
                or original.period_id != original_period
                or original.employee_id != employee_id
            ):
                raise not_found("LINE_NOT_FOUND", f"{request.line} does not exist")
            difference = request.replacement_amount_minor - original.amount_minor
            decision = self._access.adjust_pay(
                unit.connection, caller, employee_id=employee_id, amount_minor=difference, now=now
            )
            source = self._period_row(store, original_period)
            if source.state != PeriodState.CLOSED.value:
                raise failed_precondition(
                    "PERIOD_NOT_CLOSED",
                    "lines of a period that is not closed are recalculated or disputed, not corrected",
                )
            target = self._period_row(store, target_period)
            period_rules.check_can_take_corrections(PeriodState(target.state), request.pay_period)
            if target.site != source.site or target.start_date <= source.end_date:
                raise failed_precondition(
                    "WRONG_TARGET_PERIOD", "corrections land in a later period of the same site"
                )
            statement = store.statement_with_line(original_period, employee_id)
            if store.statement(target_period, employee_id) is None:
                unit.connection.execute(
                    insert(statements).values(
                        period_id=target_period,
                        employee_id=employee_id,
                        org_unit_id=statement.org_unit_id,
                        currency=statement.currency,
                        rule_version=statement.rule_version,
                        revision=target.revision,
                    )
                )
            kind = LineKind(original.kind)
            currency = statement.currency
            reversal = StatementLine(
                kind,
                f"REVERSAL of {request.line}: {reason}"[:400],
                -Decimal(original.quantity),
                original.unit,
                Decimal(original.rate),
                Money(-original.amount_minor, currency),
                original.rule_version,
                tuple(json.loads(original.fact_ids)),
            )
            replacement_amount = Money(request.replacement_amount_minor, currency)
            replacement = StatementLine(
                kind,
                f"REPLACEMENT of {request.line}: {reason}"[:400],
                Decimal(1),
                "PERIOD",
                replacement_amount.major,
                replacement_amount,
                original.rule_version,
                tuple(json.loads(original.fact_ids)),
            )
            store.add_line(target_period, employee_id, "CORRECTION", reversal, line_id)
            store.add_line(target_period, employee_id, "CORRECTION", replacement, line_id)
            store.change_period(target_period, target.version)
            acting = (
                " → ".join(f"grants/{g.id}" for g in decision.chain)
                if decision
                else "ALLOWED_AS_ADMINISTRATOR"
            )
            unit.audit(
                action="CorrectStatementLine",
                entity=request.line,
                before={"amount_minor": original.amount_minor},
                after={
                    "amount_minor": request.replacement_amount_minor,
                    "pay_period": request.pay_period,
                    "reason": reason,
                },
                acting_under=acting,
            )
            if decision is not None:
                record_use(
                    unit,
                    decision=decision,
                    actor=caller.principal,
                    action=Action.ADJUST_PAY,
                    target=f"employees/{employee_id}",
                    amount=Amount(money_minor=abs(difference)),
                    decision_name=request.line,
                    decided_at=now,
                )
            row = store.statement(target_period, employee_id)
            return self._statement_proto(
                store, row, store.lines(target_period, [employee_id])[employee_id], caller
            )

        return await self._command("CorrectStatementLine", request, pay_pb2.Statement, work)

    # --- reconciliation ---

    async def ListReconciliationDays(
        self, request: pb.ListReconciliationDaysRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListReconciliationDaysResponse:
        period_id = parse_name(request.parent, m.PAY_PERIODS, "parent")
        only = parse_name(request.employee, m.EMPLOYEES, "employee") if request.employee else None
        limit = paging.page_size(request.page_size)
        filters = {"parent": request.parent, "employee": request.employee, "only": request.only_discrepancies}
        cursor = paging.decode_page_token(request.page_token, filters)

        def work(store: Store, caller: Caller, connection: Connection) -> pb.ListReconciliationDaysResponse:
            if only is not None:
                row = store.statement(period_id, only)
                self._require_sees(connection, caller, only, row.org_unit_id if row is not None else None)
            period_row = self._period_row(store, period_id)
            period = _period_of(period_row)
            history = store.rule_history(period_row.site)
            hourly = bool(history.versions) and history.in_effect(period.start).base_kind is BaseKind.HOURLY
            employments = store.employments()
            after = (cursor.after[0], date.fromisoformat(cursor.after[1])) if cursor else None
            days: list[tuple[str, date, pay_pb2.ReconciliationDay]] = []
            for row in store.statement_rows(period_id, None, 1_000_000):
                if (only is not None and row.employee_id != only) or (after and row.employee_id < after[0]):
                    continue
                if not caller.may_see_pay_of(
                    row.employee_id, self._access.unit_path(connection, row.org_unit_id)
                ):
                    continue
                found = self._reconcile(
                    store, row.employee_id, period, employments.get(row.employee_id), hourly, after
                )
                days.extend(d for d in found if d[2].discrepancies or not request.only_discrepancies)
                if len(days) > limit:
                    break
            page, token = paging.trim_page(days, limit, lambda d: (d[0], d[1].isoformat()), filters)
            return pb.ListReconciliationDaysResponse(days=[d[2] for d in page], next_page_token=token)

        return await self._query(work)

    @staticmethod
    def _reconcile(
        store: Store,
        employee_id: str,
        period: PayPeriod,
        employment: Any,
        hourly: bool,
        after: tuple[str, date] | None,
    ) -> list[tuple[str, date, pay_pb2.ReconciliationDay]]:
        facts_by_kind = store.days_of(employee_id, period.start, period.end)
        out = []
        day = period.start
        while day <= period.end:
            if after is not None and (employee_id, day) <= after:
                day += timedelta(days=1)
                continue
            record = facts_by_kind["attendance"].get(day)
            scheduled = (
                record.scheduled_minutes if record is not None else facts_by_kind["scheduled"].get(day, 0)
            )
            result = reconcile_day(
                DayFacts(
                    scheduled=scheduled,
                    worked=record.worked_minutes if record is not None else 0,
                    overtime=record.overtime_minutes if record is not None else 0,
                    accepted_overtime=facts_by_kind["overtime"].get(day, 0),
                    paid_leave=facts_by_kind["paid_leave"].get(day, 0),
                    unpaid_leave=facts_by_kind["unpaid_leave"].get(day, 0),
                    training=facts_by_kind["training"].get(day, 0),
                    has_attendance=record is not None,
                    employed=employment is not None and employment.employed_on(day),
                    hourly=hourly,
                )
            )
            out.append(
                (
                    employee_id,
                    day,
                    pay_pb2.ReconciliationDay(
                        employee=f"employees/{employee_id}",
                        date=date_to_proto(day),
                        scheduled_minutes=result.scheduled,
                        worked_minutes=result.worked,
                        paid_minutes=result.paid,
                        discrepancies=[
                            pay_pb2.Discrepancy(code=d.code, minutes=d.minutes, explanation=d.explanation)
                            for d in result.discrepancies
                        ],
                    ),
                )
            )
            day += timedelta(days=1)
        return out

    # --- disputes ---

    @staticmethod
    def _dispute_proto(row: Any) -> pay_pb2.Dispute:
        message = pay_pb2.Dispute(
            name=f"{m.PAY_PERIODS}/{row.period_id}/disputes/{row.id}",
            line=m.line_name(row.period_id, row.employee_id, row.line_id),
            reason=row.reason,
            state=pay_pb2.Dispute.State.Value(f"STATE_{row.state}"),
            opened_by=row.opened_by,
            resolved_by=row.resolved_by,
            resolution=row.resolution,
            adjustment_line=m.line_name(row.period_id, row.employee_id, row.adjustment_line_id)
            if row.adjustment_line_id
            else "",
            employee=f"employees/{row.employee_id}",
        )
        message.create_time.FromDatetime(row.create_time)
        return message

    async def CreateDispute(
        self, request: pb.CreateDisputeRequest, context: grpc.aio.ServicerContext
    ) -> pay_pb2.Dispute:
        period_id = parse_name(request.parent, m.PAY_PERIODS, "parent")
        line_period, employee_id, line_id = _parse_line(request.dispute.line, "dispute.line")
        if line_period != period_id:
            raise invalid_field(
                "dispute.line", "LINE_OF_ANOTHER_PERIOD", "must be a line of the parent period"
            )
        reason = _reason(request.dispute.reason, "dispute.reason")

        def work(unit: UnitOfWork, store: Store, caller: Caller) -> pay_pb2.Dispute:
            statement = store.statement(period_id, employee_id)
            self._require_sees(
                unit.connection, caller, employee_id, statement.org_unit_id if statement is not None else None
            )
            if caller.employee_id == employee_id and not caller.is_payroll:
                raise invalid_argument("OWN_PAY", "a leader disputes their team's lines, not their own")
            line = store.line(line_id)
            if line is None or line.period_id != period_id or line.employee_id != employee_id:
                raise not_found("LINE_NOT_FOUND", f"{request.dispute.line} does not exist")
            period_row = self._period_row(store, period_id)
            period_rules.check_can_dispute(PeriodState(period_row.state), request.parent)
            dispute_id = new_id()
            now = self._clock()
            unit.connection.execute(
                insert(disputes).values(
                    id=dispute_id,
                    period_id=period_id,
                    line_id=line_id,
                    employee_id=employee_id,
                    reason=reason,
                    state="OPEN",
                    opened_by=caller.principal,
                    resolved_by="",
                    resolution="",
                    adjustment_line_id=None,
                    create_time=now,
                )
            )
            store.change_period(period_id, period_row.version)
            name = f"{request.parent}/disputes/{dispute_id}"
            unit.publish(
                event_type=f"{EVENT}dispute.opened",
                entity=name,
                payload=events_pb2.DisputeOpenedEvent(
                    dispute=name,
                    line=request.dispute.line,
                    employee=f"employees/{employee_id}",
                    opened_by=caller.principal,
                ),
            )
            unit.audit(
                action="CreateDispute",
                entity=name,
                before=None,
                after={"line": request.dispute.line, "reason": reason},
            )
            return self._dispute_proto(
                unit.connection.execute(select(disputes).where(disputes.c.id == dispute_id)).one()
            )

        return await self._command("CreateDispute", request, pay_pb2.Dispute, work)

    async def ResolveDispute(
        self, request: pb.ResolveDisputeRequest, context: grpc.aio.ServicerContext
    ) -> pay_pb2.Dispute:
        period_id, dispute_id = _parse_child(request.name, "disputes", "name")
        resolution = _reason(request.resolution, "resolution")
        if request.accept and request.adjustment_amount_minor == 0:
            raise invalid_field(
                "adjustment_amount_minor",
                "OUT_OF_RANGE",
                "an accepted dispute adjusts pay by a non-zero amount",
            )
        if not request.accept and request.adjustment_amount_minor:
            raise invalid_field(
                "adjustment_amount_minor", "OUT_OF_RANGE", "a rejected dispute adjusts nothing"
            )

        def work(unit: UnitOfWork, store: Store, caller: Caller) -> pay_pb2.Dispute:
            row = unit.connection.execute(
                select(disputes).where(disputes.c.id == dispute_id, disputes.c.period_id == period_id)
            ).first()
            if row is None:
                if caller.is_payroll:
                    raise not_found("DISPUTE_NOT_FOUND", f"{request.name} does not exist")
                raise out_of_scope()
            now = self._clock()
            decision = self._access.adjust_pay(
                unit.connection,
                caller,
                employee_id=row.employee_id,
                amount_minor=request.adjustment_amount_minor,
                now=now,
            )
            period_row = self._period_row(store, period_id)
            period_rules.check_can_resolve(PeriodState(period_row.state), f"payPeriods/{period_id}")
            if row.state != "OPEN":
                raise failed_precondition(
                    "DISPUTE_RESOLVED", f"{request.name} was already {row.state.lower()}"
                )
            adjustment_id = None
            if request.accept:
                statement = store.statement_with_line(period_id, row.employee_id)
                amount = Money(request.adjustment_amount_minor, statement.currency)
                line = StatementLine(
                    LineKind.ADJUSTMENT,
                    f"dispute {dispute_id}: {resolution}"[:400],
                    Decimal(1),
                    "PERIOD",
                    amount.major,
                    amount,
                    statement.rule_version,
                    (),
                )
                adjustment_id = store.add_line(period_id, row.employee_id, "ADJUSTMENT", line, row.line_id)
            state = "ACCEPTED" if request.accept else "REJECTED"
            resolved = unit.connection.execute(
                update(disputes)
                .where(disputes.c.id == dispute_id, disputes.c.state == "OPEN")
                .values(
                    state=state,
                    resolved_by=caller.principal,
                    resolution=resolution,
                    adjustment_line_id=adjustment_id,
                )
            ).rowcount
            if resolved != 1:
                raise aborted("CONCURRENT_CHANGE", f"{request.name} was resolved meanwhile")
            store.change_period(period_id, period_row.version)
            adjustment_name = m.line_name(period_id, row.employee_id, adjustment_id) if adjustment_id else ""
            unit.publish(
                event_type=f"{EVENT}dispute.resolved",
                entity=request.name,
                payload=events_pb2.DisputeResolvedEvent(
                    dispute=request.name,
                    accepted=request.accept,
                    adjustment_line=adjustment_name,
                    resolved_by=caller.principal,
                ),
            )
            acting = (
                " → ".join(f"grants/{g.id}" for g in decision.chain)
                if decision and decision.chain
                else "ALLOWED_AS_ADMINISTRATOR"
            )
            unit.audit(
                action="ResolveDispute",
                entity=request.name,
                before={"state": "OPEN"},
                after={
                    "state": state,
                    "adjustment_minor": request.adjustment_amount_minor,
                    "resolution": resolution,
                },
                acting_under=acting,
            )
            if decision is not None:
                record_use(
                    unit,
                    decision=decision,
                    actor=caller.principal,
                    action=Action.ADJUST_PAY,
                    target=f"employees/{row.employee_id}",
                    amount=Amount(money_minor=abs(request.adjustment_amount_minor)),
                    decision_name=request.name,
                    decided_at=now,
                )
            return self._dispute_proto(
                unit.connection.execute(select(disputes).where(disputes.c.id == dispute_id)).one()
            )

        return await self._command("ResolveDispute", request, pay_pb2.Dispute, work)

    async def ListDisputes(
        self, request: pb.ListDisputesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDisputesResponse:
        period_id = parse_name(request.parent, m.PAY_PERIODS, "parent")
        limit = paging.page_size(request.page_size)
        filters = {"parent": request.parent}
        cursor = paging.decode_page_token(request.page_token, filters)

        def work(store: Store, caller: Caller, connection: Connection) -> pb.ListDisputesResponse:
            self._period_row(store, period_id)
            query = (
                select(disputes)
                .where(disputes.c.period_id == period_id)
                .order_by(disputes.c.create_time, disputes.c.id)
            )
            rows = list(connection.execute(query))
            visible = []
            for row in rows:
                statement = store.statement(period_id, row.employee_id)
                path = (
                    self._access.unit_path(connection, statement.org_unit_id)
                    if statement is not None
                    else None
                )
                if caller.may_see_pay_of(row.employee_id, path):
                    visible.append(row)
            if cursor:
                visible = [
                    r
                    for r in visible
                    if (r.create_time.isoformat(), r.id) > (cursor.after[0], cursor.after[1])
                ]
            page, token = paging.trim_page(
                visible, limit, lambda r: (r.create_time.isoformat(), r.id), filters
            )
            return pb.ListDisputesResponse(
                disputes=[self._dispute_proto(r) for r in page], next_page_token=token
            )

        return await self._query(work)


CSV_COLUMNS = [
    "pay_period",
    "employee",
    "org_unit",
    "currency",
    "line",
    "kind",
    "detail",
    "quantity",
    "unit",
    "rate",
    "amount_minor",
    "rule_version",
    "fact_ids",
    "corrects_line",
]


def export_period(store: Store, row: Any, export_format: int) -> pb.ExportPayPeriodResponse:
    """Every statement of a closed period with every line; the totals add up to the period's."""
    name = f"{m.PAY_PERIODS}/{row.id}"
    statements_out = []
    total = 0
    after = None
    while True:
        rows = store.statement_rows(row.id, after, 1000)
        if not rows:
            break
        lines = store.lines(row.id, [r.employee_id for r in rows])
        for statement in rows:
            own = lines.get(statement.employee_id, [])
            subtotal = sum(line.amount_minor for line in own)
            total += subtotal
            statements_out.append((statement, own, subtotal))
        after = rows[-1].employee_id
    corrected: dict[str, str] = {}
    for _, own, _ in statements_out:
        for line in own:
            if line.corrects_line_id:
                original = store.line(line.corrects_line_id)
                if original is not None:
                    corrected[line.id] = m.line_name(original.period_id, original.employee_id, original.id)
    if export_format == pb.ExportPayPeriodRequest.FORMAT_CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for statement, own, _ in statements_out:
            for line in own:
                writer.writerow(
                    [
                        name,
                        f"employees/{statement.employee_id}",
                        f"orgUnits/{statement.org_unit_id}",
                        statement.currency,
                        m.line_name(row.id, statement.employee_id, line.id),
                        line.kind,
                        line.detail,
                        line.quantity,
                        line.unit,
                        line.rate,
                        line.amount_minor,
                        line.rule_version,
                        " ".join(json.loads(line.fact_ids)),
                        corrected.get(line.id, ""),
                    ]
                )
        content, content_type = buffer.getvalue().encode(), "text/csv"
    else:
        document = {
            "pay_period": name,
            "site": row.site,
            "start_date": row.start_date.isoformat(),
            "end_date": row.end_date.isoformat(),
            "statement_count": len(statements_out),
            "total_minor": total,
            "statements": [
                {
                    "employee": f"employees/{s.employee_id}",
                    "org_unit": f"orgUnits/{s.org_unit_id}",
                    "currency": s.currency,
                    "rule_version": s.rule_version,
                    "total_minor": subtotal,
                    "lines": [
                        {
                            "line": m.line_name(row.id, s.employee_id, line.id),
                            "kind": line.kind,
                            "detail": line.detail,
                            "quantity": line.quantity,
                            "unit": line.unit,
                            "rate": line.rate,
                            "amount_minor": line.amount_minor,
                            "rule_version": line.rule_version,
                            "fact_ids": json.loads(line.fact_ids),
                            "corrects_line": corrected.get(line.id, ""),
                        }
                        for line in own
                    ],
                }
                for s, own, subtotal in statements_out
            ],
        }
        content, content_type = json.dumps(document, indent=1).encode(), "application/json"
    return pb.ExportPayPeriodResponse(
        content=content, content_type=content_type, statement_count=len(statements_out), total_minor=total
    )
