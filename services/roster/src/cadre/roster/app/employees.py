"""Employee use cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from cadre.chassis.errors import already_exists, not_found
from cadre.roster.app.org_units import require_unit
from cadre.roster.app.ports import EmployeeRepository, OrgUnitRepository, RosterUnit
from cadre.roster.domain.employee import Contract, Employee, EmploymentType, Role, Skill, hire
from cadre.roster.domain.events import EmployeeHired


def hire_employee(
    unit: RosterUnit,
    *,
    employee_id: str,
    display_name: str,
    org_unit_id: str,
    role: Role | None,
    employment_type: EmploymentType | None,
    contract: Contract,
    skills: tuple[Skill, ...],
    hire_date: date | None,
    employee_number: str,
    now: datetime,
) -> Employee:
    team = require_unit(unit.org_units, org_unit_id, field="employee.org_unit")
    employee = hire(
        employee_id=employee_id,
        display_name=display_name,
        team=team,
        role=role,
        employment_type=employment_type,
        contract=contract,
        skills=skills,
        hire_date=hire_date,
        employee_number=employee_number,
        now=now,
    )
    if employee_number and unit.employees.number_taken(employee_number):
        raise already_exists(
            "EMPLOYEE_NUMBER_TAKEN",
            "employee.employee_number: another employee has this number",
            field="employee.employee_number",
        )
    unit.employees.add(employee)
    unit.record(EmployeeHired(employee))
    return employee


def get_employee(employees: EmployeeRepository, *, employee_id: str) -> Employee:
    employee = employees.get(employee_id)
    if employee is None:
        raise not_found("EMPLOYEE_NOT_FOUND", "name: no such employee", employee=employee_id)
    return employee


def list_employees(
    org_units: OrgUnitRepository,
    employees: EmployeeRepository,
    *,
    org_unit_id: str | None,
    after: str | None,
    limit: int,
) -> Sequence[Employee]:
    within = require_unit(org_units, org_unit_id, field="org_unit") if org_unit_id else None
    return employees.list(within=within, after=after, limit=limit)
