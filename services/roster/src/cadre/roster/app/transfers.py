"""Transfer use cases: request (manager), execute or reject (HR), take effect (scheduled job)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from cadre.authority.policy import Action
from cadre.roster.app.access import Access, out_of_scope
from cadre.roster.app.employees import visible_employee
from cadre.roster.app.org_units import require_unit
from cadre.roster.app.ports import RosterUnit
from cadre.roster.domain import transfer as rules
from cadre.roster.domain.events import EmployeeTransferred, TransferRecorded
from cadre.roster.domain.transfer import Transfer, TransferState


def _both_teams(unit: RosterUnit, access: Access, transfer: Transfer, action: Action) -> str:
    source = unit.org_units.get(transfer.from_org_unit_id)
    target = unit.org_units.get(transfer.to_org_unit_id)
    chains = [access.require(action, team.path) for team in (source, target) if team is not None]
    return " + ".join(dict.fromkeys(chains))


def request_transfer(
    unit: RosterUnit,
    access: Access,
    *,
    transfer_id: str,
    employee_id: str,
    to_org_unit_id: str,
    effective_date: date | None,
    reason: str,
    now: datetime,
) -> Transfer:
    employee, _ = visible_employee(unit.employees, unit.org_units, access, employee_id=employee_id)
    to_team = require_unit(unit.org_units, access, to_org_unit_id, field="transfer.to_org_unit")
    requested = rules.request(
        transfer_id=transfer_id,
        employee=employee,
        to_team=to_team,
        effective_date=effective_date,
        reason=reason,
        requested_by=access.principal,
        now=now,
    )
    acting_under = _both_teams(unit, access, requested, Action.APPROVE_TRANSFER)
    unit.transfers.add(requested)
    unit.record(TransferRecorded(None, requested), acting_under=acting_under)
    return requested


def _visible_transfer(unit: RosterUnit, access: Access, transfer_id: str) -> Transfer:
    transfer = unit.transfers.get(transfer_id)
    if transfer is None:
        raise access.missing("TRANSFER_NOT_FOUND", "no such transfer", transfer=transfer_id)
    paths = [
        u.path
        for u in (unit.org_units.get(transfer.from_org_unit_id), unit.org_units.get(transfer.to_org_unit_id))
        if u
    ]
    if not any(access.can_see(path) for path in paths) and transfer.employee_id != access.own_employee_id:
        raise out_of_scope()
    return transfer


def execute_transfer(unit: RosterUnit, access: Access, *, transfer_id: str, now: datetime) -> Transfer:
    transfer = _visible_transfer(unit, access, transfer_id)
    acting_under = _both_teams(unit, access, transfer, Action.EXECUTE_TRANSFER)
    employee = unit.employees.get(transfer.employee_id)
    assert employee is not None
    executed = rules.execute(transfer, employee=employee, decided_by=access.principal)
    unit.transfers.save(executed, expected_version=transfer.version)
    unit.record(TransferRecorded(transfer, executed), acting_under=acting_under)
    return executed


def reject_transfer(unit: RosterUnit, access: Access, *, transfer_id: str, reason: str) -> Transfer:
    transfer = _visible_transfer(unit, access, transfer_id)
    acting_under = _both_teams(unit, access, transfer, Action.EXECUTE_TRANSFER)
    rejected = rules.reject(transfer, reason=reason, decided_by=access.principal)
    unit.transfers.save(rejected, expected_version=transfer.version)
    unit.record(TransferRecorded(transfer, rejected), acting_under=acting_under)
    return rejected


def get_transfer(unit: RosterUnit, access: Access, *, transfer_id: str) -> Transfer:
    return _visible_transfer(unit, access, transfer_id)


def list_transfers(
    unit: RosterUnit,
    access: Access,
    *,
    employee_id: str | None,
    state: TransferState | None,
    after: str | None,
    limit: int,
) -> Sequence[Transfer]:
    if employee_id:
        visible_employee(unit.employees, unit.org_units, access, employee_id=employee_id)
    listed = unit.transfers.list(employee_id=employee_id, state=state, after=after, limit=limit)
    visible = []
    for transfer in listed:
        units = (unit.org_units.get(transfer.from_org_unit_id), unit.org_units.get(transfer.to_org_unit_id))
        if any(u is not None and access.can_see(u.path) for u in units):
            visible.append(transfer)
    return visible


def complete_due_transfers(
    unit: RosterUnit, *, now: datetime, limit: int = 500, only: str | None = None
) -> list[Transfer]:
    """Puts every transfer whose date has come (in its new team's time zone) into effect."""
    completed = []
    candidates = unit.transfers.due(limit=limit)
    for transfer in candidates:
        if only is not None and transfer.id != only:
            continue
        team = unit.org_units.get(transfer.to_org_unit_id)
        employee = unit.employees.get(transfer.employee_id)
        if team is None or employee is None or not transfer.due(now.astimezone(team.zone).date()):
            continue
        done, moved = rules.complete(transfer, employee, now=now)
        unit.transfers.save(done, expected_version=transfer.version)
        if moved is None:
            unit.record(TransferRecorded(transfer, done), acting_under="scheduled transfer job")
        else:
            unit.employees.save(moved, expected_version=employee.version)
            unit.record(EmployeeTransferred(done, employee, moved), acting_under="scheduled transfer job")
        completed.append(done)
    return completed
