"""Who the caller is and what they may do, for one request.

Enrolling someone else is a decision under delegated authority: ENROLL_TRAINING over the
person's team, within the grant's minute limit (the session's length), decided on the local
copy of roster's grants with roster's own policy. Permission is checked before existence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cadre.authority.policy import Action, Amount, Decision, Outcome
from cadre.chassis.errors import DomainError, not_found, permission_denied

# Main jobs that run the course catalogue and sessions.
CATALOGUE_ROLES = frozenset({"ADMIN", "TRAINER", "MANAGER", "HR_SPECIALIST"})

Decide = Callable[[Action, str, Amount], Decision | None]


@dataclass(frozen=True)
class Caller:
    principal: str
    employee_id: str | None
    role: str | None
    is_administrator: bool
    is_service: bool
    decide: Decide = field(repr=False)
    scopes: Callable[[], list[tuple[str, ...]]] = field(repr=False)

    @property
    def sees_everything(self) -> bool:
        return self.is_administrator or self.is_service

    def require_catalogue(self) -> None:
        if self.sees_everything or self.role in CATALOGUE_ROLES:
            return
        raise permission_denied(
            "NOT_A_TRAINING_MANAGER",
            "courses and sessions are run by trainers, managers, HR and administrators",
        )

    def enroll_decision(self, employee_id: str, minutes: int) -> Decision | None:
        """None when no authority was needed (oneself, an administrator, a service);
        the deciding grant chain otherwise; PERMISSION_DENIED beyond the caller's authority."""
        if employee_id == self.employee_id or self.sees_everything:
            return None
        decision = self.decide(Action.ENROLL_TRAINING, f"employees/{employee_id}", Amount(minutes=minutes))
        if decision is None:
            raise out_of_scope()
        decision.require()
        return decision if decision.outcome is Outcome.ALLOWED_BY_GRANT else None

    def can_see(self, path: Sequence[str]) -> bool:
        return self.sees_everything or any(tuple(path[: len(s)]) == s for s in self.scopes())

    def require_person(self, employee_id: str, team_path: Sequence[str] | None) -> None:
        """Oneself, or someone inside a subtree the caller holds a grant over."""
        if employee_id == self.employee_id or self.sees_everything:
            return
        if team_path is None or not self.can_see(team_path):
            raise out_of_scope()

    def missing(self, reason: str, message: str, **metadata: str) -> DomainError:
        if self.sees_everything:
            return not_found(reason, message, **metadata)
        return out_of_scope()


def out_of_scope() -> DomainError:
    return permission_denied("OUT_OF_SCOPE", "the resource is outside the caller's scope, or does not exist")
