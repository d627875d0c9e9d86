"""Performance's tables. Facts are plain rows keyed by their producer's id, so a fact sent
again is recognised; statements and lines are a ledger; closed periods are never touched."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

from cadre.chassis.tables import UtcDateTime

metadata = MetaData()

# --- the org view, from roster's events only ---
org_units = Table(
    "perf_org_units",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("path", String(400), nullable=False),  # "/center/department/team/"
    Column("site", String(200), nullable=False),
    Column("time_zone", String(64), nullable=False),
)
employees = Table(
    "perf_employees",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("role", Integer, nullable=False),
    Column("hire_date", Date, nullable=False),
    Column("termination_date", Date, nullable=True),  # last day employed
    # Roster's version of the record (the hire is 1): older `employee.updated` arriving late
    # change nothing (performance_0002).
    Column("version", Integer, nullable=False, server_default="1"),
)
stints = Table(
    "perf_stints",
    metadata,
    Column("employee_id", String(36), primary_key=True),
    Column("start_date", Date, primary_key=True),
    Column("org_unit_id", String(36), nullable=False),
    Column("end_date", Date, nullable=True),
)

# --- raw facts ---
contact_records = Table(
    "perf_contact_records",
    metadata,
    Column("fact_id", String(100), primary_key=True),
    Column("employee_id", String(36), nullable=False),
    Column("work_date", Date, nullable=False),
    Column("queue", String(200), nullable=False),
    Column("start_time", UtcDateTime(), nullable=False),
    Column("handle_seconds", Integer, nullable=False),
    Column("outcome", SmallInteger, nullable=False),
)
Index("ix_perf_contact_records_employee_day", contact_records.c.employee_id, contact_records.c.work_date)

quality_evaluations = Table(
    "perf_quality_evaluations",
    metadata,
    Column("fact_id", String(100), primary_key=True),
    Column("employee_id", String(36), nullable=False),
    Column("work_date", Date, nullable=False),
    Column("score", Integer, nullable=False),
)
Index("ix_perf_quality_employee_day", quality_evaluations.c.employee_id, quality_evaluations.c.work_date)

satisfaction_surveys = Table(
    "perf_satisfaction_surveys",
    metadata,
    Column("fact_id", String(100), primary_key=True),
    Column("employee_id", String(36), nullable=False),
    Column("work_date", Date, nullable=False),
    Column("rating", Integer, nullable=False),
)
Index("ix_perf_surveys_employee_day", satisfaction_surveys.c.employee_id, satisfaction_surveys.c.work_date)

complaints = Table(
    "perf_complaints",
    metadata,
    Column("fact_id", String(100), primary_key=True),
    Column("employee_id", String(36), nullable=False),
    Column("work_date", Date, nullable=False),
    Column("upheld", Boolean, nullable=False),
)
Index("ix_perf_complaints_employee_day", complaints.c.employee_id, complaints.c.work_date)

error_records = Table(
    "perf_error_records",
    metadata,
    Column("fact_id", String(100), primary_key=True),
    Column("employee_id", String(36), nullable=False),
    Column("work_date", Date, nullable=False),
    Column("error_class", String(50), nullable=False),
)
Index("ix_perf_errors_employee_day", error_records.c.employee_id, error_records.c.work_date)

# --- time, from scheduling and training events ---
attendance = Table(
    "perf_attendance",
    metadata,
    Column("employee_id", String(36), primary_key=True),
    Column("work_date", Date, primary_key=True),
    Column("org_unit_id", String(36), nullable=False),
    Column("rest_day", Boolean, nullable=False),
    Column("scheduled_minutes", Integer, nullable=False),
    Column("worked_minutes", Integer, nullable=False),
    Column("overtime_minutes", Integer, nullable=False),
    Column("revision", BigInteger, nullable=False),
)
Index("ix_perf_attendance_day", attendance.c.work_date)

scheduled_days = Table(
    "perf_scheduled_days",
    metadata,
    Column("employee_id", String(36), primary_key=True),
    Column("work_date", Date, primary_key=True),
    Column("org_unit_id", String(36), nullable=False),
    Column("scheduled_minutes", Integer, nullable=False),
    Column("schedule_version", BigInteger, nullable=False),
)

accepted_overtime = Table(
    "perf_accepted_overtime",
    metadata,
    Column("offer", String(200), primary_key=True),
    Column("employee_id", String(36), primary_key=True),
    Column("work_date", Date, nullable=False),
    Column("minutes", Integer, nullable=False),
)
Index("ix_perf_accepted_overtime_employee", accepted_overtime.c.employee_id, accepted_overtime.c.work_date)

leave_days = Table(
    "perf_leave_days",
    metadata,
    Column("leave_request", String(200), primary_key=True),
    Column("work_date", Date, primary_key=True),
    Column("employee_id", String(36), nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("paid", Boolean, nullable=False),
)
Index("ix_perf_leave_days_employee", leave_days.c.employee_id, leave_days.c.work_date)

training_time = Table(
    "perf_training_time",
    metadata,
    Column("fact_id", String(300), primary_key=True),  # session + employee + day
    Column("employee_id", String(36), nullable=False),
    Column("work_date", Date, nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("paid", Boolean, nullable=False),
)
Index("ix_perf_training_employee", training_time.c.employee_id, training_time.c.work_date)

# --- rules ---
pay_rules = Table(
    "perf_pay_rules",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("site", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("body", Text, nullable=False),  # the PayRules message as JSON
    Column("create_time", UtcDateTime(), nullable=False),
)
Index("ux_perf_pay_rules_site_version", pay_rules.c.site, pay_rules.c.version, unique=True)

scorecards = Table(
    "perf_scorecards",
    metadata,
    Column("org_unit_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("body", Text, nullable=False),  # the Scorecard message as JSON
    Column("create_time", UtcDateTime(), nullable=False),
)

# --- periods and their ledgers ---
pay_periods = Table(
    "perf_pay_periods",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("site", String(200), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("state", String(20), nullable=False),
    Column("revision", BigInteger, nullable=False),
    Column("version", BigInteger, nullable=False),  # the etag
    Column("close_time", UtcDateTime(), nullable=True),
    Column("closed_by", String(200), nullable=False),
    Column("create_time", UtcDateTime(), nullable=False),
)
Index("ix_perf_pay_periods_site", pay_periods.c.site, pay_periods.c.start_date)

statements = Table(
    "perf_statements",
    metadata,
    Column("period_id", String(36), primary_key=True),
    Column("employee_id", String(36), primary_key=True),
    Column("org_unit_id", String(36), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("rule_version", Integer, nullable=False),
    Column("revision", BigInteger, nullable=False),
)

statement_lines = Table(
    "perf_statement_lines",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("period_id", String(36), nullable=False),
    Column("employee_id", String(36), nullable=False),
    Column("position", Integer, nullable=False),
    Column("origin", String(20), nullable=False),  # CALCULATED, ADJUSTMENT, CORRECTION
    Column("kind", String(30), nullable=False),
    Column("detail", String(400), nullable=False),
    Column("quantity", String(60), nullable=False),
    Column("unit", String(20), nullable=False),
    Column("rate", String(80), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("rule_version", Integer, nullable=False),
    Column("fact_ids", Text, nullable=False),  # JSON list
    Column("corrects_line_id", String(36), nullable=True),
)
Index("ix_perf_statement_lines_statement", statement_lines.c.period_id, statement_lines.c.employee_id)

disputes = Table(
    "perf_disputes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("period_id", String(36), nullable=False),
    Column("line_id", String(36), nullable=False),
    Column("employee_id", String(36), nullable=False),
    Column("reason", Text, nullable=False),
    Column("state", String(20), nullable=False),
    Column("opened_by", String(200), nullable=False),
    Column("resolved_by", String(200), nullable=False),
    Column("resolution", Text, nullable=False),
    Column("adjustment_line_id", String(36), nullable=True),
    Column("create_time", UtcDateTime(), nullable=False),
)
Index("ix_perf_disputes_period", disputes.c.period_id, disputes.c.create_time)
