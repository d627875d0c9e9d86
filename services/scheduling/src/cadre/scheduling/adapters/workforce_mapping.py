"""Between the day-to-day domain (templates, schedules, leave, adherence) and protobuf."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.protobuf import timestamp_pb2

from cadre.chassis.errors import Violations, invalid_field
from cadre.chassis.proto_dates import date_to_proto
from cadre.chassis.resource_names import parse_name
from cadre.scheduling.domain.attendance import DayFigures
from cadre.scheduling.domain.leave import LeaveRequest, LeaveState
from cadre.scheduling.domain.overtime import OfferState, OvertimeOffer
from cadre.scheduling.domain.schedule import Activity, ActivityKind, Schedule, ScheduleState, Shift
from cadre.scheduling.domain.shift_templates import BreakKind, BreakRule, ShiftTemplate, TemplateSettings
from cadre.scheduling.domain.swap import ShiftSwap, SwapState
from cadre.scheduling.v1 import (
    adherence_pb2,
    leave_pb2,
    overtime_pb2,
    schedule_pb2,
    shift_pb2,
    shift_template_pb2,
    swap_pb2,
)

T = TypeVar("T")
ORG_UNITS = "orgUnits"
EMPLOYEES = "employees"
_ETAG = re.compile(r'W/"(\d{1,18})"')


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    value = timestamp_pb2.Timestamp()
    value.FromDatetime(moment.astimezone(UTC))
    return value


def moment(value: timestamp_pb2.Timestamp) -> datetime:
    return value.ToDatetime(tzinfo=UTC)


def etag(version: int) -> str:
    return f'W/"{version}"'


def version_from_etag(value: str, field: str) -> int | None:
    if not value:
        return None
    match = _ETAG.fullmatch(value)
    if match is None:
        raise invalid_field(field, "ETAG_MALFORMED", "is not an etag this API issued")
    return int(match.group(1))


def child(name: str, parent: str, collection: str, field: str) -> tuple[str, str]:
    """`{parent}/{id}/{collection}/{child}` → (id, child)."""
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != parent or parts[2] != collection or not parts[1] or not parts[3]:
        raise invalid_field(
            field, "MALFORMED_RESOURCE_NAME", f"must look like {parent}/{{id}}/{collection}/{{id}}"
        )
    parse_name(f"{parent}/{parts[1]}", parent, field)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", parts[3]):
        raise invalid_field(field, "MALFORMED_RESOURCE_NAME", "the last part is not a valid id")
    return parts[1], parts[3]


def state_filter(value: int, states: Mapping[Any, T], what: str) -> T | None:
    """A List's optional `state` filter: unset (0) is every state; an unknown value is named."""
    if not value:
        return None
    state = states.get(value)
    if state is None:
        raise invalid_field("state", "STATE_INVALID", f"is not a {what} state")
    return state


# ---------------------------------------------------------------- shift templates

_BREAK_KINDS = {
    BreakKind.BREAK: shift_template_pb2.BREAK_KIND_BREAK,
    BreakKind.LUNCH: shift_template_pb2.BREAK_KIND_LUNCH,
}
_BREAK_KINDS_BACK = {v: k for k, v in _BREAK_KINDS.items()}


def template_name(org_unit_id: str, template_id: str) -> str:
    return f"{ORG_UNITS}/{org_unit_id}/shiftTemplates/{template_id}"


def template_settings(
    t: shift_template_pb2.ShiftTemplate, prefix: str = "shift_template"
) -> TemplateSettings:
    violations = Violations()
    breaks = []
    for i, b in enumerate(t.breaks):
        kind = _BREAK_KINDS_BACK.get(b.kind)
        if kind is None:
            violations.add(f"{prefix}.breaks[{i}].kind", "BREAK_KIND_INVALID", "must be BREAK or LUNCH")
            kind = BreakKind.BREAK
        breaks.append(
            BreakRule(kind, b.length_minutes, b.earliest_offset_minutes, b.latest_offset_minutes, b.paid)
        )
    violations.raise_if_any()
    return TemplateSettings(
        display_name=t.display_name,
        earliest_start_minute=t.earliest_start_minute,
        latest_start_minute=t.latest_start_minute,
        start_step_minutes=t.start_step_minutes,
        length_minutes=t.length_minutes,
        breaks=tuple(breaks),
        employment_types=tuple(int(e) for e in t.employment_types),
    )


