"""Who the caller is and what they may see and do, for one request.

Permission is checked before existence: an id outside the caller's scope is
PERMISSION_DENIED whether or not it exists (RELIABILITY R13, R16).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from cadre.authority.policy import Action, Amount, GrantBook
from cadre.chassis.errors import DomainError, not_found, permission_denied

NOTHING = Amount()


@dataclass(frozen=True)
class Access:
    principal: str
    is_administrator: bool
    sees_everything: bool
    own_employee_id: str | None
    load_book: Callable[[], GrantBook] = field(repr=False)
    moment: datetime

    @cached_property
    def book(self) -> GrantBook:
        # Loaded on first use: reads by administrators and services never need it.
        return self.load_book()

    def require(self, action: Action, target_path: Sequence[str], amount: Amount = NOTHING) -> str:
        """Raises PERMISSION_DENIED unless allowed; returns the deciding grant chain for the audit."""
        decision = self.book.authorize(
            actor=self.principal,
            action=action,
            target_path=target_path,
            amount=amount,
            moment=self.moment,
            is_administrator=self.is_administrator,
        )
        decision.require()
        return " → ".join(f"grants/{g.id}" for g in decision.chain) or decision.outcome.value

    def visible_scopes(self) -> list[tuple[str, ...]] | None:
        """None when the caller sees everything; else the subtrees it may see."""
        if self.sees_everything:
            return None
        return self.book.visible_scopes(self.principal, self.moment)

    def can_see(self, path: Sequence[str]) -> bool:
        scopes = self.visible_scopes()
        return scopes is None or any(tuple(path[: len(s)]) == s for s in scopes)

    def can_see_unit(self, path: Sequence[str]) -> bool:
        """A unit inside a visible subtree, or one above it (people see where they sit)."""
        scopes = self.visible_scopes()
        return scopes is None or any(
            tuple(path[: len(s)]) == s or s[: len(path)] == tuple(path) for s in scopes
        )

    def missing(self, reason: str, message: str, **metadata: str) -> DomainError:
        """What to say about an id that does not exist: NOT_FOUND only to who may see all."""
        if self.sees_everything:
            return not_found(reason, message, **metadata)
        return out_of_scope()


def out_of_scope() -> DomainError:
    return permission_denied("OUT_OF_SCOPE", "the resource is outside the caller's scope, or does not exist")
