"""Between roster's domain objects and its protobuf messages."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from google.protobuf import timestamp_pb2
from google.type import timeofday_pb2

from cadre.authority.policy import Action, Grant, Limits
from cadre.chassis.errors import Violations
from cadre.chassis.proto_dates import date_from_proto, date_to_proto
from cadre.chassis.resource_names import format_name
from cadre.roster.domain.employee import (
    AvailabilityException,
    AvailabilityWindow,
    Contract,
    Employee,
    EmployeeState,
    EmploymentType,
    PositionKind,
    Role,
    Skill,
    VirtualPosition,
)
from cadre.roster.domain.org_unit import OrgUnit, OrgUnitKind
from cadre.roster.domain.transfer import Transfer, TransferState
from cadre.roster.v1 import employee_pb2, grant_pb2, org_unit_pb2, transfer_pb2

ORG_UNITS = "orgUnits"
EMPLOYEES = "employees"
TRANSFERS = "transfers"
GRANTS = "grants"

_KIND_TO_PROTO = {
    OrgUnitKind.CENTER: org_unit_pb2.OrgUnit.KIND_CENTER,
    OrgUnitKind.DEPARTMENT: org_unit_pb2.OrgUnit.KIND_DEPARTMENT,
    OrgUnitKind.TEAM: org_unit_pb2.OrgUnit.KIND_TEAM,
}
_KIND_FROM_PROTO = {v: k for k, v in _KIND_TO_PROTO.items()}
_ROLE_TO_PROTO = {role: employee_pb2.Employee.Role.Value(f"ROLE_{role.value}") for role in Role}
_ROLE_FROM_PROTO = {v: k for k, v in _ROLE_TO_PROTO.items()}
_TYPE_TO_PROTO = {
    t: employee_pb2.Employee.EmploymentType.Value(f"EMPLOYMENT_TYPE_{t.value}") for t in EmploymentType
}
_TYPE_FROM_PROTO = {v: k for k, v in _TYPE_TO_PROTO.items()}
_STATE_TO_PROTO = {s: employee_pb2.Employee.State.Value(f"STATE_{s.value}") for s in EmployeeState}


def kind_from_proto(value: int, field_path: str, violations: Violations) -> OrgUnitKind | None:
    if value in _KIND_FROM_PROTO:
        return _KIND_FROM_PROTO[value]  # type: ignore[index]
    if value != 0:
        violations.add(field_path, "UNKNOWN_ENUM_VALUE", f"{value} is not a known kind")
    return None


def role_from_proto(value: int, violations: Violations) -> Role | None:
    if value in _ROLE_FROM_PROTO:
        return _ROLE_FROM_PROTO[value]  # type: ignore[index]
    if value != 0:
        violations.add("employee.role", "UNKNOWN_ENUM_VALUE", f"{value} is not a known role")
    return None


def employment_type_from_proto(value: int, violations: Violations) -> EmploymentType | None:
    if value in _TYPE_FROM_PROTO:
        return _TYPE_FROM_PROTO[value]  # type: ignore[index]
    if value != 0:
        violations.add("employee.employment_type", "UNKNOWN_ENUM_VALUE", f"{value} is not a known type")
    return None


def contract_from_proto(value: employee_pb2.Contract) -> Contract:
    return Contract(
        value.min_weekly_minutes,
        value.max_weekly_minutes,
        value.max_consecutive_days,
        value.min_rest_minutes,
        value.days_off_per_week,
    )


def contract_to_proto(value: Contract) -> employee_pb2.Contract:
    return employee_pb2.Contract(
        min_weekly_minutes=value.min_weekly_minutes,
        max_weekly_minutes=value.max_weekly_minutes,
        max_consecutive_days=value.max_consecutive_days,
        min_rest_minutes=value.min_rest_minutes,
        days_off_per_week=value.days_off_per_week,
    )


def skills_from_proto(values: list[employee_pb2.Skill], violations: Violations) -> tuple[Skill, ...]:
    return tuple(
        Skill(
            s.skill,
            s.level,
            date_from_proto(s.expire_date, f"employee.skills[{i}].expire_date", violations),
            s.source,
        )
        for i, s in enumerate(values)
    )


def skills_to_proto(values: tuple[Skill, ...]) -> list[employee_pb2.Skill]:
    return [
        employee_pb2.Skill(
            skill=s.code, level=s.level, expire_date=date_to_proto(s.expire_date), source=s.source
        )
        for s in values
    ]


def _minute(value: timeofday_pb2.TimeOfDay) -> int:
    return value.hours * 60 + value.minutes


def _time_of_day(minute: int) -> timeofday_pb2.TimeOfDay:
    return timeofday_pb2.TimeOfDay(hours=minute // 60, minutes=minute % 60)


def windows_from_proto(values: list[employee_pb2.AvailabilityWindow]) -> tuple[AvailabilityWindow, ...]:
    return tuple(AvailabilityWindow(int(w.day), _minute(w.start), _minute(w.end)) for w in values)


def windows_to_proto(values: tuple[AvailabilityWindow, ...]) -> list[employee_pb2.AvailabilityWindow]:
    return [
        employee_pb2.AvailabilityWindow(
            day=w.day,  # type: ignore[arg-type]
            start=_time_of_day(w.start_minute),
            end=_time_of_day(w.end_minute),
        )
        for w in values
    ]


def exceptions_from_proto(
    values: list[employee_pb2.AvailabilityException], violations: Violations
) -> tuple[AvailabilityException, ...]:
    found = []
    for i, e in enumerate(values):
        field = f"employee.availability_exceptions[{i}].date"
        day = date_from_proto(e.date, field, violations)
        if day is None:
            violations.add(field, "REQUIRED_FIELD_MISSING", "must be a date")
            continue
        found.append(AvailabilityException(day, windows_from_proto(list(e.windows))))
    return tuple(found)


def exceptions_to_proto(
    values: tuple[AvailabilityException, ...],
) -> list[employee_pb2.AvailabilityException]:
    return [
        employee_pb2.AvailabilityException(date=date_to_proto(e.on), windows=windows_to_proto(e.windows))
        for e in values
    ]


_POSITION_TO_PROTO = {k: employee_pb2.VirtualPosition.Kind.Value(f"KIND_{k.value}") for k in PositionKind}
_POSITION_FROM_PROTO = {v: k for k, v in _POSITION_TO_PROTO.items()}


def positions_from_proto(
    values: list[employee_pb2.VirtualPosition], violations: Violations
) -> tuple[VirtualPosition, ...]:
    found = []
    for i, p in enumerate(values):
        prefix = f"employee.virtual_positions[{i}]."
        kind = _POSITION_FROM_PROTO.get(p.kind)
        start = date_from_proto(p.start_date, prefix + "start_date", violations)
        if kind is None:
            violations.add(prefix + "kind", "REQUIRED_FIELD_MISSING", "must be a known kind")
        if start is None:
            violations.add(prefix + "start_date", "REQUIRED_FIELD_MISSING", "must be a date")
        if kind is None or start is None:
            continue
        # Kept as an exact decimal: a 0.2 FTE share is 0.2, not 0.2000000000000000111.
        share = Decimal(str(round(p.fte_share, 4)))
        end = date_from_proto(p.end_date, prefix + "end_date", violations)
        found.append(VirtualPosition(kind, share, start, end))
    return tuple(found)


def positions_to_proto(values: tuple[VirtualPosition, ...]) -> list[employee_pb2.VirtualPosition]:
    return [
        employee_pb2.VirtualPosition(
            kind=_POSITION_TO_PROTO[p.kind],
            fte_share=float(p.fte_share),
            start_date=date_to_proto(p.start_date),
            end_date=date_to_proto(p.end_date),
        )
        for p in values
    ]


def org_unit_to_proto(unit: OrgUnit) -> org_unit_pb2.OrgUnit:
    message = org_unit_pb2.OrgUnit(
        name=format_name(ORG_UNITS, unit.id),
        display_name=unit.display_name,
        kind=_KIND_TO_PROTO[unit.kind],
        parent=format_name(ORG_UNITS, unit.parent_id) if unit.parent_id else "",
        time_zone=unit.time_zone,
        site=unit.site,
        path=[format_name(ORG_UNITS, part) for part in unit.path],
        etag=etag(unit.version),
    )
    message.create_time.FromDatetime(unit.created_at)
    return message


def employee_to_proto(employee: Employee) -> employee_pb2.Employee:
    message = employee_pb2.Employee(
        name=format_name(EMPLOYEES, employee.id),
        display_name=employee.display_name,
        org_unit=format_name(ORG_UNITS, employee.org_unit_id),
        role=_ROLE_TO_PROTO[employee.role],
        employment_type=_TYPE_TO_PROTO[employee.employment_type],
        contract=contract_to_proto(employee.contract),
        skills=skills_to_proto(employee.skills),
        hire_date=date_to_proto(employee.hire_date),
        state=_STATE_TO_PROTO[employee.state],
        employee_number=employee.employee_number,
        etag=etag(employee.version),
        availability=windows_to_proto(employee.availability),
        availability_exceptions=exceptions_to_proto(employee.availability_exceptions),
        virtual_positions=positions_to_proto(employee.virtual_positions),
        seniority_date=date_to_proto(employee.seniority_date or employee.hire_date),
        termination_date=date_to_proto(employee.termination_date),
        phone_capacity=float(employee.phone_capacity(datetime.now(UTC).date())),
        onboarding_tasks=[employee_pb2.OnboardingTask(task=t.task, done=t.done) for t in employee.onboarding],
        scheduled_change=employee_pb2.ScheduledStateChange(
            state=_STATE_TO_PROTO[employee.scheduled.state],
            effective_date=date_to_proto(employee.scheduled.effective_date),
        )
        if employee.scheduled
        else None,
    )
    message.create_time.FromDatetime(employee.created_at)
    return message


def etag(version: int) -> str:
    return f'W/"{version}"'


def version_from_etag(value: str) -> int | None:
    """The version an etag names; None when no etag was sent (no check wanted)."""
    if not value:
        return None
    digits = value.removeprefix("W/").strip('"')
    return int(digits) if digits.isdigit() else -1


def employee_from_proto(
    message: employee_pb2.Employee, current: Employee, violations: Violations
) -> Employee:
    """The proposed record for an update: every updatable field read from the message."""
    return Employee(
        id=current.id,
        display_name=message.display_name,
        org_unit_id=current.org_unit_id,
        role=role_from_proto(message.role, violations) or current.role,
        employment_type=employment_type_from_proto(message.employment_type, violations)
        or current.employment_type,
        contract=contract_from_proto(message.contract),
        skills=skills_from_proto(list(message.skills), violations),
        hire_date=current.hire_date,
        state=current.state,
        employee_number=message.employee_number,
        created_at=current.created_at,
        version=current.version,
        availability=windows_from_proto(list(message.availability)),
        availability_exceptions=exceptions_from_proto(list(message.availability_exceptions), violations),
        virtual_positions=positions_from_proto(list(message.virtual_positions), violations),
        seniority_date=date_from_proto(message.seniority_date, "employee.seniority_date", violations),
    )


def timestamp_or_none(value: timestamp_pb2.Timestamp, present: bool) -> datetime | None:
    return value.ToDatetime(tzinfo=UTC) if present else None


_TRANSFER_STATE = {s: transfer_pb2.Transfer.State.Value(f"STATE_{s.value}") for s in TransferState}
TRANSFER_STATE_FROM_PROTO = {v: k for k, v in _TRANSFER_STATE.items()}


def transfer_to_proto(transfer: Transfer) -> transfer_pb2.Transfer:
    message = transfer_pb2.Transfer(
        name=format_name(TRANSFERS, transfer.id),
        employee=format_name(EMPLOYEES, transfer.employee_id),
        from_org_unit=format_name(ORG_UNITS, transfer.from_org_unit_id),
        to_org_unit=format_name(ORG_UNITS, transfer.to_org_unit_id),
        effective_date=date_to_proto(transfer.effective_date),
        reason=transfer.reason,
        state=_TRANSFER_STATE[transfer.state],
        requested_by=transfer.requested_by,
        decided_by=transfer.decided_by,
        rejection_reason=transfer.rejection_reason,
    )
    message.create_time.FromDatetime(transfer.created_at)
    if transfer.completed_at is not None:
        message.complete_time.FromDatetime(transfer.completed_at)
    return message


_ACTION_TO_PROTO = {a: grant_pb2.Action.Value(f"ACTION_{a.value}") for a in Action}
ACTION_FROM_PROTO = {v: k for k, v in _ACTION_TO_PROTO.items()}


def action_from_proto(value: int, field_path: str, violations: Violations) -> Action | None:
    if value in ACTION_FROM_PROTO:
        return ACTION_FROM_PROTO[value]  # type: ignore[index]
    violations.add(
        field_path, "REQUIRED_FIELD_MISSING" if value == 0 else "UNKNOWN_ENUM_VALUE", "must be a known action"
    )
    return None


def limits_from_proto(value: grant_pb2.Limits) -> Limits:
    return Limits(
        max_days=value.max_days if value.HasField("max_days") else None,
        max_minutes=value.max_minutes if value.HasField("max_minutes") else None,
        max_amount_minor=value.max_amount_minor if value.HasField("max_amount_minor") else None,
    )


def grant_to_proto(grant: Grant) -> grant_pb2.Grant:
    limits = grant_pb2.Limits()
    if grant.limits.max_days is not None:
        limits.max_days = grant.limits.max_days
    if grant.limits.max_minutes is not None:
        limits.max_minutes = grant.limits.max_minutes
    if grant.limits.max_amount_minor is not None:
        limits.max_amount_minor = grant.limits.max_amount_minor
    message = grant_pb2.Grant(
        name=format_name(GRANTS, grant.id),
        grantee=grant.grantee,
        action=_ACTION_TO_PROTO[grant.action],
        scope=format_name(ORG_UNITS, grant.scope_path[-1]),
        limits=limits,
        parent_grant=format_name(GRANTS, grant.parent_id) if grant.parent_id else "",
        reason=grant.reason,
        depth=grant.depth,
        granted_by=grant.granted_by,
    )
    message.valid_from.FromDatetime(grant.valid_from)
    if grant.valid_until is not None:
        message.valid_until.FromDatetime(grant.valid_until)
    if grant.revoked_at is not None:
        message.revoke_time.FromDatetime(grant.revoked_at)
    return message


def role_to_proto(role: Role) -> int:
    return _ROLE_TO_PROTO[role]


def employment_type_to_proto(value: EmploymentType) -> int:
    return _TYPE_TO_PROTO[value]
