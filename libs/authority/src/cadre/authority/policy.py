"""Grants delegate an action over an org subtree, within limits and dates; who may do what.

A grant's chain runs from a root grant (made by an administrator) down through each
delegation. A grant is effective at a moment only if it and every grant above it are
valid and unrevoked then, and each lies inside the subtree of the one above it, so
revoking or expiring a grant, or moving a unit out of a grantor's subtree, ends
everything delegated from it.
"""

from __future__ import annotations

import enum
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from cadre.chassis.errors import DomainError, ErrorKind, invalid_field, permission_denied

DEFAULT_MAX_DEPTH = 3


class Action(enum.Enum):
    """In the order of cadre.roster.v1.Action's numbers (1, 2, …): the projection relies on it."""

    APPROVE_LEAVE = "APPROVE_LEAVE"
    AUTHORIZE_OVERTIME = "AUTHORIZE_OVERTIME"
    PUBLISH_SCHEDULE = "PUBLISH_SCHEDULE"
    ADJUST_PAY = "ADJUST_PAY"
    APPROVE_TRANSFER = "APPROVE_TRANSFER"
    EXECUTE_TRANSFER = "EXECUTE_TRANSFER"
    ENROLL_TRAINING = "ENROLL_TRAINING"
    MANAGE_ORG = "MANAGE_ORG"
    MANAGE_EMPLOYEES = "MANAGE_EMPLOYEES"


@dataclass(frozen=True)
class Limits:
    """The most one decision may cover; None means no limit on that dimension."""

    max_days: int | None = None
    max_minutes: int | None = None
    max_amount_minor: int | None = None  # money in minor units (cents), never float

    def within(self, outer: Limits) -> bool:
        """No dimension exceeds `outer`'s (an unlimited dimension exceeds any limit)."""
        return all(
            o is None or (i is not None and i <= o)
            for i, o in (
                (self.max_days, outer.max_days),
                (self.max_minutes, outer.max_minutes),
                (self.max_amount_minor, outer.max_amount_minor),
            )
        )

    def cover(self, amount: Amount) -> bool:
        return all(
            limit is None or value <= limit
            for value, limit in (
                (amount.days, self.max_days),
                (amount.minutes, self.max_minutes),
                (amount.money_minor, self.max_amount_minor),
            )
        )


@dataclass(frozen=True)
class Amount:
    """How much one decision commits: days of leave, minutes of overtime, money."""

    days: int = 0
    minutes: int = 0
    money_minor: int = 0


