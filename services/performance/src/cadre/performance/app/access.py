"""Who is calling and what they may see and do in performance (RELIABILITY R13, R16, R17).

- Payroll administration (pay rules, periods, calculation, close, export, corrections,
  scorecards) is for administrators, HR specialists and services — never team leaders.
- A statement is visible to payroll, to the employee it pays, and to a leader whose scope
  covers the team it was earned in; a leader sees its lines but not the pay rates.
- A leader's scope is the subtree of every grant they hold plus the unit they lead.
- Permission is checked before existence: an id outside the caller's scope is
  PERMISSION_DENIED whether or not it exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cadre.chassis.errors import DomainError, permission_denied


@dataclass(frozen=True)
class Caller:
    principal: str
    employee_id: str | None
    is_administrator: bool
    is_payroll: bool
    # Org paths (root first) whose subtrees the caller leads; unused for payroll.
    scopes: tuple[tuple[str, ...], ...] = ()

    def require_payroll(self) -> None:
        if not self.is_payroll:
            raise permission_denied(
                "PAYROLL_ADMINISTRATION_ONLY",
                "only administrators, HR specialists and services administer payroll",
            )

    def leads(self, team_path: Sequence[str] | None) -> bool:
        if team_path is None:
            return False
        return any(tuple(team_path[: len(scope)]) == scope for scope in self.scopes)

    def may_see_pay_of(self, employee_id: str, team_path: Sequence[str] | None) -> bool:
        return self.is_payroll or employee_id == self.employee_id or self.leads(team_path)

    def may_see_rates_of(self, employee_id: str) -> bool:
        return self.is_payroll or employee_id == self.employee_id

    def require_sees(self, employee_id: str, team_path: Sequence[str] | None) -> None:
        if not self.may_see_pay_of(employee_id, team_path):
            raise out_of_scope()


def out_of_scope() -> DomainError:
    return permission_denied("OUT_OF_SCOPE", "the resource is outside the caller's scope, or does not exist")
