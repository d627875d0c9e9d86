"""Employees: who they are in the org, the job they hold and the contract they work under."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cadre.chassis.errors import Violations, invalid_field
from cadre.roster.domain.org_unit import OrgUnit, OrgUnitKind, check_display_name

MINUTES_PER_WEEK = 7 * 24 * 60
MAX_HIRE_AHEAD = timedelta(days=366)
SKILL_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
EMPLOYEE_NUMBER = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class Role(enum.Enum):
    AGENT = "AGENT"
    TEAM_LEADER = "TEAM_LEADER"
    SUPERVISOR = "SUPERVISOR"
    MANAGER = "MANAGER"
    HR_SPECIALIST = "HR_SPECIALIST"
    TRAINER = "TRAINER"
    ANALYST = "ANALYST"
    ADMIN = "ADMIN"


class EmploymentType(enum.Enum):
    FULL_TIME = "FULL_TIME"
    PART_TIME = "PART_TIME"
    FLEXIBLE = "FLEXIBLE"


class EmployeeState(enum.Enum):
    ONBOARDING = "ONBOARDING"
    ACTIVE = "ACTIVE"
    ON_LEAVE = "ON_LEAVE"
    TERMINATED = "TERMINATED"


@dataclass(frozen=True)
class Contract:
    min_weekly_minutes: int
    max_weekly_minutes: int
    max_consecutive_days: int
    min_rest_minutes: int
    days_off_per_week: int

    @property
    def is_empty(self) -> bool:
        return self == Contract(0, 0, 0, 0, 0)


# What a contract says when the hire names none: common terms of each employment type
# (40 h full-time, 16–30 h part-time, 11 h rest between shifts, at most 6 days in a row).
DEFAULT_CONTRACTS: dict[EmploymentType, Contract] = {
    EmploymentType.FULL_TIME: Contract(2400, 2400, 6, 660, 2),
    EmploymentType.PART_TIME: Contract(960, 1800, 6, 660, 2),
    EmploymentType.FLEXIBLE: Contract(0, 2400, 6, 660, 1),
}


@dataclass(frozen=True)
class Skill:
    code: str
    level: int
    expire_date: date | None = None


@dataclass(frozen=True)
class Employee:
    id: str
    display_name: str
    org_unit_id: str
    role: Role
    employment_type: EmploymentType
    contract: Contract
    skills: tuple[Skill, ...]
    hire_date: date
    state: EmployeeState
    employee_number: str
    created_at: datetime
    version: int = 1


def _check_contract(contract: Contract, violations: Violations) -> None:
    prefix = "employee.contract."
    if not 0 <= contract.min_weekly_minutes <= MINUTES_PER_WEEK:
        violations.add(prefix + "min_weekly_minutes", "OUT_OF_RANGE", f"must be 0–{MINUTES_PER_WEEK}")
    if not 0 < contract.max_weekly_minutes <= MINUTES_PER_WEEK:
        violations.add(prefix + "max_weekly_minutes", "OUT_OF_RANGE", f"must be 1–{MINUTES_PER_WEEK}")
    elif contract.max_weekly_minutes < contract.min_weekly_minutes:
        violations.add(prefix + "max_weekly_minutes", "MAX_BELOW_MIN", "must be at least min_weekly_minutes")
    if not 1 <= contract.max_consecutive_days <= 14:
        violations.add(prefix + "max_consecutive_days", "OUT_OF_RANGE", "must be 1–14")
    if not 0 <= contract.min_rest_minutes <= 24 * 60:
        violations.add(prefix + "min_rest_minutes", "OUT_OF_RANGE", "must be 0–1440")
    if not 0 <= contract.days_off_per_week <= 7:
        violations.add(prefix + "days_off_per_week", "OUT_OF_RANGE", "must be 0–7")


def _check_skills(skills: tuple[Skill, ...], violations: Violations) -> None:
    seen: set[str] = set()
    for index, skill in enumerate(skills):
        prefix = f"employee.skills[{index}]."
        if not SKILL_CODE.match(skill.code):
            violations.add(prefix + "skill", "MALFORMED_SKILL_CODE", "lower-case letters, digits, - and _")
        elif skill.code in seen:
            violations.add(prefix + "skill", "DUPLICATE_SKILL", f"{skill.code} is listed twice")
        seen.add(skill.code)
        if not 1 <= skill.level <= 5:
            violations.add(prefix + "level", "OUT_OF_RANGE", "must be 1–5")


def hire(
    *,
    employee_id: str,
    display_name: str,
    team: OrgUnit,
    role: Role | None,
    employment_type: EmploymentType | None,
    contract: Contract,
    skills: tuple[Skill, ...],
    hire_date: date | None,
    employee_number: str,
    now: datetime,
) -> Employee:
    """A new employee in a team: onboarding until the hire date, active from it."""
    violations = Violations()
    check_display_name(display_name, "employee.display_name", violations)
    if role is None:
        violations.add("employee.role", "REQUIRED_FIELD_MISSING", "must be set")
    if employment_type is None:
        violations.add("employee.employment_type", "REQUIRED_FIELD_MISSING", "must be set")
    if employee_number and not EMPLOYEE_NUMBER.match(employee_number):
        violations.add("employee.employee_number", "MALFORMED_EMPLOYEE_NUMBER", "1–64 letters, digits, . _ -")
    today = now.astimezone(team.zone).date()
    if hire_date is None:
        violations.add("employee.hire_date", "REQUIRED_FIELD_MISSING", "must be a valid date")
    elif hire_date > today + MAX_HIRE_AHEAD:
        violations.add("employee.hire_date", "TOO_FAR_AHEAD", "must be within a year from today")
    if contract.is_empty and employment_type is not None:
        contract = DEFAULT_CONTRACTS[employment_type]
    if not contract.is_empty:  # an empty one with no employment type is already reported
        _check_contract(contract, violations)
    _check_skills(skills, violations)
    violations.raise_if_any()
    assert role is not None and employment_type is not None and hire_date is not None
    if team.kind is not OrgUnitKind.TEAM:
        raise invalid_field(
            "employee.org_unit",
            "NOT_A_TEAM",
            f"people are hired into a team, not a {team.kind.value.lower()}",
        )
    return Employee(
        id=employee_id,
        display_name=display_name.strip(),
        org_unit_id=team.id,
        role=role,
        employment_type=employment_type,
        contract=contract,
        skills=skills,
        hire_date=hire_date,
        state=EmployeeState.ACTIVE if hire_date <= today else EmployeeState.ONBOARDING,
        employee_number=employee_number,
        created_at=now,
    )
