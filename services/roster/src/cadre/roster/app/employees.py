"""Employee use cases: hire, read, update, leave, return, terminate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from cadre.authority.policy import Action
from cadre.chassis.errors import aborted, already_exists
from cadre.roster.app.access import Access, out_of_scope
from cadre.roster.app.org_units import require_unit
from cadre.roster.app.ports import EmployeeRepository, OrgUnitRepository, RosterUnit
from cadre.roster.domain import employee as rules
from cadre.roster.domain.employee import Contract, Employee, EmploymentType, Role, Skill
from cadre.roster.domain.events import EmployeeHired, EmployeeStateChanged, EmployeeUpdated


def hire_employee(
    unit: RosterUnit,
    access: Access,
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
    onboarding: tuple[str, ...] = (),
) -> Employee:
    team = require_unit(unit.org_units, access, org_unit_id, field="employee.org_unit")
    acting_under = access.require(Action.MANAGE_EMPLOYEES, team.path)
    employee = rules.hire(
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
        onboarding=onboarding,
    )
    if employee_number and unit.employees.number_taken(employee_number):
        raise already_exists(
            "EMPLOYEE_NUMBER_TAKEN",
            "employee.employee_number: another employee has this number",
            field="employee.employee_number",
        )
    unit.employees.add(employee)
    unit.record(EmployeeHired(employee), acting_under=acting_under)
    return employee


def visible_employee(
    employees: EmployeeRepository,
    units: OrgUnitRepository,
    access: Access,
    *,
    employee_id: str,
    need_path: bool = True,
) -> tuple[Employee, tuple[str, ...]]:
    """The person and their team's path (when asked for), if the caller may see them."""
    employee = employees.get(employee_id)
    if employee is None:
        raise access.missing("EMPLOYEE_NOT_FOUND", "no such employee", employee=employee_id)
    if access.sees_everything and not need_path:
        return employee, ()
    team = units.get(employee.org_unit_id)
    path = team.path if team else (employee.org_unit_id,)
    if employee.id != access.own_employee_id and not access.can_see(path):
        raise out_of_scope()
    return employee, path


def get_employee(
    employees: EmployeeRepository, units: OrgUnitRepository, access: Access, *, employee_id: str
) -> Employee:
    return visible_employee(employees, units, access, employee_id=employee_id, need_path=False)[0]


def list_employees(
    org_units: OrgUnitRepository,
    employees: EmployeeRepository,
    access: Access,
    *,
    org_unit_id: str | None,
    after: str | None,
    limit: int,
) -> Sequence[Employee]:
    within = None
    if org_unit_id:
        within = require_unit(org_units, access, org_unit_id, field="org_unit")
        if not access.can_see(within.path):
            raise out_of_scope()
    return employees.list(within=within, visible=access.visible_scopes(), after=after, limit=limit)


def _change(
    unit: RosterUnit,
    access: Access,
    employee_id: str,
    change: Callable[[Employee, date], Employee],
    *,
    now: datetime,
    expected_version: int | None = None,
) -> tuple[Employee, Employee, str]:
    """Applies `change(employee, today in the employee's team's time zone)` under
    MANAGE_EMPLOYEES, saving it against the version read."""
    current, path = visible_employee(unit.employees, unit.org_units, access, employee_id=employee_id)
    acting_under = access.require(Action.MANAGE_EMPLOYEES, path)
    if expected_version is not None and expected_version != current.version:
        raise aborted(
            "ETAG_MISMATCH", "the record changed since it was read; read it again", employee=employee_id
        )
    team = unit.org_units.get(current.org_unit_id)
    changed = change(current, now.astimezone(team.zone).date() if team else now.date())
    unit.employees.save(changed, expected_version=current.version)
    return current, changed, acting_under


def update_employee(
    unit: RosterUnit,
    access: Access,
    *,
    employee_id: str,
    proposed: Employee,
    fields: frozenset[str],
    expected_version: int | None,
    now: datetime,
) -> Employee:
    number = proposed.employee_number if "employee_number" in fields else ""
    if number and unit.employees.number_taken(number, other_than=employee_id):
        raise already_exists(
            "EMPLOYEE_NUMBER_TAKEN",
            "employee.employee_number: another employee has this number",
            field="employee.employee_number",
        )
    before, after, acting_under = _change(
        unit,
        access,
        employee_id,
        lambda e, _today: rules.update(e, proposed, fields),
        now=now,
        expected_version=expected_version,
    )
    unit.record(EmployeeUpdated(before, after), acting_under=acting_under)
    return after


def _record(unit: RosterUnit, before: Employee, after: Employee, effective: date, acting_under: str) -> None:
    if after.state is before.state:  # e.g. announced for a later date: recorded, not yet in effect
        unit.record(EmployeeUpdated(before, after), acting_under=acting_under)
    else:
        unit.record(EmployeeStateChanged(before, after, effective), acting_under=acting_under)


def change_state(
    unit: RosterUnit,
    access: Access,
    *,
    employee_id: str,
    effective_date: date,
    transition: Callable[[Employee, date], Employee],
    now: datetime,
) -> Employee:
    """Leave, return or termination: `transition(employee, today)` decides now or later."""
    before, after, acting_under = _change(unit, access, employee_id, transition, now=now)
    _record(unit, before, after, effective_date, acting_under)
    return after


def complete_onboarding_task(
    unit: RosterUnit, access: Access, *, employee_id: str, task: str, now: datetime
) -> Employee:
    before, after, acting_under = _change(
        unit,
        access,
        employee_id,
        lambda e, today: rules.complete_onboarding_task(e, task=task, today=today),
        now=now,
    )
    _record(unit, before, after, now.date(), acting_under)
    return after


def put_due_lifecycle_changes_into_effect(
    unit: RosterUnit, *, now: datetime, limit: int = 500
) -> list[Employee]:
    """Hires whose date has come (checklist done) and leave, returns and terminations
    announced for a date that has come, each in the person's team's time zone."""
    changed = []
    for employee in [*unit.employees.onboarding_due(limit=limit), *unit.employees.scheduled_due(limit=limit)]:
        team = unit.org_units.get(employee.org_unit_id)
        if team is None:
            continue
        today = now.astimezone(team.zone).date()
        after = rules.apply_scheduled(rules.activate_if_ready(employee, today=today), today=today)
        if after is not employee:
            effective = employee.scheduled.effective_date if employee.scheduled else employee.hire_date
            unit.employees.save(after, expected_version=employee.version)
            unit.record(
                EmployeeStateChanged(employee, after, effective), acting_under="scheduled lifecycle job"
            )
            changed.append(after)
    return changed