def template_to_proto(t: ShiftTemplate) -> shift_template_pb2.ShiftTemplate:
    s = t.settings
    return shift_template_pb2.ShiftTemplate(
        name=template_name(t.org_unit_id, t.id),
        display_name=s.display_name,
        earliest_start_minute=s.earliest_start_minute,
        latest_start_minute=s.latest_start_minute,
        start_step_minutes=s.start_step_minutes,
        length_minutes=s.length_minutes,
        breaks=[
            shift_template_pb2.BreakRule(
                kind=_BREAK_KINDS[b.kind],
                length_minutes=b.length_minutes,
                earliest_offset_minutes=b.earliest_offset_minutes,
                latest_offset_minutes=b.latest_offset_minutes,
                paid=b.paid,
            )
            for b in s.breaks
        ],
        employment_types=list(s.employment_types),  # type: ignore[arg-type]
        create_time=timestamp(t.created_at),
        etag=etag(t.version),
    )


def template_changes(t: shift_template_pb2.ShiftTemplate, paths: list[str]) -> dict[str, Any]:
    fields = (
        "display_name",
        "earliest_start_minute",
        "latest_start_minute",
        "start_step_minutes",
        "length_minutes",
        "breaks",
        "employment_types",
    )
    if not paths:
        raise invalid_field("update_mask", "UPDATE_MASK_EMPTY", "name the fields to change, or *")
    chosen = fields if paths == ["*"] else paths
    unknown = [p for p in chosen if p not in fields]
    if unknown:
        raise invalid_field("update_mask", "UNKNOWN_FIELD", f"{unknown[0]} cannot be updated")
    settings = template_settings(t)
    return {name: getattr(settings, name) for name in chosen}


# ---------------------------------------------------------------- schedules

_ACTIVITY = {
    ActivityKind.WORK: shift_pb2.ACTIVITY_KIND_WORK,
    ActivityKind.BREAK: shift_pb2.ACTIVITY_KIND_BREAK,
    ActivityKind.LUNCH: shift_pb2.ACTIVITY_KIND_LUNCH,
    ActivityKind.TRAINING: shift_pb2.ACTIVITY_KIND_TRAINING,
    ActivityKind.MEETING: shift_pb2.ACTIVITY_KIND_MEETING,
}
_SCHEDULE_STATE = {
    ScheduleState.DRAFT: schedule_pb2.Schedule.STATE_DRAFT,
    ScheduleState.PUBLISHED: schedule_pb2.Schedule.STATE_PUBLISHED,
    ScheduleState.SUPERSEDED: schedule_pb2.Schedule.STATE_SUPERSEDED,
}


def schedule_name(org_unit_id: str, schedule_id: str) -> str:
    return f"{ORG_UNITS}/{org_unit_id}/schedules/{schedule_id}"


def shift_to_proto(s: Shift, org_unit_id: str) -> shift_pb2.ScheduledShift:
    return shift_pb2.ScheduledShift(
        employee=f"{EMPLOYEES}/{s.employee_id}",
        queue=f"queues/{s.queue_id}",
        shift_template=template_name(org_unit_id, s.template_id) if s.template_id else "",
        start_time=timestamp(s.start),
        end_time=timestamp(s.end),
        activities=[_activity(a) for a in s.activities],
        overtime=s.overtime,
    )


def _activity(a: Activity) -> shift_pb2.ShiftActivity:
    return shift_pb2.ShiftActivity(
        kind=_ACTIVITY[a.kind], start_time=timestamp(a.start), end_time=timestamp(a.end), paid=a.paid
    )


def schedule_to_proto(s: Schedule, *, with_shifts: bool = True) -> schedule_pb2.Schedule:
    message = schedule_pb2.Schedule(
        name=schedule_name(s.org_unit_id, s.id),
        org_unit=f"{ORG_UNITS}/{s.org_unit_id}",
        start_date=date_to_proto(s.start_date),
        days=s.days,
        queues=[f"queues/{q}" for q in s.queue_ids],
        state=_SCHEDULE_STATE[s.state],
        version=s.publication,
        base_schedule=schedule_name(s.org_unit_id, s.base_schedule_id) if s.base_schedule_id else "",
        shifts=[shift_to_proto(x, s.org_unit_id) for x in s.shifts] if with_shifts else [],
        objective=s.objective,
        objective_lower_bound=s.lower_bound,
        optimal=s.optimal,
        unmet_rules=list(s.unmet_rules),
        create_time=timestamp(s.created_at),
        etag=etag(s.version),
        changed_assignments=s.changed_assignments,
    )
    if s.published_at is not None:
        message.publish_time.CopyFrom(timestamp(s.published_at))
    return message


# ---------------------------------------------------------------- leave

_LEAVE_STATE = {
    LeaveState.PENDING: leave_pb2.LeaveRequest.STATE_PENDING,
    LeaveState.APPROVED: leave_pb2.LeaveRequest.STATE_APPROVED,
    LeaveState.REJECTED: leave_pb2.LeaveRequest.STATE_REJECTED,
    LeaveState.CANCELLED: leave_pb2.LeaveRequest.STATE_CANCELLED,
}
LEAVE_STATE_FROM_PROTO = {v: k for k, v in _LEAVE_STATE.items()}


