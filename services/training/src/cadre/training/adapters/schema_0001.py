"""The tables exactly as revision training_0001 created them, frozen here so that later edits to
`tables.py` cannot change what that revision does on a database that already ran it
(a later change gets a revision of its own). `build` makes a new MetaData on each call, so
these copies never stand for the tables the code declares."""

# ruff: noqa: F841  (tables are named as in `tables.py`, though only some are referred to here)

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    Double,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from cadre.chassis.tables import SequenceKey, UtcDateTime


def build() -> MetaData:
    metadata = MetaData()

    courses = Table(
        "courses",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("code", String(32), nullable=False, unique=True),
        Column("title", String(200), nullable=False),
        Column("skill", String(63), nullable=False),
        Column("level", Integer, nullable=False),
        Column("duration_minutes", Integer, nullable=False),
        Column("pass_mark", Integer, nullable=False),
        Column("validity_months", Integer, nullable=False),
        Column("prerequisite_courses", Text, nullable=False),  # ["course id", ...]
        Column("prerequisite_skills", Text, nullable=False),  # [["skill", min level], ...]
        Column("delivery", String(20), nullable=False),
        Column("required_for_queues", Text, nullable=False),  # ["queues/{id}", ...]
        Column("created_at", UtcDateTime(), nullable=False),
        Column("version", Integer, nullable=False),
    )

    sessions = Table(
        "sessions",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("course_id", String(36), nullable=False),
        Column("trainer_id", String(36), nullable=False),
        Column("room", String(200), nullable=False),
        Column("virtual_link", String(2000), nullable=False),
        Column("capacity", Integer, nullable=False),
        Column("min_group_size", Integer, nullable=False),
        Column("state", String(20), nullable=False),
        Column("meetings", Text, nullable=False),  # [[start iso, end iso], ...] in time order
        Column("first_start", UtcDateTime(), nullable=False),
        Column("last_end", UtcDateTime(), nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("version", Integer, nullable=False),
    )
    Index("ix_sessions_course", sessions.c.course_id, sessions.c.first_start, sessions.c.id)
    Index("ix_sessions_start", sessions.c.first_start, sessions.c.id)
    Index("ix_sessions_trainer", sessions.c.trainer_id)

    enrollments = Table(
        "enrollments",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("session_id", String(36), nullable=False),
        Column("course_id", String(36), nullable=False),
        Column("employee_id", String(36), nullable=False),
        Column("state", String(20), nullable=False),
        Column("enrolled_by", String(200), nullable=False),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("queued_at", UtcDateTime(), nullable=False),
        Column("attended", Text, nullable=False),  # [true | false | null, ...] per meeting
        Column("score", Integer, nullable=True),
        Column("certification_id", String(36), nullable=False),
        Column("version", Integer, nullable=False),
    )
    Index("ix_enrollments_session", enrollments.c.session_id)
    Index("ix_enrollments_employee", enrollments.c.employee_id)

    certifications = Table(
        "certifications",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("employee_id", String(36), nullable=False),
        Column("course_id", String(36), nullable=False),
        Column("skill", String(63), nullable=False),
        Column("level", Integer, nullable=False),
        Column("grant_date", Date, nullable=False),
        Column("expire_date", Date, nullable=True),
        Column("state", String(20), nullable=False),
        Column("enrollment", String(200), nullable=False),  # the passing enrollment's name
        Column("version", Integer, nullable=False),
        UniqueConstraint("employee_id", "course_id", name="uq_certifications_employee_course"),
    )
    Index("ix_certifications_expiry", certifications.c.state, certifications.c.expire_date)

    # ---------------------------------------------------------------- roster's facts

    known_teams = Table(
        "roster_org_units",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("time_zone", String(64), nullable=False),
        Column("path", String(400), nullable=False),  # /root/.../self/
    )

    known_people = Table(
        "roster_people",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("team_id", String(36), nullable=False),
        Column("role", String(20), nullable=False),
        Column("state", String(20), nullable=False),
        Column("skills", Text, nullable=False),  # {"code": [level, "expire date" | null]}
        Column("trainer_positions", Text, nullable=False),  # [["start", "end" | null], ...]
        Column("version", Integer, nullable=False),
    )
    Index("ix_roster_people_team", known_people.c.team_id)

    # ---------------------------------------------------------------- scheduling's facts

    published_schedules = Table(
        "scheduling_schedules",
        metadata,
        Column("schedule", String(200), primary_key=True),
        Column("org_unit_id", String(36), nullable=False),
        Column("start_date", Date, nullable=False),
        Column("days", Integer, nullable=False),
        Column("version", Integer, nullable=False),
    )
    Index("ix_scheduling_schedules_unit", published_schedules.c.org_unit_id, published_schedules.c.start_date)

    published_shifts = Table(
        "scheduling_shifts",
        metadata,
        Column("id", SequenceKey, primary_key=True, autoincrement=True),
        Column("schedule", String(200), nullable=False),
        Column("employee_id", String(36), nullable=False),
        Column("queue", String(200), nullable=False),
        Column("start_time", UtcDateTime(), nullable=False),
        Column("end_time", UtcDateTime(), nullable=False),
        Column("activities", Text, nullable=False),  # [["KIND", start iso, end iso], ...]
    )
    Index("ix_scheduling_shifts_employee", published_shifts.c.employee_id, published_shifts.c.start_time)
    Index("ix_scheduling_shifts_schedule", published_shifts.c.schedule)
    Index("ix_scheduling_shifts_time", published_shifts.c.start_time)

    approved_leave = Table(
        "scheduling_leave",
        metadata,
        Column("leave_request", String(200), primary_key=True),
        Column("employee_id", String(36), nullable=False),
        Column("days", Text, nullable=False),  # ["2026-03-02", ...]
    )
    Index("ix_scheduling_leave_employee", approved_leave.c.employee_id)

    published_requirements = Table(
        "scheduling_requirements",
        metadata,
        Column("queue", String(200), primary_key=True),
        Column("requirement", String(200), nullable=False),
        Column("start_time", UtcDateTime(), nullable=False),
        Column("interval_minutes", Integer, nullable=False),
        Column("volumes", Text, nullable=False),  # JSON arrays, one value per interval
        Column("aht_seconds", Text, nullable=False),
        Column("agents", Text, nullable=False),  # needed on the queue, net of shrinkage
        Column("service_level", Double, nullable=False),
        Column("answer_seconds", Double, nullable=False),
        Column("shrinkage", Double, nullable=False),
        Column("patience_seconds", Double, nullable=False),
        Column("received_at", UtcDateTime(), nullable=False),
    )
    return metadata
