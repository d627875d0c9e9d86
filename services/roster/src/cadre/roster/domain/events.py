"""Facts the roster domain raises; the adapters publish them through the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from cadre.authority.policy import Grant
from cadre.roster.domain.employee import Employee
from cadre.roster.domain.org_unit import OrgUnit
from cadre.roster.domain.transfer import Transfer


@dataclass(frozen=True)
class OrgUnitCreated:
    unit: OrgUnit


@dataclass(frozen=True)
class OrgUnitUpdated:
    before: OrgUnit
    unit: OrgUnit


@dataclass(frozen=True)
class OrgUnitMoved:
    before: OrgUnit
    unit: OrgUnit


@dataclass(frozen=True)
class EmployeeHired:
    employee: Employee


@dataclass(frozen=True)
class EmployeeUpdated:
    before: Employee
    employee: Employee


@dataclass(frozen=True)
class EmployeeStateChanged:
    before: Employee
    employee: Employee
    effective_date: date


@dataclass(frozen=True)
class TransferRecorded:
    """Requested, executed or rejected: audited, not published (nothing moved yet)."""

    before: Transfer | None
    transfer: Transfer


@dataclass(frozen=True)
class EmployeeTransferred:
    transfer: Transfer
    before: Employee
    employee: Employee


@dataclass(frozen=True)
class GrantCreated:
    grant: Grant


@dataclass(frozen=True)
class GrantRevoked:
    before: Grant
    grant: Grant
    revoked_at: datetime


RosterEvent = (
    OrgUnitCreated
    | OrgUnitUpdated
    | OrgUnitMoved
    | EmployeeHired
    | EmployeeUpdated
    | EmployeeStateChanged
    | TransferRecorded
    | EmployeeTransferred
    | GrantCreated
    | GrantRevoked
)
