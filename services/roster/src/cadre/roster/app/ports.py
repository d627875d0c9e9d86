"""What the use cases need from the outside world; the adapters provide it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from cadre.roster.domain.employee import Employee
from cadre.roster.domain.events import RosterEvent
from cadre.roster.domain.org_unit import OrgUnit


class OrgUnitRepository(Protocol):
    def get(self, unit_id: str) -> OrgUnit | None: ...
    def add(self, unit: OrgUnit) -> None: ...
    def list(self, *, parent_id: str | None, after: str | None, limit: int) -> Sequence[OrgUnit]: ...


class EmployeeRepository(Protocol):
    def get(self, employee_id: str) -> Employee | None: ...
    def add(self, employee: Employee) -> None: ...
    def number_taken(self, employee_number: str) -> bool: ...
    def list(self, *, within: OrgUnit | None, after: str | None, limit: int) -> Sequence[Employee]: ...


class RosterUnit(Protocol):
    """One transaction over the roster's repositories, collecting the events raised."""

    @property
    def org_units(self) -> OrgUnitRepository: ...
    @property
    def employees(self) -> EmployeeRepository: ...

    def record(self, event: RosterEvent) -> None: ...
