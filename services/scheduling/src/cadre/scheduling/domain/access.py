"""Who is calling and which teams they may see and act on (RELIABILITY R13, R16).

Decided locally from the roster projection and the authority projection, the way roster
decides: administrators and HR see everything; a leader sees the subtree of the unit they
sit in and the subtrees of their effective grants; everyone sees their own records.
Permission is checked before existence: out of scope is PERMISSION_DENIED whether or not
the thing exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from cadre.chassis.errors import DomainError, not_found, permission_denied
from cadre.scheduling.domain.team import within


@dataclass(frozen=True)
class Caller:
    principal: str  # `employees/{id}`, `system:admin` or `services/{name}`
    employee_id: str | None
    sees_everything: bool
    is_administrator: bool
    scopes: tuple[tuple[str, ...], ...]  # subtrees (org paths) the caller leads

    def covers(self, path: tuple[str, ...] | None) -> bool:
        """Whether the unit with this path is in the caller's scope (None: unknown unit)."""
        if self.sees_everything:
            return True
        return path is not None and any(within(path, scope) for scope in self.scopes)

    def require_team(self, path: tuple[str, ...] | None) -> None:
        if not self.covers(path):
            raise out_of_scope()

    def require_person(self, employee_id: str, team_path: tuple[str, ...] | None) -> None:
        """The person themself, or someone in a team the caller leads."""
        if employee_id != self.employee_id and not self.covers(team_path):
            raise out_of_scope()

    def own_entries(self, path: tuple[str, ...] | None) -> str | None:
        """What of a team's list the caller sees: everything (None) when the team is in scope,
        else only the entries they are part of (their employee id); someone out of scope who is
        not an employee sees nothing of it (OUT_OF_SCOPE)."""
        if self.covers(path):
            return None
        if self.employee_id is None:
            raise out_of_scope()
        return self.employee_id

    def missing(self, reason: str, message: str) -> DomainError:
        """What to say about something absent: NOT_FOUND only to who may see everything."""
        return not_found(reason, message) if self.sees_everything else out_of_scope()


def out_of_scope() -> DomainError:
    return permission_denied("OUT_OF_SCOPE", "the resource is outside the caller's scope, or does not exist")


def unknown_caller() -> DomainError:
    return permission_denied("UNKNOWN_ACTOR", "the caller is not a current employee or a known service")
