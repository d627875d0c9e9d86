"""The org view performance keeps from roster's events: who belonged to which team when.

Membership is effective-dated: a transfer taking effect on day D ends the old team's
stint on D − 1 and starts the new one on D, so a fact counts for the team the person
belonged to on the fact's date, whenever the fact or the transfer arrived.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Stint:
    """One employee in one team from `start` to `end` (inclusive; None: still there)."""

    employee_id: str
    org_unit_id: str
    start: date
    end: date | None = None

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def team_on(stints: Sequence[Stint], day: date) -> str | None:
    """The team of one employee on `day`, from that employee's stints."""
    for stint in stints:
        if stint.covers(day):
            return stint.org_unit_id
    return None


def last_team_within(stints: Sequence[Stint], first: date, last: date) -> str | None:
    """The team on the latest day of `first…last` the person belonged to any team."""
    best: tuple[date, str] | None = None
    for stint in stints:
        end = last if stint.end is None else min(stint.end, last)
        if stint.start <= end and end >= first and (best is None or end > best[0]):
            best = (end, stint.org_unit_id)
    return None if best is None else best[1]


@dataclass(frozen=True)
class OrgTree:
    """Org units by id with their paths (root first, the unit itself last)."""

    paths: Mapping[str, tuple[str, ...]]

    def subtree(self, unit_id: str) -> frozenset[str]:
        """The unit and every unit below it."""
        return frozenset(u for u, path in self.paths.items() if unit_id in path)

    def ancestors_or_self(self, unit_id: str) -> tuple[str, ...]:
        """Nearest first: the unit, its parent, … the root."""
        return tuple(reversed(self.paths.get(unit_id, (unit_id,))))


def nearest_defined(tree: OrgTree, unit_id: str, defined: Iterable[str]) -> str | None:
    """The unit itself or its nearest ancestor among `defined` (scorecard inheritance)."""
    have = set(defined)
    for candidate in tree.ancestors_or_self(unit_id):
        if candidate in have:
            return candidate
    return None
