"""KPIs and statements from events: the org view from roster's transfers, facts from the
fact stream, training time from training — and replaying every event gives the same pay."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.type import date_pb2
from sqlalchemy import select

from cadre.authority import projection
from cadre.chassis.grpc_errors import error_info
from cadre.performance.adapters.tables import employees, stints
from cadre.performance.v1 import events_pb2, facts_pb2, pay_pb2
from cadre.performance.v1 import performance_service_pb2 as pb
from cadre.roster.v1 import employee_pb2
from cadre.roster.v1 import events_pb2 as roster_events
from cadre.training.v1 import events_pb2 as training_events

World = Any  # the `world` fixture of this folder's conftest
MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def d(value: date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


def contacts(
    employee: str, day: date, *, handled: int, missed: int, prefix: str
) -> list[facts_pb2.ContactRecord]:
    records = []
    for i in range(handled + missed):
        record = facts_pb2.ContactRecord(
            fact_id=f"{prefix}-{day.isoformat()}-{i}",
            employee=employee,
            queue="billing",
            handle_seconds=240 if i < handled else 0,
            outcome=facts_pb2.ContactRecord.OUTCOME_HANDLED
            if i < handled
            else facts_pb2.ContactRecord.OUTCOME_MISSED,
        )
        record.start_time.FromDatetime(
            datetime(day.year, day.month, day.day, 10, tzinfo=UTC) + timedelta(minutes=i)
        )
        records.append(record)
    return records


def scorecard() -> pay_pb2.Scorecard:
    return pay_pb2.Scorecard(
        metrics=[
            pay_pb2.Metric(
                code="ANSWER_RATE",
                numerator="answered",
                denominator="offered",
                direction=pay_pb2.Metric.DIRECTION_HIGHER_IS_BETTER,
                target="90",
                floor="50",
                ceiling="100",
                weight="1",
                scale="100",
            ),
        ]
    )


async def test_kpis_follow_the_team_on_the_facts_date(world: World) -> None:
    admin = world.as_()
    ann = f"employees/{world.people['ann']}"
    await world.transfer("ann", "t1", "t2", date(2026, 3, 16))
    batch = facts_pb2.FactBatch(
        contact_records=contacts(ann, date(2026, 3, 10), handled=9, missed=1, prefix="a")
        + contacts(ann, date(2026, 3, 20), handled=15, missed=15, prefix="a")
    )
    # Published by a contact-center platform on the fact stream, not called in.
    await world.publish(
        "ccp", "cadre.facts.v1.batch.published", "batches/1", events_pb2.FactBatchPublishedEvent(facts=batch)
    )
    await world.settle()
    await admin.CreateScorecard(
        pb.CreateScorecardRequest(parent=f"orgUnits/{world.units['center']}", scorecard=scorecard())
    )

    async def kpis(subject: str) -> pb.KpiReport:
        return await admin.ComputeKpis(
            pb.ComputeKpisRequest(subject=subject, start_date=d(MARCH[0]), end_date=d(MARCH[1]))
        )

    team1 = await kpis(f"orgUnits/{world.units['t1']}")
    team2 = await kpis(f"orgUnits/{world.units['t2']}")
    dept = await kpis(f"orgUnits/{world.units['dept']}")
    assert team1.measures["offered"] == "10" and team2.measures["offered"] == "30"
    assert team1.metrics[0].value == "90.0000" and team2.metrics[0].value == "50.0000"
    # The department pools 24 answered of 40 offered: 60%, not the teams' average of 70%.
    assert dept.metrics[0].value == "60.0000"
    # Every level uses the center's scorecard, inherited, and says which version.
    assert {r.scorecard for r in (team1, team2, dept)} == {f"orgUnits/{world.units['center']}/scorecards/1"}
    assert dept.score == "20.00"  # 60% is 20 points between the floor of 50% and the ceiling of 100%

    # A leader asks for KPIs of a team they do not lead.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await world.as_("lea").ComputeKpis(
            pb.ComputeKpisRequest(
                subject=f"orgUnits/{world.units['t2']}", start_date=d(MARCH[0]), end_date=d(MARCH[1])
            )
        )
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_info(caught.value)[0].reason == "OUT_OF_SCOPE"  # type: ignore[union-attr]


async def test_a_hire_arriving_after_a_transfer_leaves_the_org_view_as_it_is(world: World) -> None:
    """Roster's hire is the person's first version: a copy of it arriving after the transfer
    (replayed, re-published) does not reopen the first team's stint."""
    ann = f"employees/{world.people['ann']}"
    await world.transfer("ann", "t1", "t2", date(2026, 3, 16))
    await world.publish(
        "roster",
        "cadre.roster.v1.employee.hired",
        ann,
        roster_events.EmployeeHiredEvent(
            employee=ann,
            org_unit=f"orgUnits/{world.units['t1']}",
            role=employee_pb2.Employee.ROLE_AGENT,
            hire_date=d(date(2025, 1, 1)),
        ),
    )
    batch = facts_pb2.FactBatch(
        contact_records=contacts(ann, date(2026, 3, 10), handled=9, missed=1, prefix="a")
        + contacts(ann, date(2026, 3, 20), handled=15, missed=15, prefix="a")
    )
    await world.publish(
        "ccp", "cadre.facts.v1.batch.published", "batches/1", events_pb2.FactBatchPublishedEvent(facts=batch)
    )
    await world.settle()
    admin = world.as_()
    await admin.CreateScorecard(
        pb.CreateScorecardRequest(parent=f"orgUnits/{world.units['center']}", scorecard=scorecard())
    )
    offered = {}
    for team in ("t1", "t2"):
        report = await admin.ComputeKpis(
            pb.ComputeKpisRequest(
                subject=f"orgUnits/{world.units[team]}", start_date=d(MARCH[0]), end_date=d(MARCH[1])
            )
        )
        offered[team] = report.measures["offered"]
    assert offered == {"t1": "10", "t2": "30"}


