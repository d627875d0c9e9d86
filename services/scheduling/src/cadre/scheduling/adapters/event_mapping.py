"""Scheduling's domain events as the protobuf payloads published on the bus, and audit views."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.message import Message

from cadre.chassis.proto_dates import date_to_proto
from cadre.scheduling.adapters import proto_mapping as m
from cadre.scheduling.adapters import workforce_mapping as w
from cadre.scheduling.domain.events import (
    AttendanceRecorded,
    ForecastPublished,
    LeaveApproved,
    LeaveCancelled,
    OvertimeAccepted,
    RequirementPublished,
    SchedulePublished,
    SchedulingEvent,
)
from cadre.scheduling.v1 import events_pb2

FORECAST_PUBLISHED = "cadre.scheduling.v1.forecast.published"
REQUIREMENT_PUBLISHED = "cadre.scheduling.v1.requirement.published"
SCHEDULE_PUBLISHED = "cadre.scheduling.v1.schedule.published"
LEAVE_APPROVED = "cadre.scheduling.v1.leave.approved"
LEAVE_CANCELLED = "cadre.scheduling.v1.leave.cancelled"
ATTENDANCE_RECORDED = "cadre.scheduling.v1.attendance.recorded"
OVERTIME_ACCEPTED = "cadre.scheduling.v1.overtime.accepted"


def to_message(event: SchedulingEvent) -> tuple[str, str, Message]:
    """(event type, entity resource name, payload)."""
    match event:
        case ForecastPublished(forecast=f):
            name = m.forecast_name(f.queue_id, f.id)
            return (
                FORECAST_PUBLISHED,
                name,
                events_pb2.ForecastPublishedEvent(
                    forecast=name,
                    queue=m.queue_name(f.queue_id),
                    start_date=m.date_to_proto(f.start_date),
                    days=f.days,
                    interval_wape=f.backtest.interval_wape if f.backtest else 0.0,
                    holdout_weeks=f.backtest.holdout_weeks if f.backtest else 0,
                ),
            )
        case RequirementPublished(requirement=r):
            name = m.requirement_name(r.queue_id, r.id)
            return (
                REQUIREMENT_PUBLISHED,
                name,
                events_pb2.RequirementPublishedEvent(
                    requirement=name,
                    queue=m.queue_name(r.queue_id),
                    forecast=m.forecast_name(r.queue_id, r.forecast_id),
                    scheduled_agents=r.staffing.scheduled_agents.tolist(),
                    start_time=m.timestamp(r.interval_starts[0]) if r.interval_starts else None,
                    interval_minutes=_interval_minutes(r.interval_starts),
                    volumes=r.staffing.volumes.tolist(),
                    aht_seconds=r.staffing.aht_seconds.tolist(),
                    agents=r.staffing.agents.tolist(),
                    service_level=r.targets.service_level,
                    answer_seconds=r.targets.answer_seconds,
                    shrinkage=r.targets.shrinkage,
                    patience_seconds=r.targets.patience_seconds,
                ),
            )
        case SchedulePublished(schedule=sc, changed_employees=changed):
            name = w.schedule_name(sc.org_unit_id, sc.id)
            return (
                SCHEDULE_PUBLISHED,
                name,
                events_pb2.SchedulePublishedEvent(
                    schedule=name,
                    org_unit=f"{w.ORG_UNITS}/{sc.org_unit_id}",
                    start_date=date_to_proto(sc.start_date),
                    days=sc.days,
                    version=sc.publication,
                    shifts=[w.shift_to_proto(x, sc.org_unit_id) for x in sc.shifts],
                    changed_employees=[f"{w.EMPLOYEES}/{e}" for e in changed],
                ),
            )
        case LeaveApproved(request=lr):
            name = w.leave_name(lr.employee_id, lr.id)
            return (
                LEAVE_APPROVED,
                name,
                events_pb2.LeaveApprovedEvent(
                    leave_request=name,
                    employee=f"{w.EMPLOYEES}/{lr.employee_id}",
                    leave_type=lr.leave_type,
                    paid=lr.paid,
                    days=[
                        events_pb2.LeaveDay(date=date_to_proto(d), minutes=mins) for d, mins in lr.day_minutes
                    ],
                ),
            )
        case LeaveCancelled(request=lr):
            name = w.leave_name(lr.employee_id, lr.id)
            return (
                LEAVE_CANCELLED,
                name,
                events_pb2.LeaveCancelledEvent(
                    leave_request=name, employee=f"{w.EMPLOYEES}/{lr.employee_id}"
                ),
            )
        case AttendanceRecorded(figures=f, org_unit_id=unit, revision=revision):
            entity = f"{w.EMPLOYEES}/{f.employee_id}"
            return (
                ATTENDANCE_RECORDED,
                entity,
                events_pb2.AttendanceRecordedEvent(
                    employee=entity,
                    org_unit=f"{w.ORG_UNITS}/{unit}",
                    work_date=date_to_proto(f.day),
                    day_kind=events_pb2.DAY_KIND_WORK_DAY if f.work_day else events_pb2.DAY_KIND_REST_DAY,
                    scheduled_minutes=f.scheduled_minutes,
                    worked_minutes=f.worked_minutes,
                    overtime_minutes=f.overtime_minutes,
                    training_minutes=f.training_minutes,
                    revision=revision,
                ),
            )
        case OvertimeAccepted(offer=o, work_day=work_day):
            name = f"{w.ORG_UNITS}/{o.org_unit_id}/overtimeOffers/{o.id}"
            return (
                OVERTIME_ACCEPTED,
                name,
                events_pb2.OvertimeAcceptedEvent(
                    overtime_offer=name,
                    employee=f"{w.EMPLOYEES}/{o.accepted_by}",
                    start_time=w.timestamp(o.start),
                    end_time=w.timestamp(o.end),
                    minutes=o.minutes,
                    day_kind=events_pb2.DAY_KIND_WORK_DAY if work_day else events_pb2.DAY_KIND_REST_DAY,
                ),
            )
    raise TypeError(f"unmapped event {event!r}")


def _interval_minutes(starts: tuple[datetime, ...]) -> int:
    return int((starts[1] - starts[0]).total_seconds() // 60) if len(starts) > 1 else 0


def audit_view(event: SchedulingEvent) -> dict[str, object]:
    """What was published, for the audit log: the resource's identity, not its (large) numbers."""
    match event:
        case ForecastPublished(forecast=f):
            return {
                "forecast": m.forecast_name(f.queue_id, f.id),
                "start_date": f.start_date.isoformat(),
                "days": f.days,
                "method": f.method,
            }
        case RequirementPublished(requirement=r):
            return {
                "requirement": m.requirement_name(r.queue_id, r.id),
                "forecast": m.forecast_name(r.queue_id, r.forecast_id),
                "model": r.model.value,
            }
        case SchedulePublished(schedule=sc, changed_employees=changed):
            return {
                "schedule": w.schedule_name(sc.org_unit_id, sc.id),
                "version": sc.publication,
                "shifts": len(sc.shifts),
                "changed_employees": len(changed),
            }
        case LeaveApproved(request=lr) | LeaveCancelled(request=lr):
            return {
                "leave_request": w.leave_name(lr.employee_id, lr.id),
                "leave_type": lr.leave_type,
                "minutes": lr.minutes,
                "decided_by": lr.decided_by,
            }
        case AttendanceRecorded(figures=f, revision=revision):
            return {"work_date": f.day.isoformat(), "worked_minutes": f.worked_minutes, "revision": revision}
        case OvertimeAccepted(offer=o):
            return {
                "employee": f"{w.EMPLOYEES}/{o.accepted_by}",
                "minutes": o.minutes,
                "start": o.start.isoformat(),
            }
    raise TypeError(f"unmapped event {event!r}")