@dataclass(frozen=True)
class Grant:
    id: str
    grantee: str  # a principal: employees/{id}
    action: Action
    scope_path: tuple[str, ...]  # org unit ids from the root down to the scope's top unit
    limits: Limits
    valid_from: datetime
    valid_until: datetime | None
    parent_id: str | None
    depth: int
    granted_by: str
    reason: str
    revoked_at: datetime | None = None

    def valid_at(self, moment: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= moment:
            return False
        return self.valid_from <= moment and (self.valid_until is None or moment < self.valid_until)

    def covers(self, target_path: Sequence[str]) -> bool:
        return tuple(target_path[: len(self.scope_path)]) == self.scope_path


class Outcome(enum.Enum):
    ALLOWED_AS_ADMINISTRATOR = "ALLOWED_AS_ADMINISTRATOR"
    ALLOWED_BY_GRANT = "ALLOWED_BY_GRANT"
    NO_GRANT = "NO_GRANT"
    OUT_OF_SCOPE = "OUT_OF_SCOPE"
    OVER_LIMIT = "OVER_LIMIT"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    chain: tuple[Grant, ...] = ()  # root first, the deciding grant last

    @property
    def allowed(self) -> bool:
        return self.outcome in (Outcome.ALLOWED_AS_ADMINISTRATOR, Outcome.ALLOWED_BY_GRANT)

    def explain(self) -> str:
        if self.outcome is Outcome.ALLOWED_AS_ADMINISTRATOR:
            return "allowed: the actor administers the platform"
        if self.allowed:
            return "allowed by grant " + " → ".join(g.id for g in self.chain)
        return {
            Outcome.NO_GRANT: "denied: no effective grant for this action",
            Outcome.OUT_OF_SCOPE: "denied: the target is outside every grant's subtree",
            Outcome.OVER_LIMIT: "denied: the amount exceeds every covering grant's limits",
        }[self.outcome]

    def require(self) -> None:
        """PERMISSION_DENIED with the outcome as reason, unless allowed."""
        if not self.allowed:
            raise permission_denied(self.outcome.value, self.explain())


class GrantBook:
    """All grants, indexed for decisions: by id, by grantee and action, by parent."""

    def __init__(self, grants: Iterable[Grant] = ()) -> None:
        self._by_id: dict[str, Grant] = {}
        self._by_holder: dict[tuple[str, Action], list[str]] = defaultdict(list)
        self._children: dict[str, list[str]] = defaultdict(list)
        for grant in grants:
            self.put(grant)

    def put(self, grant: Grant) -> None:
        known = self._by_id.get(grant.id)
        self._by_id[grant.id] = grant
        if known is None:
            self._by_holder[(grant.grantee, grant.action)].append(grant.id)
            if grant.parent_id is not None:
                self._children[grant.parent_id].append(grant.id)

    def get(self, grant_id: str) -> Grant | None:
        return self._by_id.get(grant_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def chain(self, grant: Grant) -> tuple[Grant, ...]:
        links = [grant]
        while links[-1].parent_id is not None:
            parent = self._by_id.get(links[-1].parent_id)  # type: ignore[arg-type]
            if parent is None:
                return ()
            links.append(parent)
        return tuple(reversed(links))

    def effective_chain(self, grant: Grant, moment: datetime) -> tuple[Grant, ...]:
        """The grant's chain if every link is valid at `moment` and lies inside the one above
        it (a unit moved out of the grantor's subtree takes its delegations out of force), else
        empty."""
        links = self.chain(grant)
        if not links or not all(link.valid_at(moment) for link in links):
            return ()
        if not all(outer.covers(inner.scope_path) for outer, inner in itertools.pairwise(links)):
            return ()
        return links

    def held(self, grantee: str, action: Action) -> list[Grant]:
        return [self._by_id[i] for i in self._by_holder.get((grantee, action), ())]

    def held_by(self, grantee: str) -> list[Grant]:
        return [
            g
            for (holder, _), ids in self._by_holder.items()
            if holder == grantee
            for g in (self._by_id[i] for i in ids)
        ]

    def grantees(self) -> set[str]:
        return {holder for holder, _ in self._by_holder}

    def descendants(self, grant_id: str) -> list[Grant]:
        found: list[Grant] = []
        stack = list(self._children.get(grant_id, ()))
        while stack:
            child = self._by_id[stack.pop()]
            found.append(child)
            stack.extend(self._children.get(child.id, ()))
        return found

    def authorize(
        self,
        *,
        actor: str,
        action: Action,
        target_path: Sequence[str],
        amount: Amount,
        moment: datetime,
        is_administrator: bool = False,
    ) -> Decision:
        if is_administrator:
            return Decision(Outcome.ALLOWED_AS_ADMINISTRATOR)
        outcome = Outcome.NO_GRANT
        candidates = sorted(self.held(actor, action), key=lambda g: (g.depth, g.id))
        for grant in candidates:
            chain = self.effective_chain(grant, moment)
            if not chain:
                continue
            if not grant.covers(target_path):
                outcome = Outcome.OUT_OF_SCOPE if outcome is Outcome.NO_GRANT else outcome
                continue
            if not grant.limits.cover(amount):
                outcome = Outcome.OVER_LIMIT
                continue
            return Decision(Outcome.ALLOWED_BY_GRANT, chain)
        return Decision(outcome)

    def visible_scopes(self, actor: str, moment: datetime) -> list[tuple[str, ...]]:
        """The subtrees any effective grant of the actor covers (what they may see)."""
        return [g.scope_path for g in self.held_by(actor) if self.effective_chain(g, moment)]


def check_delegation(
    book: GrantBook,
    *,
    grantor: str,
    grantor_is_administrator: bool,
    parent: Grant | None,
    proposed: Grant,
    moment: datetime,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> None:
    """Raises unless `grantor` may make `proposed`: only what it holds, never beyond it."""
    if proposed.valid_until is not None and proposed.valid_until <= proposed.valid_from:
        raise invalid_field("grant.valid_until", "VALIDITY_EMPTY", "must be after valid_from")
    if parent is None:
        if not grantor_is_administrator:
            raise permission_denied(
                "ROOT_GRANT_NEEDS_ADMINISTRATOR", "only an administrator grants without a parent grant"
            )
        return
    if parent.grantee != grantor:
        raise permission_denied("NOT_YOUR_GRANT", "a grantor can only delegate a grant it holds itself")
    if not book.effective_chain(parent, moment):
        raise DomainError(
            ErrorKind.FAILED_PRECONDITION,
            "PARENT_NOT_EFFECTIVE",
            "the parent grant is revoked, expired or not yet valid",
        )
    if proposed.action is not parent.action:
        raise invalid_field(
            "grant.action", "ACTION_NOT_HELD", f"the parent grant delegates {parent.action.value}"
        )
    if not parent.covers(proposed.scope_path):
        raise permission_denied("SCOPE_BEYOND_PARENT", "the scope must lie inside the parent grant's subtree")
    if not proposed.limits.within(parent.limits):
        raise permission_denied("LIMITS_BEYOND_PARENT", "no limit may exceed the parent grant's")
    if proposed.valid_from < parent.valid_from or (
        parent.valid_until is not None
        and (proposed.valid_until is None or proposed.valid_until > parent.valid_until)
    ):
        raise permission_denied("VALIDITY_BEYOND_PARENT", "the validity must lie inside the parent grant's")
    if parent.depth + 1 > max_depth:
        raise permission_denied(
            "DELEGATION_TOO_DEEP", f"delegation chains are at most {max_depth} grants long"
        )
