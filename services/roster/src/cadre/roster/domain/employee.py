"""Employees: who they are in the org, the job they hold and the contract they work under."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from cadre.chassis.errors import Violations, failed_precondition, invalid_field
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
    source: str = ""


@dataclass(frozen=True)
class AvailabilityWindow:
    """Minutes from midnight, in the team's time zone; day 1 is Monday."""

    day: int
    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class AvailabilityException:
    on: date
    windows: tuple[AvailabilityWindow, ...]  # empty: not available that day


class PositionKind(enum.Enum):
    PART_TIME_TRAINER = "PART_TIME_TRAINER"
    FLOOR_COACH = "FLOOR_COACH"
    QUALITY_REVIEWER = "QUALITY_REVIEWER"


@dataclass(frozen=True)
class VirtualPosition:
    kind: PositionKind
    fte_share: Decimal
    start_date: date
    end_date: date | None = None

    def active_on(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


@dataclass(frozen=True)
class ScheduledChange:
    state: EmployeeState
    effective_date: date


@dataclass(frozen=True)
class OnboardingTask:
    task: str
    done: bool = False


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
    availability: tuple[AvailabilityWindow, ...] = ()
    availability_exceptions: tuple[AvailabilityException, ...] = ()
    virtual_positions: tuple[VirtualPosition, ...] = ()
    seniority_date: date | None = None
    termination_date: date | None = None
    onboarding: tuple[OnboardingTask, ...] = ()
    scheduled: ScheduledChange | None = None

    def phone_capacity(self, on: date) -> Decimal:
        """Share of a full-time job left for contacts once virtual positions take theirs."""
        taken = sum((p.fte_share for p in self.virtual_positions if p.active_on(on)), Decimal(0))
        return max(Decimal(0), Decimal(1) - taken)


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
    onboarding: tuple[str, ...] = (),
) -> Employee:
    """A new employee in a team: onboarding until the hire date has come and the checklist
    is done, active from then."""
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
    seen_tasks: set[str] = set()
    for index, task in enumerate(onboarding):
        if not task.strip() or len(task) > 200:
            violations.add(
                f"employee.onboarding_tasks[{index}].task", "OUT_OF_RANGE", "must be 1–200 characters"
            )
        elif task.strip() in seen_tasks:
            violations.add(f"employee.onboarding_tasks[{index}].task", "DUPLICATE_TASK", "is listed twice")
        seen_tasks.add(task.strip())
    violations.raise_if_any()
    assert role is not None and employment_type is not None and hire_date is not None
    if team.kind is not OrgUnitKind.TEAM:
        raise invalid_field(
            "employee.org_unit",
            "NOT_A_TEAM",
            f"people are hired into a team, not a {team.kind.value.lower()}",
        )
    employee = Employee(
        id=employee_id,
        display_name=display_name.strip(),
        org_unit_id=team.id,
        role=role,
        employment_type=employment_type,
        contract=contract,
        skills=skills,
        hire_date=hire_date,
        state=EmployeeState.ONBOARDING,
        employee_number=employee_number,
        created_at=now,
        onboarding=tuple(OnboardingTask(t.strip()) for t in onboarding),
    )
    # Active at once when hired for today (or earlier) with nothing to onboard.
    return replace(activate_if_ready(employee, today=today), version=1)


def _check_availability(
    windows: tuple[AvailabilityWindow, ...], field_path: str, violations: Violations
) -> None:
    for index, window in enumerate(windows):
        if not 1 <= window.day <= 7:
            violations.add(f"{field_path}[{index}].day", "OUT_OF_RANGE", "must be a weekday")
        if not 0 <= window.start_minute < window.end_minute <= 24 * 60:
            violations.add(
                f"{field_path}[{index}].end", "WINDOW_EMPTY", "must end after it starts, by midnight"
            )


def _check_positions(positions: tuple[VirtualPosition, ...], violations: Violations) -> None:
    for index, position in enumerate(positions):
        prefix = f"employee.virtual_positions[{index}]."
        if not Decimal(0) < position.fte_share <= Decimal(1):
            violations.add(prefix + "fte_share", "OUT_OF_RANGE", "must be above 0 and at most 1")
        if position.end_date is not None and position.end_date < position.start_date:
            violations.add(prefix + "end_date", "ENDS_BEFORE_START", "must not be before start_date")
    # The share taken is highest on some position's first day; check each of those days.
    for day in {p.start_date for p in positions}:
        taken = sum((p.fte_share for p in positions if p.active_on(day)), Decimal(0))
        if taken > 1:
            violations.add(
                "employee.virtual_positions",
                "OVER_FULL_TIME",
                f"positions take {taken} of a full-time job on {day}",
            )
            break


# What UpdateEmployee may change, and what it may not (with the reason it may not).
UPDATABLE = frozenset(
    {
        "display_name",
        "role",
        "employment_type",
        "contract",
        "skills",
        "availability",
        "availability_exceptions",
        "virtual_positions",
        "seniority_date",
        "employee_number",
    }
)
NOT_UPDATABLE = {
    "org_unit": ("TEAM_CHANGES_BY_TRANSFER", "a person changes team only through a transfer"),
    "state": ("STATE_CHANGES_BY_LIFECYCLE", "use StartLeave, EndLeave or TerminateEmployee"),
    "hire_date": ("HIRE_DATE_FIXED", "the hire date is fixed once hired"),
}