def _updated(employee: str, role: int, version: int) -> roster_events.EmployeeUpdatedEvent:
    return roster_events.EmployeeUpdatedEvent(employee=employee, role=role, version=version)


async def _held(world: World, employee: str) -> tuple[Any, list[tuple[Any, ...]]]:
    """Performance's copy of the person: (role, version) and their stints (start, team, end)."""
    employee_id = employee.rsplit("/", 1)[-1]

    def read() -> tuple[Any, list[tuple[Any, ...]]]:
        with world.host.db.reader() as connection:
            person = connection.execute(
                select(employees.c.role, employees.c.version).where(employees.c.id == employee_id)
            ).first()
            held = connection.execute(
                select(stints.c.start_date, stints.c.org_unit_id, stints.c.end_date)
                .where(stints.c.employee_id == employee_id)
                .order_by(stints.c.start_date)
            ).all()
        return (tuple(person) if person else None), [tuple(row) for row in held]

    return await world.host.db.run(read)


async def test_an_older_update_arriving_late_leaves_the_newer_role(world: World) -> None:
    """Here and in the authority copy, which decides with the role (a demoted administrator
    must not become one again when the promotion arrives late, R16)."""
    ann = f"employees/{world.people['ann']}"
    for role, version in ((employee_pb2.Employee.ROLE_TEAM_LEADER, 3), (employee_pb2.Employee.ROLE_AGENT, 2)):
        await world.publish("roster", "cadre.roster.v1.employee.updated", ann, _updated(ann, role, version))
    await world.settle()
    person, _ = await _held(world, ann)
    assert person == (employee_pb2.Employee.ROLE_TEAM_LEADER, 3)

    def authority_role() -> Any:
        with world.host.db.reader() as connection:
            return connection.execute(
                select(projection.people.c.role).where(projection.people.c.id == world.people["ann"])
            ).scalar()

    assert await world.host.db.run(authority_role) == employee_pb2.Employee.ROLE_TEAM_LEADER


async def test_changes_published_before_the_hire_are_applied_once_it_is_in(world: World) -> None:
    """The hire lost by the broker and re-published after the person's later changes (R2, R20):
    the changes wait for it, through the real consumer, instead of changing nothing."""
    zoe_id = str(uuid.uuid4())
    zoe = f"employees/{zoe_id}"
    world.people["zoe"] = zoe_id
    await world.publish(
        "roster",
        "cadre.roster.v1.employee.updated",
        zoe,
        _updated(zoe, employee_pb2.Employee.ROLE_TEAM_LEADER, 2),
    )
    await world.transfer("zoe", "t1", "t2", date(2026, 3, 16))
    await asyncio.sleep(0.1)  # tried and held
    await world.publish(
        "roster",
        "cadre.roster.v1.employee.hired",
        zoe,
        roster_events.EmployeeHiredEvent(
            employee=zoe,
            org_unit=f"orgUnits/{world.units['t1']}",
            role=employee_pb2.Employee.ROLE_AGENT,
            hire_date=d(date(2025, 1, 1)),
        ),
    )
    await world.settle()
    person, held = await _held(world, zoe)
    assert person == (employee_pb2.Employee.ROLE_TEAM_LEADER, 2)
    assert held == [
        (date(2025, 1, 1), world.units["t1"], date(2026, 3, 15)),
        (date(2026, 3, 16), world.units["t2"], None),
    ]


