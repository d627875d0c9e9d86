"""SQL for performance: reads that gather what a use case needs in a few set-based queries,
and the writes of the ledger. Never commits: the unit of work does."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, and_, case, delete, func, insert, select, update

from cadre.chassis.errors import aborted
from cadre.performance.adapters import proto_mapping as m
from cadre.performance.adapters.tables import (
    accepted_overtime,
    attendance,
    complaints,
    contact_records,
    disputes,
    employees,
    error_records,
    leave_days,
    org_units,
    pay_periods,
    pay_rules,
    quality_evaluations,
    satisfaction_surveys,
    scheduled_days,
    scorecards,
    statement_lines,
    statements,
    stints,
    training_time,
)
from cadre.performance.app.kpis import MEASURES
from cadre.performance.app.payroll import AttendanceDay, CalculatedStatement, EmployeeFacts
from cadre.performance.domain.kpi import Scorecard
from cadre.performance.domain.org import OrgTree, Stint, last_team_within, nearest_defined
from cadre.performance.domain.pay_rules import PayRuleHistory
from cadre.performance.domain.statement import Employment, PayPeriod, StatementLine

MISSED = 2  # ContactRecord.OUTCOME_MISSED


def decimal_text(value: Decimal) -> str:
    """Plain digits without trailing zeros: 75, 0.5, 50.0287356321839080459770114942528735632183908."""
    return format(value.normalize(), "f") if value else "0"


class Store:
    def __init__(self, connection: Connection) -> None:
        self.c = connection

    # --- org view ---

    def tree(self) -> OrgTree:
        return OrgTree(
            {row.id: tuple(row.path.strip("/").split("/")) for row in self.c.execute(select(org_units))}
        )

    def sites(self) -> dict[str, str]:
        return {row.id: row.site for row in self.c.execute(select(org_units.c.id, org_units.c.site))}

    def stints(self, employee_ids: Iterable[str] | None = None) -> dict[str, list[Stint]]:
        query = select(stints).order_by(stints.c.employee_id, stints.c.start_date)
        if employee_ids is not None:
            query = query.where(stints.c.employee_id.in_(list(employee_ids)))
        found: dict[str, list[Stint]] = defaultdict(list)
        for row in self.c.execute(query):
            found[row.employee_id].append(
                Stint(row.employee_id, row.org_unit_id, row.start_date, row.end_date)
            )
        return found

    def employments(self) -> dict[str, Employment]:
        return {
            row.id: Employment(row.id, row.hire_date, row.termination_date)
            for row in self.c.execute(select(employees))
        }

    # --- rules ---

    def rule_rows(self, site: str | None = None) -> list[Row[Any]]:
        query = select(pay_rules).order_by(pay_rules.c.site, pay_rules.c.version)
        if site is not None:
            query = query.where(pay_rules.c.site == site)
        return list(self.c.execute(query))

    def rule_history(self, site: str) -> PayRuleHistory:
        history = PayRuleHistory(site)
        for row in self.rule_rows(site):
            history = history.add(m.pay_rules_from_proto(m.pay_rules_from_json(row.body), row.version))
        return history

    def scorecards(self) -> dict[str, tuple[int, str]]:
        """Each unit's newest scorecard: unit id → (version, JSON body)."""
        newest: dict[str, tuple[int, str]] = {}
        for row in self.c.execute(
            select(scorecards).order_by(scorecards.c.org_unit_id, scorecards.c.version)
        ):
            newest[row.org_unit_id] = (row.version, row.body)
        return newest

    def next_scorecard_version(self, unit_id: str) -> int:
        return 1 + int(
            self.c.execute(
                select(func.max(scorecards.c.version)).where(scorecards.c.org_unit_id == unit_id)
            ).scalar()
            or 0
        )

    # --- KPI measures ---

    def day_sums(
        self, first: date, last: date, employee_ids: Sequence[str] | None = None
    ) -> dict[tuple[str, date], dict[str, int]]:
        """Every KPI measure per (employee, day) in `first…last`."""
        return self._sums(first, last, employee_ids, by_day=True)  # type: ignore[return-value]

    def employee_sums(self, first: date, last: date) -> dict[str, dict[str, int]]:
        """Every KPI measure per employee over `first…last` (what a period's score needs)."""
        return self._sums(first, last, None, by_day=False)  # type: ignore[return-value]

    def _sums(
        self, first: date, last: date, employee_ids: Sequence[str] | None, *, by_day: bool
    ) -> dict[Any, dict[str, int]]:
        found: dict[Any, dict[str, int]] = defaultdict(dict)

        def gather(table: Any, columns: dict[str, Any]) -> None:
            condition = and_(table.c.work_date >= first, table.c.work_date <= last)
            if employee_ids is not None:
                condition = and_(condition, table.c.employee_id.in_(list(employee_ids)))
            keys = [table.c.employee_id, table.c.work_date] if by_day else [table.c.employee_id]
            query = select(*keys, *(c.label(n) for n, c in columns.items())).where(condition).group_by(*keys)
            for row in self.c.execute(query):
                sums = found[(row[0], row[1]) if by_day else row[0]]
                for name in columns:
                    sums[name] = int(getattr(row, name) or 0)

        c = contact_records.c
        gather(
            contact_records,
            {
                "offered": func.count(),
                "answered": func.sum(case((c.outcome == MISSED, 0), else_=1)),
                "handle_seconds": func.sum(c.handle_seconds),
            },
        )
        q = quality_evaluations.c
        gather(
            quality_evaluations, {"quality_points": func.sum(q.score), "quality_evaluations": func.count()}
        )
        s = satisfaction_surveys.c
        gather(satisfaction_surveys, {"csat_points": func.sum(s.rating), "csat_surveys": func.count()})
        k = complaints.c
        gather(
            complaints,
            {"complaints": func.count(), "upheld_complaints": func.sum(case((k.upheld, 1), else_=0))},
        )
        gather(error_records, {"errors": func.count()})
        a = attendance.c
        gather(
            attendance,
            {
                "scheduled_minutes": func.sum(a.scheduled_minutes),
                "worked_minutes": func.sum(a.worked_minutes),
                "attended_minutes": func.sum(
                    case(
                        (a.worked_minutes < a.scheduled_minutes, a.worked_minutes), else_=a.scheduled_minutes
                    )
                ),
            },
        )
        return found

    # --- what a calculation needs ---

    def period_people(self, site: str, period: PayPeriod) -> list[EmployeeFacts]:
        sites = self.sites()
        all_stints = self.stints()
        people: dict[str, EmployeeFacts] = {}
        for employee_id, employment in self.employments().items():
            own = all_stints.get(employee_id, [])
            if employment.days_in(period) == 0 or not own:
                continue
            team = last_team_within(own, period.start, period.end)
            if team is not None and sites.get(team) == site:
                people[employee_id] = EmployeeFacts(employment, own)
        inside = lambda table: and_(table.c.work_date >= period.start, table.c.work_date <= period.end)  # noqa: E731
        for row in self.c.execute(select(attendance).where(inside(attendance))):
            person = people.get(row.employee_id)
            if person is not None:
                person.attendance.append(
                    AttendanceDay(
                        row.work_date,
                        row.rest_day,
                        row.scheduled_minutes,
                        row.worked_minutes,
                        row.overtime_minutes,
                        row.revision,
                    )
                )
        for row in self.c.execute(select(training_time).where(inside(training_time), training_time.c.paid)):
            if (person := people.get(row.employee_id)) is not None:
                person.training.append((row.fact_id, row.work_date, row.minutes))
        for row in self.c.execute(select(leave_days).where(inside(leave_days), leave_days.c.paid)):
            if (person := people.get(row.employee_id)) is not None:
                person.leave.append((row.leave_request, row.work_date, row.minutes))
        for row in self.c.execute(select(error_records).where(inside(error_records))):
            if (person := people.get(row.employee_id)) is not None:
                person.errors.append((row.fact_id, row.work_date, row.error_class))
        for employee_id, sums in self.employee_sums(period.start, period.end).items():
            if (person := people.get(employee_id)) is not None:
                person.sums = sums
        for person in people.values():
            person.attendance.sort(key=lambda a: a.day)
            person.training.sort()
            person.leave.sort()
            person.errors.sort()
        return [people[e] for e in sorted(people)]

    # --- periods ---

    def period(self, period_id: str) -> Row[Any] | None:
        return self.c.execute(select(pay_periods).where(pay_periods.c.id == period_id)).first()

    def period_totals(self, period_id: str) -> tuple[int, int]:
        count = self.c.execute(
            select(func.count()).select_from(statements).where(statements.c.period_id == period_id)
        ).scalar()
        total = self.c.execute(
            select(func.sum(statement_lines.c.amount_minor)).where(statement_lines.c.period_id == period_id)
        ).scalar()
        return int(count or 0), int(total or 0)

    def open_disputes(self, period_id: str) -> int:
        return int(
            self.c.execute(
                select(func.count())
                .select_from(disputes)
                .where(disputes.c.period_id == period_id, disputes.c.state == "OPEN")
            ).scalar()
            or 0
        )

    def change_period(self, period_id: str, read_version: int, **values: Any) -> None:
        """Changes the period as read at `read_version`; a change in between is ABORTED, so two
        racing closes (or a close racing a dispute) never both happen."""
        changed = self.c.execute(
            update(pay_periods)
            .where(pay_periods.c.id == period_id, pay_periods.c.version == read_version)
            .values(version=pay_periods.c.version + 1, **values)
        ).rowcount
        if changed != 1:
            raise aborted("CONCURRENT_CHANGE", f"payPeriods/{period_id} changed meanwhile; try again")

    # --- statements ---

    def write_calculation(
        self, period_id: str, results: Sequence[CalculatedStatement], revision: int
    ) -> None:
        """Replaces the period's calculated lines; adjustments and corrections stay."""
        self.c.execute(
            delete(statement_lines).where(
                statement_lines.c.period_id == period_id, statement_lines.c.origin == "CALCULATED"
            )
        )
        kept = set(
            self.c.execute(
                select(statement_lines.c.employee_id)
                .where(statement_lines.c.period_id == period_id)
                .distinct()
            ).scalars()
        )
        calculated = {r.statement.employee_id for r in results}
        self.c.execute(
            delete(statements).where(
                statements.c.period_id == period_id, statements.c.employee_id.not_in(list(kept | calculated))
            )
        )
        self.c.execute(
            delete(statements).where(
                statements.c.period_id == period_id, statements.c.employee_id.in_(list(calculated))
            )
        )
        rows, lines = [], []
        for result in results:
            s = result.statement
            rows.append(
                {
                    "period_id": period_id,
                    "employee_id": s.employee_id,
                    "org_unit_id": result.org_unit_id,
                    "currency": s.currency,
                    "rule_version": s.rule_version,
                    "revision": revision,
                }
            )
            for position, line in enumerate(s.lines):
                lines.append(self._line_row(period_id, s.employee_id, position, "CALCULATED", line, None))
        if rows:
            self.c.execute(insert(statements), rows)
        if lines:
            self.c.execute(insert(statement_lines), lines)

    @staticmethod
    def _line_row(
        period_id: str,
        employee_id: str,
        position: int,
        origin: str,
        line: StatementLine,
        corrects: str | None,
    ) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "period_id": period_id,
            "employee_id": employee_id,
            "position": position,
            "origin": origin,
            "kind": line.kind.value,
            "detail": line.detail[:400],
            "quantity": decimal_text(line.quantity),
            "unit": line.unit,
            "rate": decimal_text(line.rate),
            "amount_minor": line.amount.minor,
            "rule_version": line.rule_version,
            "fact_ids": json.dumps(list(line.fact_ids)),
            "corrects_line_id": corrects,
        }

    def add_line(
        self, period_id: str, employee_id: str, origin: str, line: StatementLine, corrects: str | None
    ) -> str:
        position = 1 + int(
            self.c.execute(
                select(func.max(statement_lines.c.position)).where(
                    statement_lines.c.period_id == period_id, statement_lines.c.employee_id == employee_id
                )
            ).scalar()
            or 0
        )
        row = self._line_row(period_id, employee_id, position, origin, line, corrects)
        self.c.execute(insert(statement_lines).values(**row))
        return str(row["id"])

    def statement(self, period_id: str, employee_id: str) -> Row[Any] | None:
        return self.c.execute(
            select(statements).where(
                statements.c.period_id == period_id, statements.c.employee_id == employee_id
            )
        ).first()

    def statement_with_line(self, period_id: str, employee_id: str) -> Row[Any]:
        """The statement a stored line belongs to (lines never exist without one)."""
        row = self.statement(period_id, employee_id)
        if row is None:
            raise LookupError(f"line of payPeriods/{period_id} without a statement for {employee_id}")
        return row

    def lines(self, period_id: str, employee_ids: Sequence[str]) -> dict[str, list[Row[Any]]]:
        found: dict[str, list[Row[Any]]] = defaultdict(list)
        for row in self.c.execute(
            select(statement_lines)
            .where(
                statement_lines.c.period_id == period_id,
                statement_lines.c.employee_id.in_(list(employee_ids)),
            )
            .order_by(statement_lines.c.employee_id, statement_lines.c.position)
        ):
            found[row.employee_id].append(row)
        return found

    def line(self, line_id: str) -> Row[Any] | None:
        return self.c.execute(select(statement_lines).where(statement_lines.c.id == line_id)).first()

    def statement_rows(self, period_id: str, after: str | None, limit: int) -> list[Row[Any]]:
        query = (
            select(statements).where(statements.c.period_id == period_id).order_by(statements.c.employee_id)
        )
        if after:
            query = query.where(statements.c.employee_id > after)
        return list(self.c.execute(query.limit(limit)))

    # --- reconciliation inputs for one employee ---

    def days_of(self, employee_id: str, first: date, last: date) -> dict[str, dict[date, Any]]:
        def rows(table: Any) -> list[Row[Any]]:
            return list(
                self.c.execute(
                    select(table).where(
                        table.c.employee_id == employee_id,
                        table.c.work_date >= first,
                        table.c.work_date <= last,
                    )
                )
            )

        found: dict[str, dict[date, Any]] = {
            "attendance": {r.work_date: r for r in rows(attendance)},
            "scheduled": {r.work_date: r.scheduled_minutes for r in rows(scheduled_days)},
        }
        for name, table in (("overtime", accepted_overtime), ("training", training_time)):
            sums: dict[date, int] = defaultdict(int)
            for r in rows(table):
                if name != "training" or r.paid:
                    sums[r.work_date] += r.minutes
            found[name] = sums
        paid: dict[date, int] = defaultdict(int)
        unpaid: dict[date, int] = defaultdict(int)
        for r in rows(leave_days):
            (paid if r.paid else unpaid)[r.work_date] += r.minutes
        found["paid_leave"], found["unpaid_leave"] = paid, unpaid
        return found

    def new_scorecard(self, unit_id: str, version: int, body: str, now: Any) -> None:
        self.c.execute(
            insert(scorecards).values(org_unit_id=unit_id, version=version, body=body, create_time=now)
        )

    def scorecard_of(self, tree: OrgTree, unit_id: str) -> tuple[str, int, Scorecard] | None:
        defined = self.scorecards()
        owner = nearest_defined(tree, unit_id, defined)
        if owner is None:
            return None
        version, body = defined[owner]
        return owner, version, m.scorecard_from_proto(m.scorecard_from_json(body), version, MEASURES)