def leave_name(employee_id: str, request_id: str) -> str:
    return f"{EMPLOYEES}/{employee_id}/leaveRequests/{request_id}"


def leave_to_proto(r: LeaveRequest) -> leave_pb2.LeaveRequest:
    message = leave_pb2.LeaveRequest(
        name=leave_name(r.employee_id, r.id),
        leave_type=r.leave_type,
        start_time=timestamp(r.start_time),
        end_time=timestamp(r.end_time),
        paid=r.paid,
        state=_LEAVE_STATE[r.state],
        days=r.days,
        minutes=r.minutes,
        impact=[
            leave_pb2.StaffingImpact(
                queue=f"queues/{i.queue_id}",
                start_time=timestamp(i.start_time),
                required_agents=i.required_agents,
                scheduled_agents=i.scheduled_agents,
                service_level_with=i.service_level_with,
                service_level_without=i.service_level_without,
                target_service_level=i.target_service_level,
            )
            for i in r.impact
        ],
        decided_by=r.decided_by,
        reason=r.reason,
        create_time=timestamp(r.created_at),
        etag=etag(r.version),
    )
    if r.decided_at is not None:
        message.decide_time.CopyFrom(timestamp(r.decided_at))
    return message


def adherence_to_proto(f: DayFigures, revision: int) -> adherence_pb2.DailyAdherence:
    return adherence_pb2.DailyAdherence(
        employee=f"{EMPLOYEES}/{f.employee_id}",
        date=date_to_proto(f.day),
        scheduled_minutes=f.scheduled_minutes,
        adherent_minutes=f.adherent_minutes,
        worked_minutes=f.worked_minutes,
        adherence=f.adherence,
        conformance=f.conformance,
        revision=revision,
    )


# ---------------------------------------------------------------- swaps

_SWAP_STATE = {
    SwapState.PENDING: swap_pb2.ShiftSwap.STATE_PENDING,
    SwapState.APPROVED: swap_pb2.ShiftSwap.STATE_APPROVED,
    SwapState.REJECTED: swap_pb2.ShiftSwap.STATE_REJECTED,
    SwapState.CANCELLED: swap_pb2.ShiftSwap.STATE_CANCELLED,
}
SWAP_STATE_FROM_PROTO = {v: k for k, v in _SWAP_STATE.items()}


def swap_to_proto(s: ShiftSwap) -> swap_pb2.ShiftSwap:
    return swap_pb2.ShiftSwap(
        name=f"{ORG_UNITS}/{s.org_unit_id}/shiftSwaps/{s.id}",
        requester=f"{EMPLOYEES}/{s.requester_id}",
        requester_shift_start=timestamp(s.requester_shift_start),
        partner=f"{EMPLOYEES}/{s.partner_id}",
        partner_shift_start=timestamp(s.partner_shift_start),
        state=_SWAP_STATE[s.state],
        decided_by=s.decided_by,
        schedule=schedule_name(s.org_unit_id, s.schedule_id) if s.schedule_id else "",
        create_time=timestamp(s.created_at),
        etag=etag(s.version),
        partner_schedule=schedule_name(s.org_unit_id, s.partner_schedule_id) if s.partner_schedule_id else "",
    )


_OFFER_STATE = {
    OfferState.OPEN: overtime_pb2.OvertimeOffer.STATE_OPEN,
    OfferState.ACCEPTED: overtime_pb2.OvertimeOffer.STATE_ACCEPTED,
    OfferState.WITHDRAWN: overtime_pb2.OvertimeOffer.STATE_WITHDRAWN,
}
OFFER_STATE_FROM_PROTO = {v: k for k, v in _OFFER_STATE.items()}


def offer_to_proto(o: OvertimeOffer) -> overtime_pb2.OvertimeOffer:
    return overtime_pb2.OvertimeOffer(
        name=f"{ORG_UNITS}/{o.org_unit_id}/overtimeOffers/{o.id}",
        queue=f"queues/{o.queue_id}",
        start_time=timestamp(o.start),
        end_time=timestamp(o.end),
        minutes=o.minutes,
        eligible_employees=[f"{EMPLOYEES}/{e}" for e in o.eligible],
        state=_OFFER_STATE[o.state],
        authorized_by=o.authorized_by,
        accepted_by=f"{EMPLOYEES}/{o.accepted_by}" if o.accepted_by else "",
        schedule=schedule_name(o.org_unit_id, o.schedule_id) if o.schedule_id else "",
        create_time=timestamp(o.created_at),
        etag=etag(o.version),
    )