async def statement_lines(world: World, period: str, key: str) -> list[tuple[Any, ...]]:
    statement = await world.as_().GetStatement(
        pb.GetStatementRequest(name=f"{period}/statements/{world.people[key]}")
    )
    return [
        (line.kind, line.detail, line.quantity, line.rate, line.amount_minor, tuple(line.fact_ids))
        for line in statement.lines
    ]


async def test_events_replayed_twice_give_identical_statements(world: World) -> None:
    admin = world.as_()
    await admin.CreatePayRules(pb.CreatePayRulesRequest(pay_rules=world.rules()))
    card = scorecard()
    await admin.CreateScorecard(
        pb.CreateScorecardRequest(parent=f"orgUnits/{world.units['center']}", scorecard=card)
    )
    ann, bob = (f"employees/{world.people[k]}" for k in ("ann", "bob"))
    # Ann answers everything (score 100: GOLD), Bob misses a lot.
    await world.publish(
        "ccp",
        "cadre.facts.v1.batch.published",
        "batches/1",
        events_pb2.FactBatchPublishedEvent(
            facts=facts_pb2.FactBatch(
                contact_records=contacts(ann, date(2026, 3, 5), handled=20, missed=0, prefix="ra")
                + contacts(bob, date(2026, 3, 5), handled=5, missed=5, prefix="rb"),
                errors=[
                    facts_pb2.ErrorRecord(
                        fact_id="e-1", employee=bob, date=d(date(2026, 3, 6)), error_class="MAJOR"
                    )
                ],
            )
        ),
    )
    await world.attendance("ann", date(2026, 3, 2), scheduled=480, worked=600, overtime=120)
    await world.attendance("ann", date(2026, 3, 2), scheduled=480, worked=540, overtime=60, revision=2)
    await world.attendance("bob", date(2026, 3, 7), scheduled=0, worked=90, overtime=90, rest_day=True)
    await world.publish(
        "training",
        "cadre.training.v1.training_time.recorded",
        ann,
        training_events.TrainingTimeRecordedEvent(
            employee=ann,
            session="courses/1/sessions/2",
            work_date=d(date(2026, 3, 11)),
            minutes=90,
            paid=True,
        ),
    )
    await world.settle()
    period = (
        await admin.CreatePayPeriod(
            pb.CreatePayPeriodRequest(
                pay_period=pay_pb2.PayPeriod(site="shenzhen", start_date=d(MARCH[0]), end_date=d(MARCH[1]))
            )
        )
    ).name
    first = await world.calculate(period)
    before = {k: await statement_lines(world, period, k) for k in ("ann", "bob")}
    kinds = {line[1] for line in before["ann"]}
    assert (
        "WORK_DAY" in kinds
        and "TRAINING" in kinds
        and any(line[1].startswith("GOLD") for line in before["ann"])
    )
    overtime = next(line for line in before["ann"] if line[1] == "WORK_DAY")
    assert overtime[2] == "1"  # the second recording of 2 March (60 minutes) replaced the first
    training = next(line for line in before["ann"] if line[1] == "TRAINING")
    assert training[4] == 4_500  # 1.5 h × 30 CNY

    # Every event again: the same envelopes (inbox), and the facts once more under a new event id.
    for _, event in list(world.sent):
        await world.republish(event)
    await world.publish(
        "ccp",
        "cadre.facts.v1.batch.published",
        "batches/1-again",
        events_pb2.FactBatchPublishedEvent(
            facts=facts_pb2.FactBatch(
                contact_records=contacts(ann, date(2026, 3, 5), handled=20, missed=0, prefix="ra")
            )
        ),
    )
    # And an older recording of a day arriving late changes nothing.
    await world.attendance("ann", date(2026, 3, 2), scheduled=480, worked=600, overtime=120, revision=1)
    await world.settle()
    second = await world.calculate(period)
    after = {k: await statement_lines(world, period, k) for k in ("ann", "bob")}
    assert after == before
    assert second.total_minor == first.total_minor and second.revision == first.revision + 1
