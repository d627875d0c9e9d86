"""Facts the roster domain raises; the adapters publish them through the outbox."""

from __future__ import annotations

from dataclasses import dataclass

from cadre.roster.domain.employee import Employee
from cadre.roster.domain.org_unit import OrgUnit


@dataclass(frozen=True)
class OrgUnitCreated:
    unit: OrgUnit


@dataclass(frozen=True)
class EmployeeHired:
    employee: Employee


RosterEvent = OrgUnitCreated | EmployeeHired
