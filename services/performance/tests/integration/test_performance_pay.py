"""A pay period end to end over gRPC, NATS and a real database: rules, facts, attendance
from scheduling's events, calculation as an operation, review, disputes, close, export and
corrections, with scope and audit — amounts checked by hand."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date
from typing import Any

import grpc
import pytest
from google.type import date_pb2
from sqlalchemy import select

from cadre.chassis.grpc_errors import error_info
from cadre.chassis.tables import audit_log, outbox
from cadre.performance.v1 import events_pb2, facts_pb2, pay_pb2
from cadre.performance.v1 import performance_service_pb2 as pb

World = Any  # the `world` fixture of this folder's conftest


def d(value: date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


PayRules = pay_pb2.PayRules
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
APRIL = (date(2026, 4, 1), date(2026, 4, 30))


async def expect(code: grpc.StatusCode, reason: str, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    info, _ = error_info(caught.value)
    assert info is not None and info.reason == reason, info


async def period(world: World, span: tuple[date, date]) -> str:
    created = await world.as_().CreatePayPeriod(
        pb.CreatePayPeriodRequest(
            pay_period=pay_pb2.PayPeriod(site="shenzhen", start_date=d(span[0]), end_date=d(span[1]))
        )
    )
    return created.name


async def march_facts(world: World) -> None:
    """Ann: overtime on a work day, a rest day and the holiday, a short day, two MINOR errors;
    moves to team 2 on 16 March. Bob leaves after 20 March."""
    await world.as_().CreatePayRules(pb.CreatePayRulesRequest(pay_rules=world.rules()))
    ann = f"employees/{world.people['ann']}"
    await world.attendance("ann", date(2026, 3, 2), scheduled=480, worked=540, overtime=60)
    await world.attendance("ann", date(2026, 3, 3), scheduled=480, worked=420)
    await world.attendance("ann", date(2026, 3, 7), scheduled=0, worked=120, overtime=120, rest_day=True)
    await world.attendance("ann", date(2026, 3, 9), scheduled=0, worked=60, overtime=60, rest_day=True)
    await world.transfer("ann", "t1", "t2", date(2026, 3, 16))
    await world.terminate("bob", date(2026, 3, 21))
    await world.as_().IngestFacts(
        pb.IngestFactsRequest(
            facts=facts_pb2.FactBatch(
                errors=[
                    facts_pb2.ErrorRecord(
                        fact_id="err-1", employee=ann, date=d(date(2026, 3, 4)), error_class="MINOR"
                    ),
                    facts_pb2.ErrorRecord(
                        fact_id="err-2", employee=ann, date=d(date(2026, 3, 20)), error_class="MINOR"
                    ),
                ]
            )
        )
    )
    await world.settle()


def lines_by_kind(statement: pay_pb2.Statement) -> dict[str, list[pay_pb2.StatementLine]]:
    found: dict[str, list[pay_pb2.StatementLine]] = {}
    for line in statement.lines:
        found.setdefault(pay_pb2.LineKind.Name(line.kind), []).append(line)
    return found


async def test_a_period_from_facts_to_export(world: World) -> None:
    admin = world.as_()
    await march_facts(world)
    march = await period(world, MARCH)
    calculated = await world.calculate(march)
    assert calculated.state == pay_pb2.PayPeriod.STATE_CALCULATED
    assert calculated.statement_count == 6  # everyone at the site, leaders and HR included

    ann = await admin.GetStatement(pb.GetStatementRequest(name=f"{march}/statements/{world.people['ann']}"))
    kinds = lines_by_kind(ann)
    assert [line.amount_minor for line in kinds["LINE_KIND_BASE"]] == [870_000]
    overtime = {
        line.detail: (line.quantity, line.rate, line.amount_minor) for line in kinds["LINE_KIND_OVERTIME"]
    }
    # 50 CNY/h × 1.5, × 2, × 3: 1 h on a work day, 2 h on a rest day, 1 h on the holiday.
    assert overtime == {
        "WORK_DAY": ("1", "75", 7_500),
        "REST_DAY": ("2", "100", 20_000),
        "STATUTORY_HOLIDAY": ("1", "150", 15_000),
    }
    assert [(line.amount_minor, sorted(line.fact_ids)) for line in kinds["LINE_KIND_DEDUCTION"]] == [
        (-20_000, ["err-1", "err-2"])
    ]
    assert ann.total_minor == 870_000 + 7_500 + 20_000 + 15_000 - 20_000
    assert ann.org_unit == f"orgUnits/{world.units['t2']}"  # the team she ended the period in
    rest_day = next(line for line in kinds["LINE_KIND_OVERTIME"] if line.detail == "REST_DAY")
    assert rest_day.fact_ids == [f"attendance/{world.people['ann']}/2026-03-07/r1"]

    bob = await admin.GetStatement(pb.GetStatementRequest(name=f"{march}/statements/{world.people['bob']}"))
    # Left after 20 March: 8,700 × 20 / 31 = 5,612.903… → 5,612.90.
    assert [(line.detail, line.amount_minor) for line in bob.lines] == [("PRORATED_20_OF_31_DAYS", 561_290)]

    # Every statement was announced.
    async def issued() -> list[events_pb2.StatementIssuedEvent]:
        with world.host.db.reader() as connection:
            rows = connection.execute(
                select(outbox.c.envelope).where(outbox.c.event_type.endswith("statement.issued"))
            )
            from cadre.chassis.events import parse_envelope, unpack_payload

            return [unpack_payload(parse_envelope(r.envelope)) for r in rows]  # type: ignore[misc]

    announced = {e.employee: e.total_minor for e in await issued()}
    assert announced[f"employees/{world.people['ann']}"] == ann.total_minor

    # Reconciliation flags the short day and explains it.
    days = await admin.ListReconciliationDays(
        pb.ListReconciliationDaysRequest(
            parent=march, employee=f"employees/{world.people['ann']}", only_discrepancies=True
        )
    )
    flagged = {(day.date.day, dis.code, dis.minutes) for day in days.days for dis in day.discrepancies}
    assert (3, "WORKED_LESS_THAN_SCHEDULED", 60) in flagged
    assert (7, "OVERTIME_NOT_ACCEPTED", 120) in flagged  # nobody accepted that overtime in scheduling

    # Scope: Lea leads team 1, Ann ended March in team 2.
    ann_name = f"{march}/statements/{world.people['ann']}"
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "OUT_OF_SCOPE",
        world.as_("lea").GetStatement(pb.GetStatementRequest(name=ann_name)),
    )
    seen_by_leader = await world.as_("max").GetStatement(pb.GetStatementRequest(name=ann_name))
    assert seen_by_leader.total_minor == ann.total_minor
    assert all(line.rate == "" for line in seen_by_leader.lines)  # R17: no pay rates for leaders
    own = await world.as_("ann").GetStatement(pb.GetStatementRequest(name=ann_name))
    assert own.lines[0].rate != ""
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "PAYROLL_ADMINISTRATION_ONLY",
        world.as_("max").CreatePayRules(pb.CreatePayRulesRequest(pay_rules=world.rules())),
    )
    listed = await world.as_("max").ListStatements(pb.ListStatementsRequest(parent=march))
    assert {s.employee for s in listed.statements} == {
        f"employees/{world.people[k]}" for k in ("ann", "xin", "max")
    }

    # Review: Max disputes Ann's rest-day overtime; Hana (ADJUST_PAY over the center) accepts.
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        "PERIOD_NOT_IN_REVIEW",
        world.as_("max").CreateDispute(
            pb.CreateDisputeRequest(
                parent=march, dispute=pay_pb2.Dispute(line=rest_day.name, reason="3 h, not 2")
            )
        ),
    )
    await admin.StartPayPeriodReview(pb.StartPayPeriodReviewRequest(name=march))
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "OUT_OF_SCOPE",
        world.as_("lea").CreateDispute(
            pb.CreateDisputeRequest(
                parent=march, dispute=pay_pb2.Dispute(line=rest_day.name, reason="not mine")
            )
        ),
    )
    dispute = await world.as_("max").CreateDispute(
        pb.CreateDisputeRequest(
            parent=march, dispute=pay_pb2.Dispute(line=rest_day.name, reason="she worked 3 h, not 2")
        )
    )
    assert dispute.state == pay_pb2.Dispute.STATE_OPEN
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        "OPEN_DISPUTES",
        admin.ClosePayPeriod(pb.ClosePayPeriodRequest(name=march)),
    )
    await expect(
        grpc.StatusCode.PERMISSION_DENIED,
        "NO_GRANT",
        world.as_("max").ResolveDispute(
            pb.ResolveDisputeRequest(
                name=dispute.name, accept=True, adjustment_amount_minor=10_000, resolution="ok"
            )
        ),
    )
    await expect(  # over Hana's 1,000 CNY limit
        grpc.StatusCode.PERMISSION_DENIED,
        "OVER_LIMIT",
        world.as_("hana").ResolveDispute(
            pb.ResolveDisputeRequest(
                name=dispute.name, accept=True, adjustment_amount_minor=200_000, resolution="ok"
            )
        ),
    )
    resolved = await world.as_("hana").ResolveDispute(
        pb.ResolveDisputeRequest(
            name=dispute.name, accept=True, adjustment_amount_minor=10_000, resolution="badge log shows 3 h"
        )
    )
    assert resolved.state == pay_pb2.Dispute.STATE_ACCEPTED and resolved.adjustment_line
    ann_after = await admin.GetStatement(pb.GetStatementRequest(name=ann_name))
    assert ann_after.total_minor == ann.total_minor + 10_000

    closed = await admin.ClosePayPeriod(pb.ClosePayPeriodRequest(name=march))
    assert closed.state == pay_pb2.PayPeriod.STATE_CLOSED

    # R19: the closed period takes no write at all.
    for call in (
        admin.CalculatePayPeriod(pb.CalculatePayPeriodRequest(name=march)),
        admin.StartPayPeriodReview(pb.StartPayPeriodReviewRequest(name=march)),
        admin.ClosePayPeriod(pb.ClosePayPeriodRequest(name=march)),
        world.as_("max").CreateDispute(
            pb.CreateDisputeRequest(parent=march, dispute=pay_pb2.Dispute(line=rest_day.name, reason="again"))
        ),
    ):
        await expect(grpc.StatusCode.FAILED_PRECONDITION, "PERIOD_CLOSED", call)

    # Export: the files add up to the period's total.
    csv_export = await admin.ExportPayPeriod(
        pb.ExportPayPeriodRequest(name=march, format=pb.ExportPayPeriodRequest.FORMAT_CSV)
    )
    rows = list(csv.DictReader(io.StringIO(csv_export.content.decode())))
    assert sum(int(r["amount_minor"]) for r in rows) == csv_export.total_minor == closed.total_minor
    json_export = await admin.ExportPayPeriod(
        pb.ExportPayPeriodRequest(name=march, format=pb.ExportPayPeriodRequest.FORMAT_JSON)
    )
    document = json.loads(json_export.content)
    assert document["total_minor"] == closed.total_minor
    assert sum(s["total_minor"] for s in document["statements"]) == closed.total_minor
    assert len(document["statements"]) == closed.statement_count == 6

    # A correction after closing: reversal and replacement in April, March untouched.
    april = await period(world, APRIL)
    base = kinds["LINE_KIND_BASE"][0]
    corrected = await world.as_("hana").CorrectStatementLine(
        pb.CorrectStatementLineRequest(
            line=base.name, pay_period=april, replacement_amount_minor=880_000, reason="raise from 1 March"
        )
    )
    assert [(line.amount_minor, line.corrects_line) for line in corrected.lines] == [
        (-870_000, base.name),
        (880_000, base.name),
    ]
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        "PERIOD_CLOSED",
        admin.CorrectStatementLine(
            pb.CorrectStatementLineRequest(
                line=base.name, pay_period=march, replacement_amount_minor=1, reason="into March"
            )
        ),
    )
    after_april = await world.calculate(april)
    ann_april = await admin.GetStatement(
        pb.GetStatementRequest(name=f"{april}/statements/{world.people['ann']}")
    )
    assert ann_april.total_minor == 870_000 + 10_000  # April's base plus the correction's difference
    march_again = await admin.GetPayPeriod(pb.GetPayPeriodRequest(name=march))
    assert march_again.total_minor == closed.total_minor
    assert after_april.total_minor == 870_000 * 5 + 10_000  # Bob has left

    # R18: every pay-affecting change left an audit row in its transaction.
    with world.host.db.reader() as connection:
        actions = [r.action for r in connection.execute(select(audit_log.c.action))]
    for action in (
        "CreatePayRules",
        "IngestFacts",
        "CalculatePayPeriod",
        "CreateDispute",
        "ResolveDispute",
        "ClosePayPeriod",
        "CorrectStatementLine",
    ):
        assert action in actions, action


async def test_facts_are_counted_once_and_a_bad_batch_stores_nothing(world: World) -> None:
    admin = world.as_()
    ann = f"employees/{world.people['ann']}"
    record = facts_pb2.ContactRecord(
        fact_id="c-1",
        employee=ann,
        queue="billing",
        handle_seconds=300,
        outcome=facts_pb2.ContactRecord.OUTCOME_HANDLED,
    )
    record.start_time.FromJsonString("2026-03-02T09:00:00Z")
    batch = facts_pb2.FactBatch(
        contact_records=[record],
        satisfaction_surveys=[
            facts_pb2.SatisfactionSurvey(fact_id="s-1", employee=ann, date=d(date(2026, 3, 2)), rating=5)
        ],
    )
    first = await admin.IngestFacts(pb.IngestFactsRequest(facts=batch))
    again = await admin.IngestFacts(pb.IngestFactsRequest(facts=batch))
    assert (first.accepted_count, first.duplicate_count) == (2, 0)
    assert (again.accepted_count, again.duplicate_count) == (0, 2)

    bad = facts_pb2.FactBatch(
        quality_evaluations=[
            facts_pb2.QualityEvaluation(fact_id="q-1", employee=ann, date=d(date(2026, 3, 2)), score=80),
            facts_pb2.QualityEvaluation(fact_id="q-2", employee=ann, date=d(date(2026, 3, 2)), score=101),
            facts_pb2.QualityEvaluation(
                fact_id="q-3", employee="people/1", date=d(date(2026, 3, 2)), score=70
            ),
        ]
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await admin.IngestFacts(pb.IngestFactsRequest(facts=bad))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    _, bad_request = error_info(caught.value)
    assert bad_request is not None
    assert {v.field for v in bad_request.field_violations} == {
        "facts.quality_evaluations[1].score",
        "facts.quality_evaluations[2].employee",
    }
    report = await admin.ComputeKpis(
        pb.ComputeKpisRequest(subject=ann, start_date=d(date(2026, 3, 1)), end_date=d(date(2026, 3, 31)))
    )
    assert report.measures["offered"] == "1" and report.measures["csat_points"] == "5"
    assert "quality_evaluations" not in report.measures  # nothing of the bad batch was stored


async def test_racing_closes_close_once_and_announce_once(world: World) -> None:
    admin = world.as_()
    await admin.CreatePayRules(pb.CreatePayRulesRequest(pay_rules=world.rules()))
    march = await period(world, MARCH)
    calculated = await world.calculate(march)
    outcomes = await asyncio.gather(
        *(admin.ClosePayPeriod(pb.ClosePayPeriodRequest(name=march, etag=calculated.etag)) for _ in range(4)),
        return_exceptions=True,
    )
    closed = [o for o in outcomes if isinstance(o, pay_pb2.PayPeriod)]
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(closed) == 1 and len(refused) == 3
    assert {e.code() for e in refused} <= {grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION}
    with world.host.db.reader() as connection:
        announced = connection.execute(
            select(outbox.c.event_id).where(outbox.c.event_type.endswith("period.closed"))
        )
        assert len(announced.all()) == 1
    stale = await admin.GetPayPeriod(pb.GetPayPeriodRequest(name=march))
    assert stale.etag != calculated.etag


async def test_periods_page_and_never_overlap(world: World) -> None:
    admin = world.as_()
    names = [await period(world, (date(2026, m, 1), date(2026, m, 28))) for m in (1, 2, 3)]
    await expect(
        grpc.StatusCode.FAILED_PRECONDITION,
        "PERIOD_OVERLAPS",
        admin.CreatePayPeriod(
            pb.CreatePayPeriodRequest(
                pay_period=pay_pb2.PayPeriod(
                    site="shenzhen", start_date=d(date(2026, 2, 15)), end_date=d(date(2026, 3, 14))
                )
            )
        ),
    )
    first = await admin.ListPayPeriods(pb.ListPayPeriodsRequest(site="shenzhen", page_size=2))
    second = await admin.ListPayPeriods(
        pb.ListPayPeriodsRequest(site="shenzhen", page_size=2, page_token=first.next_page_token)
    )
    assert [p.name for p in [*first.pay_periods, *second.pay_periods]] == names[::-1]  # newest first
    assert second.next_page_token == ""
    await expect(
        grpc.StatusCode.INVALID_ARGUMENT,
        "PAGE_TOKEN_MISMATCH",
        admin.ListPayPeriods(pb.ListPayPeriodsRequest(site="lisbon", page_token=first.next_page_token)),
    )
