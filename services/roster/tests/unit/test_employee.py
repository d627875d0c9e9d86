from datetime import UTC, date, datetime

import pytest

from cadre.chassis.errors import DomainError
from cadre.roster.domain.employee import (
    DEFAULT_CONTRACTS,
    Contract,
    EmployeeState,
    EmploymentType,
    Role,
    Skill,
    hire,
)
from cadre.roster.domain.org_unit import OrgUnitKind, new_org_unit

# 23:30 UTC on the 24th is already the 25th in Tokyo.
NOW = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
CENTER = new_org_unit(
    unit_id="c",
    display_name="C",
    kind=OrgUnitKind.CENTER,
    parent=None,
    time_zone="Asia/Tokyo",
    site="",
    now=NOW,
)
DEPARTMENT = new_org_unit(
    unit_id="d", display_name="D", kind=OrgUnitKind.DEPARTMENT, parent=CENTER, time_zone="", site="", now=NOW
)
TEAM = new_org_unit(
    unit_id="t", display_name="T", kind=OrgUnitKind.TEAM, parent=DEPARTMENT, time_zone="", site="", now=NOW
)


def hire_with(**overrides):
    fields = {
        "employee_id": "e",
        "display_name": "Yuki Sato",
        "team": TEAM,
        "role": Role.AGENT,
        "employment_type": EmploymentType.FULL_TIME,
        "contract": Contract(0, 0, 0, 0, 0),
        "skills": (Skill("billing", 3),),
        "hire_date": date(2026, 11, 25),
        "employee_number": "",
        "now": NOW,
    } | overrides
    return hire(**fields)


def test_hired_today_in_the_team_time_zone_is_active_and_later_is_onboarding() -> None:
    assert hire_with().state is EmployeeState.ACTIVE
    assert hire_with(hire_date=date(2026, 11, 26)).state is EmployeeState.ONBOARDING


def test_a_missing_contract_takes_the_employment_type_default() -> None:
    assert (
        hire_with(employment_type=EmploymentType.PART_TIME).contract
        == DEFAULT_CONTRACTS[EmploymentType.PART_TIME]
    )
    own = Contract(1200, 1500, 5, 720, 2)
    assert hire_with(contract=own).contract == own


@pytest.mark.parametrize(
    ("contract", "field", "reason"),
    [
        (Contract(2400, 1200, 5, 660, 2), "employee.contract.max_weekly_minutes", "MAX_BELOW_MIN"),
        (Contract(0, 20000, 5, 660, 2), "employee.contract.max_weekly_minutes", "OUT_OF_RANGE"),
        (Contract(0, 2400, 0, 660, 2), "employee.contract.max_consecutive_days", "OUT_OF_RANGE"),
        (Contract(0, 2400, 5, 2000, 2), "employee.contract.min_rest_minutes", "OUT_OF_RANGE"),
        (Contract(0, 2400, 5, 660, 8), "employee.contract.days_off_per_week", "OUT_OF_RANGE"),
    ],
)
def test_impossible_contracts_are_refused_by_field(contract, field, reason) -> None:
    with pytest.raises(DomainError) as raised:
        hire_with(contract=contract)
    assert (raised.value.violations[0].field, raised.value.violations[0].reason) == (field, reason)


def test_skills_are_checked_one_by_one() -> None:
    with pytest.raises(DomainError) as raised:
        hire_with(skills=(Skill("billing", 3), Skill("billing", 2), Skill("Bad Code", 6)))
    assert [(v.field, v.reason) for v in raised.value.violations] == [
        ("employee.skills[1].skill", "DUPLICATE_SKILL"),
        ("employee.skills[2].skill", "MALFORMED_SKILL_CODE"),
        ("employee.skills[2].level", "OUT_OF_RANGE"),
    ]


def test_people_are_hired_into_teams_only() -> None:
    with pytest.raises(DomainError) as raised:
        hire_with(team=DEPARTMENT)
    assert raised.value.reason == "NOT_A_TEAM"


def test_hire_date_more_than_a_year_ahead_is_refused() -> None:
    with pytest.raises(DomainError) as raised:
        hire_with(hire_date=date(2028, 1, 1))
    assert raised.value.reason == "TOO_FAR_AHEAD"


def test_onboarding_ends_when_the_date_has_come_and_the_checklist_is_done() -> None:
    from cadre.roster.domain.employee import activate_if_ready, complete_onboarding_task

    hired = hire_with(onboarding=("contract signed", "system access"))
    assert hired.state is EmployeeState.ONBOARDING and hired.version == 1
    half = complete_onboarding_task(hired, task="contract signed", today=date(2026, 11, 25))
    assert half.state is EmployeeState.ONBOARDING
    done = complete_onboarding_task(half, task="system access", today=date(2026, 11, 25))
    assert done.state is EmployeeState.ACTIVE
    future = hire_with(hire_date=date(2026, 12, 1))
    assert activate_if_ready(future, today=date(2026, 11, 30)).state is EmployeeState.ONBOARDING
    assert activate_if_ready(future, today=date(2026, 12, 1)).state is EmployeeState.ACTIVE
    with pytest.raises(DomainError) as raised:
        complete_onboarding_task(hired, task="badge photo", today=date(2026, 11, 25))
    assert raised.value.reason == "UNKNOWN_TASK"


def test_lifecycle_changes_take_effect_at_once_or_on_their_date() -> None:
    from cadre.roster.domain.employee import apply_scheduled, end_leave, start_leave, terminate

    today = date(2026, 11, 25)
    active = hire_with()
    on_leave = start_leave(active, start_date=today, today=today)
    assert on_leave.state is EmployeeState.ON_LEAVE
    announced = start_leave(active, start_date=date(2026, 12, 1), today=today)
    assert announced.state is EmployeeState.ACTIVE and announced.scheduled is not None
    with pytest.raises(DomainError) as twice:
        terminate(announced, termination_date=date(2026, 12, 31), today=today)
    assert twice.value.reason == "CHANGE_ALREADY_SCHEDULED"
    assert apply_scheduled(announced, today=date(2026, 11, 30)) is announced
    started = apply_scheduled(announced, today=date(2026, 12, 1))
    assert started.state is EmployeeState.ON_LEAVE and started.scheduled is None
    back = end_leave(started, return_date=date(2026, 12, 10), today=date(2026, 12, 2))
    assert back.state is EmployeeState.ON_LEAVE
    assert apply_scheduled(back, today=date(2026, 12, 10)).state is EmployeeState.ACTIVE
    leaving = terminate(active, termination_date=date(2027, 1, 31), today=today)
    gone = apply_scheduled(leaving, today=date(2027, 1, 31))
    assert gone.state is EmployeeState.TERMINATED and gone.termination_date == date(2027, 1, 31)
