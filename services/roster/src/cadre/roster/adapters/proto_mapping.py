"""Between roster's domain objects and its protobuf messages."""

from __future__ import annotations

from datetime import date

from google.type import date_pb2

from cadre.chassis.errors import Violations
from cadre.chassis.resource_names import format_name
from cadre.roster.domain.employee import (
    Contract,
    Employee,
    EmployeeState,
    EmploymentType,
    Role,
    Skill,
)
from cadre.roster.domain.org_unit import OrgUnit, OrgUnitKind
from cadre.roster.v1 import employee_pb2, org_unit_pb2

ORG_UNITS = "orgUnits"
EMPLOYEES = "employees"

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


def date_from_proto(value: date_pb2.Date, field_path: str, violations: Violations) -> date | None:
    if value.year == 0 and value.month == 0 and value.day == 0:
        return None
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        violations.add(field_path, "INVALID_DATE", "is not a calendar date")
        return None


def date_to_proto(value: date | None) -> date_pb2.Date | None:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day) if value else None


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
            s.skill, s.level, date_from_proto(s.expire_date, f"employee.skills[{i}].expire_date", violations)
        )
        for i, s in enumerate(values)
    )


def skills_to_proto(values: tuple[Skill, ...]) -> list[employee_pb2.Skill]:
    return [
        employee_pb2.Skill(skill=s.code, level=s.level, expire_date=date_to_proto(s.expire_date))
        for s in values
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
        etag=f'W/"{unit.version}"',
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
        etag=f'W/"{employee.version}"',
    )
    message.create_time.FromDatetime(employee.created_at)
    return message


def role_to_proto(role: Role) -> int:
    return _ROLE_TO_PROTO[role]


def employment_type_to_proto(value: EmploymentType) -> int:
    return _TYPE_TO_PROTO[value]
