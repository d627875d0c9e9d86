"""Bulk fact ingestion: a whole batch checked, then written with one executemany per kind.

Facts are rows, never ORM objects: a month of a large center is millions of contact
records. A fact whose id is already stored is skipped by the database itself
(`ON CONFLICT DO NOTHING`), so a batch sent twice, or a fact sent in two batches, counts
once; the statement's row count tells how many were new.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import sqlite

from cadre.chassis.errors import Violations, invalid_argument
from cadre.performance.adapters.tables import (
    complaints,
    contact_records,
    error_records,
    org_units,
    quality_evaluations,
    satisfaction_surveys,
    stints,
)
from cadre.performance.v1 import facts_pb2

EMPLOYEE_NAME = re.compile(r"^employees/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
MAX_FACT_ID = 100
MAX_ERROR_CLASS = 50
EPOCH = date(1970, 1, 1)
_UTC = ZoneInfo("UTC")
Outcome = facts_pb2.ContactRecord.Outcome
_OUTCOMES = frozenset(Outcome.values()) - {Outcome.OUTCOME_UNSPECIFIED}
MISSED = Outcome.OUTCOME_MISSED
_MAX_VIOLATIONS = 100  # enough to fix a batch; a million of them helps nobody


class _Checker:
    """Field checks shared by every fact kind, with caches for what repeats across a batch."""

    def __init__(self) -> None:
        self.violations = Violations()
        self.count = 0
        self.names: dict[str, str] = {}  # well-formed employee names seen, to their ids
        self._days: dict[tuple[int, int, int], date | None] = {}

    def add(self, path: str, reason: str, description: str) -> None:
        self.count += 1
        if self.count <= _MAX_VIOLATIONS:
            self.violations.add(path, reason, description)

    def employee(self, name: str, path: str) -> str:
        found = self.names.get(name)
        if found is None:
            match = EMPLOYEE_NAME.match(name)
            if match is None:
                self.add(path, "MALFORMED_RESOURCE_NAME", "must look like employees/{uuid}")
                return ""
            found = self.names[name] = match.group(1)
        return found

    def fact_id(self, fact_id: str, path: str, seen: set[str]) -> None:
        if not fact_id or len(fact_id) > MAX_FACT_ID:
            self.add(path, "OUT_OF_RANGE", f"must be 1–{MAX_FACT_ID} characters")
        elif fact_id in seen:
            self.add(path, "DUPLICATE_FACT_ID", "appears twice in the batch")
        seen.add(fact_id)

    def day(self, value: Any, path: str) -> date | None:
        key = (value.year, value.month, value.day)
        if key not in self._days:
            try:
                self._days[key] = date(*key)
            except ValueError:
                self._days[key] = None
        found = self._days[key]
        if found is None:
            self.add(path, "INVALID_DATE", "must be a calendar date")
        return found


class LocalDays:
    """The local date of an instant in the agent's team's time zone, cached per hour."""

    def __init__(self, zones: dict[str, str]) -> None:
        self._zones = {e: ZoneInfo(z) for e, z in zones.items()}
        self._offsets: dict[tuple[ZoneInfo, int], int] = {}
        self._dates: dict[int, date] = {}

    def __call__(self, employee_id: str, seconds: int) -> date:
        zone = self._zones.get(employee_id, _UTC)
        hour = seconds // 3600
        offset = self._offsets.get((zone, hour))
        if offset is None:
            moment = datetime.fromtimestamp(hour * 3600, UTC).astimezone(zone)
            offset = int(moment.utcoffset().total_seconds())  # type: ignore[union-attr]
            self._offsets[(zone, hour)] = offset
        number = (seconds + offset) // 86400
        day = self._dates.get(number)
        if day is None:
            day = self._dates[number] = EPOCH + timedelta(days=number)
        return day


def team_time_zones(connection: Connection, employee_ids: Iterable[str]) -> dict[str, str]:
    """Each known employee's latest team's time zone (facts of unknown people count in UTC)."""
    wanted = set(employee_ids)
    rows = connection.execute(
        select(stints.c.employee_id, stints.c.start_date, org_units.c.time_zone)
        .join(org_units, org_units.c.id == stints.c.org_unit_id)
        .order_by(stints.c.employee_id, stints.c.start_date)
    )
    return {row.employee_id: row.time_zone or "UTC" for row in rows if row.employee_id in wanted}


def _check_contact(check: _Checker, path: str, outcome: int, handle: int, seconds: int, queue: str) -> None:
    if outcome not in _OUTCOMES:
        check.add(f"{path}.outcome", "REQUIRED_FIELD_MISSING", "must be HANDLED, MISSED or TRANSFERRED")
    if not 0 <= handle <= 86_400:
        check.add(f"{path}.handle_seconds", "OUT_OF_RANGE", "must be 0–86400")
    elif outcome == MISSED and handle:
        check.add(f"{path}.handle_seconds", "OUT_OF_RANGE", "a missed contact has no handle time")
    if seconds <= 0:
        check.add(f"{path}.start_time", "REQUIRED_FIELD_MISSING", "must be set")
    if len(queue) > 200:
        check.add(f"{path}.queue", "OUT_OF_RANGE", "at most 200 characters")


def fact_rows(
    batch: facts_pb2.FactBatch, *, max_facts: int, zones: Callable[[set[str]], dict[str, str]]
) -> dict[Table, list[dict[str, Any]]]:
    """Every fact of the batch as a row, or INVALID_ARGUMENT naming every bad field."""
    total = (
        len(batch.contact_records)
        + len(batch.quality_evaluations)
        + len(batch.satisfaction_surveys)
        + len(batch.complaints)
        + len(batch.errors)
    )
    if total > max_facts:
        raise invalid_argument(
            "TOO_MANY_FACTS", f"{total} facts in one batch; at most {max_facts}", field="facts"
        )
    check = _Checker()
    rows: dict[Table, list[dict[str, Any]]] = {}

    seen: set[str] = set()
    contacts = []
    raw = []
    names = check.names
    remember = seen.add
    # The hot loop of a big batch: checks are cheap comparisons, and a field's path is only
    # spelled out when it is wrong.
    for i, r in enumerate(batch.contact_records):
        fact_id, name, outcome, handle = r.fact_id, r.employee, r.outcome, r.handle_seconds
        seconds, queue = r.start_time.seconds, r.queue
        employee = names.get(name)
        if employee is None:
            employee = check.employee(name, f"facts.contact_records[{i}].employee")
        if 0 < len(fact_id) <= MAX_FACT_ID and fact_id not in seen:
            remember(fact_id)
        else:
            check.fact_id(fact_id, f"facts.contact_records[{i}].fact_id", seen)
        if (
            outcome not in _OUTCOMES
            or not 0 <= handle <= 86_400
            or (outcome == MISSED and handle)
            or seconds <= 0
            or len(queue) > 200
        ):
            _check_contact(check, f"facts.contact_records[{i}]", outcome, handle, seconds, queue)
        raw.append((fact_id, employee, queue, seconds, handle, outcome))

    def dated(
        kind: Sequence[Any], name: str, extra: Callable[[Any, str], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        seen_kind: set[str] = set()
        out = []
        for i, fact in enumerate(kind):
            path = f"facts.{name}[{i}]"
            check.fact_id(fact.fact_id, f"{path}.fact_id", seen_kind)
            employee = check.employee(fact.employee, f"{path}.employee")
            day = check.day(fact.date, f"{path}.date")
            out.append(
                {"fact_id": fact.fact_id, "employee_id": employee, "work_date": day, **extra(fact, path)}
            )
        return out

    def quality(f: Any, path: str) -> dict[str, Any]:
        if not 0 <= f.score <= 100:
            check.add(f"{path}.score", "OUT_OF_RANGE", "must be 0–100")
        return {"score": f.score}

    def survey(f: Any, path: str) -> dict[str, Any]:
        if not 1 <= f.rating <= 5:
            check.add(f"{path}.rating", "OUT_OF_RANGE", "must be 1–5")
        return {"rating": f.rating}

    def error(f: Any, path: str) -> dict[str, Any]:
        if not f.error_class or len(f.error_class) > MAX_ERROR_CLASS:
            check.add(f"{path}.error_class", "OUT_OF_RANGE", f"must be 1–{MAX_ERROR_CLASS} characters")
        return {"error_class": f.error_class}

    rows[quality_evaluations] = dated(batch.quality_evaluations, "quality_evaluations", quality)
    rows[satisfaction_surveys] = dated(batch.satisfaction_surveys, "satisfaction_surveys", survey)
    rows[complaints] = dated(batch.complaints, "complaints", lambda f, _: {"upheld": f.upheld})
    rows[error_records] = dated(batch.errors, "errors", error)
    if check.count > _MAX_VIOLATIONS:
        check.violations.add(
            "facts", "TOO_MANY_VIOLATIONS", f"{check.count} bad fields; the first are listed"
        )
    check.violations.raise_if_any()

    if raw:
        local_day = LocalDays(zones({row[1] for row in raw}))
        moment = datetime.fromtimestamp
        contacts = [
            {
                "fact_id": fact_id,
                "employee_id": employee,
                "work_date": local_day(employee, seconds),
                "queue": queue,
                "start_time": moment(seconds, UTC),
                "handle_seconds": handle,
                "outcome": outcome,
            }
            for fact_id, employee, queue, seconds, handle, outcome in raw
        ]
    rows[contact_records] = contacts
    return rows


def insert_new(connection: Connection, rows: dict[Table, list[dict[str, Any]]]) -> tuple[int, int]:
    """Writes the rows whose fact id is new; (stored now, already stored)."""
    accepted = duplicates = 0
    for table, batch in rows.items():
        if not batch:
            continue
        if connection.dialect.name == "postgresql":
            stored = _copy_new(connection, table, batch)
        else:
            statement = sqlite.insert(table).on_conflict_do_nothing(index_elements=["fact_id"])
            # sqlite3's executemany reports the rows it changed; a skipped conflict changes none.
            stored = connection.execute(statement, batch).rowcount
        accepted += stored
        duplicates += len(batch) - stored
    return accepted, duplicates


def _copy_new(connection: Connection, table: Table, batch: list[dict[str, Any]]) -> int:
    """PostgreSQL: COPY into a scratch table of this transaction, then one INSERT … SELECT
    that skips stored ids — faster than any INSERT of single rows, and its row count is exact
    (psycopg's executemany reports none)."""
    columns = [column.name for column in table.columns]
    names = ", ".join(columns)
    scratch = f"incoming_{table.name}"
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"CREATE TEMPORARY TABLE {scratch} (LIKE {table.name}) ON COMMIT DROP")
        with cursor.copy(f"COPY {scratch} ({names}) FROM STDIN") as copy:
            for row in batch:
                copy.write_row([row[name] for name in columns])
        cursor.execute(
            f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {scratch} "
            "ON CONFLICT (fact_id) DO NOTHING"
        )
        stored = int(cursor.rowcount)
        cursor.execute(f"DROP TABLE {scratch}")
    finally:
        cursor.close()
    return stored