def update(current: Employee, proposed: Employee, fields: frozenset[str]) -> Employee:
    """`current` with `fields` taken from `proposed`, validated; version bumped."""
    for field in sorted(fields):
        if field in NOT_UPDATABLE:
            reason, description = NOT_UPDATABLE[field]
            raise invalid_field(f"update_mask.{field}", reason, description)
        if field not in UPDATABLE:
            raise invalid_field(
                "update_mask", "UNKNOWN_FIELD", f"{field} is not a field UpdateEmployee changes"
            )
    if current.state is EmployeeState.TERMINATED:
        raise failed_precondition("EMPLOYEE_TERMINATED", "a terminated person's record no longer changes")
    changed = replace(current, **{f: getattr(proposed, f) for f in fields}, version=current.version + 1)
    violations = Violations()
    check_display_name(changed.display_name, "employee.display_name", violations)
    if changed.employee_number and not EMPLOYEE_NUMBER.match(changed.employee_number):
        violations.add("employee.employee_number", "MALFORMED_EMPLOYEE_NUMBER", "1–64 letters, digits, . _ -")
    _check_contract(changed.contract, violations)
    _check_skills(changed.skills, violations)
    _check_availability(changed.availability, "employee.availability", violations)
    for index, exception in enumerate(changed.availability_exceptions):
        _check_availability(
            exception.windows, f"employee.availability_exceptions[{index}].windows", violations
        )
    _check_positions(changed.virtual_positions, violations)
    violations.raise_if_any()
    return changed


def _transition(employee: Employee, target: EmployeeState, day: date) -> Employee:
    changes: dict[str, object] = {"state": target, "scheduled": None, "version": employee.version + 1}
    if target is EmployeeState.TERMINATED:
        changes["termination_date"] = day
    return replace(employee, **changes)  # type: ignore[arg-type]


def _now_or_on(employee: Employee, target: EmployeeState, day: date, today: date, field: str) -> Employee:
    """In effect at once when the day has come (back-dating allowed), else on that day."""
    if employee.scheduled is not None:
        raise failed_precondition(
            "CHANGE_ALREADY_SCHEDULED",
            f"{employee.scheduled.state.value} on {employee.scheduled.effective_date} is already scheduled",
        )
    if day <= today:
        return _transition(employee, target, day)
    if day > today + MAX_HIRE_AHEAD:
        raise invalid_field(field, "TOO_FAR_AHEAD", "must be within a year")
    return replace(employee, scheduled=ScheduledChange(target, day), version=employee.version + 1)


def start_leave(employee: Employee, *, start_date: date, today: date) -> Employee:
    if employee.state is not EmployeeState.ACTIVE:
        raise failed_precondition(
            "NOT_ACTIVE", f"only an active person can go on leave; this one is {employee.state.value}"
        )
    return _now_or_on(employee, EmployeeState.ON_LEAVE, start_date, today, "start_date")


def end_leave(employee: Employee, *, return_date: date, today: date) -> Employee:
    if employee.state is not EmployeeState.ON_LEAVE:
        raise failed_precondition("NOT_ON_LEAVE", "this person is not on leave")
    return _now_or_on(employee, EmployeeState.ACTIVE, return_date, today, "return_date")


def terminate(employee: Employee, *, termination_date: date, today: date) -> Employee:
    if employee.state is EmployeeState.TERMINATED:
        raise failed_precondition("ALREADY_TERMINATED", "this person's employment has already ended")
    if termination_date < employee.hire_date:
        raise invalid_field("termination_date", "BEFORE_HIRE", "must not be before the hire date")
    return _now_or_on(employee, EmployeeState.TERMINATED, termination_date, today, "termination_date")


def apply_scheduled(employee: Employee, *, today: date) -> Employee:
    """The scheduled change in effect once its day has come."""
    change = employee.scheduled
    if change is None or change.effective_date > today:
        return employee
    return _transition(employee, change.state, change.effective_date)


def activate_if_ready(employee: Employee, *, today: date) -> Employee:
    """Onboarding ends when the hire date has come and every checklist task is done."""
    if employee.state is not EmployeeState.ONBOARDING or employee.hire_date > today:
        return employee
    if not all(task.done for task in employee.onboarding):
        return employee
    return replace(employee, state=EmployeeState.ACTIVE, version=employee.version + 1)


def complete_onboarding_task(employee: Employee, *, task: str, today: date) -> Employee:
    if employee.state is not EmployeeState.ONBOARDING:
        raise failed_precondition("NOT_ONBOARDING", "this person is not onboarding")
    names = [t.task for t in employee.onboarding]
    if task.strip() not in names:
        raise invalid_field("task", "UNKNOWN_TASK", "is not on this person's checklist")
    ticked = tuple(replace(t, done=True) if t.task == task.strip() else t for t in employee.onboarding)
    return activate_if_ready(replace(employee, onboarding=ticked, version=employee.version + 1), today=today)
