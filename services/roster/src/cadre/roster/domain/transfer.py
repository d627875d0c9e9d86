"""Transfers: a manager asks, HR executes or rejects, the move takes effect on its date."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from cadre.chassis.errors import Violations, failed_precondition, invalid_field
from cadre.roster.domain.employee import Employee, EmployeeState
from cadre.roster.domain.org_unit import OrgUnit, OrgUnitKind

MAX_AHEAD = timedelta(days=366)
MAX_REASON = 500


class TransferState(enum.Enum):
    REQUESTED = "REQUESTED"
    SCHEDULED = "SCHEDULED"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"


@dataclass(frozen=True)
class Transfer:
    id: str
    employee_id: str
    from_org_unit_id: str
    to_org_unit_id: str
    effective_date: date
    reason: str
    state: TransferState
    requested_by: str
    created_at: datetime
    decided_by: str = ""
    rejection_reason: str = ""
    completed_at: datetime | None = None
    version: int = 1

    def due(self, today_in_new_team: date) -> bool:
        return self.state is TransferState.SCHEDULED and self.effective_date <= today_in_new_team


def check_reason(reason: str, field: str, violations: Violations) -> None:
    if not reason.strip():
        violations.add(field, "REQUIRED_FIELD_MISSING", "must say why")
    elif len(reason) > MAX_REASON:
        violations.add(field, "FIELD_TOO_LONG", f"must be at most {MAX_REASON} characters")


def request(
    *,
    transfer_id: str,
    employee: Employee,
    to_team: OrgUnit,
    effective_date: date | None,
    reason: str,
    requested_by: str,
    now: datetime,
) -> Transfer:
    violations = Violations()
    check_reason(reason, "transfer.reason", violations)
    today = now.astimezone(to_team.zone).date()
    if effective_date is None:
        violations.add("transfer.effective_date", "REQUIRED_FIELD_MISSING", "must be a date")
    elif effective_date < today:
        violations.add("transfer.effective_date", "IN_THE_PAST", "a transfer takes effect today or later")
    elif effective_date > today + MAX_AHEAD:
        violations.add("transfer.effective_date", "TOO_FAR_AHEAD", "must be within a year")
    violations.raise_if_any()
    assert effective_date is not None
    if employee.state is EmployeeState.TERMINATED:
        raise failed_precondition("EMPLOYEE_TERMINATED", "a terminated person cannot be transferred")
    if to_team.kind is not OrgUnitKind.TEAM:
        raise invalid_field("transfer.to_org_unit", "NOT_A_TEAM", "people move into a team")
    if to_team.id == employee.org_unit_id:
        raise invalid_field("transfer.to_org_unit", "SAME_TEAM", "the person is already in this team")
    return Transfer(
        id=transfer_id,
        employee_id=employee.id,
        from_org_unit_id=employee.org_unit_id,
        to_org_unit_id=to_team.id,
        effective_date=effective_date,
        reason=reason.strip(),
        state=TransferState.REQUESTED,
        requested_by=requested_by,
        created_at=now,
    )


def _require_requested(transfer: Transfer) -> None:
    if transfer.state is not TransferState.REQUESTED:
        raise failed_precondition("TRANSFER_NOT_REQUESTED", f"the transfer is already {transfer.state.value}")


def execute(transfer: Transfer, *, employee: Employee, decided_by: str) -> Transfer:
    _require_requested(transfer)
    if employee.state is EmployeeState.TERMINATED:
        raise failed_precondition("EMPLOYEE_TERMINATED", "a terminated person cannot be transferred")
    if employee.org_unit_id != transfer.from_org_unit_id:
        raise failed_precondition("TEAM_CHANGED", "the person changed team since the request; ask again")
    return replace(
        transfer, state=TransferState.SCHEDULED, decided_by=decided_by, version=transfer.version + 1
    )


def reject(transfer: Transfer, *, reason: str, decided_by: str) -> Transfer:
    _require_requested(transfer)
    violations = Violations()
    check_reason(reason, "reason", violations)
    violations.raise_if_any()
    return replace(
        transfer,
        state=TransferState.REJECTED,
        decided_by=decided_by,
        rejection_reason=reason.strip(),
        version=transfer.version + 1,
    )


def complete(transfer: Transfer, employee: Employee, *, now: datetime) -> tuple[Transfer, Employee | None]:
    """The due transfer in effect: the person in the new team. A person terminated in the
    meantime does not move; the transfer is rejected with that reason."""
    if employee.state is EmployeeState.TERMINATED:
        return (
            replace(
                transfer,
                state=TransferState.REJECTED,
                rejection_reason="the person was terminated before the effective date",
                version=transfer.version + 1,
            ),
            None,
        )
    moved = replace(employee, org_unit_id=transfer.to_org_unit_id, version=employee.version + 1)
    done = replace(transfer, state=TransferState.COMPLETED, completed_at=now, version=transfer.version + 1)
    return done, moved
