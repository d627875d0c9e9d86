"""Scheduling's copy of the roster: teams, people, contracts, skills, availability.

Kept from roster's events (a projection); roster stays the owner. Enum numbers are those of
`cadre.roster.v1.Employee` so the projection stores what the events carry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date


class Role(enum.IntEnum):
    AGENT = 1
    TEAM_LEADER = 2
    SUPERVISOR = 3
    MANAGER = 4
    HR_SPECIALIST = 5
    TRAINER = 6
    ANALYST = 7
    ADMIN = 8


class PersonState(enum.IntEnum):
    ONBOARDING = 1
    ACTIVE = 2
    ON_LEAVE = 3
    TERMINATED = 4


# Roles that lead the unit they sit in (and what is under it).
LEADING_ROLES = frozenset({Role.TEAM_LEADER, Role.SUPERVISOR, Role.MANAGER})
# Roles that see every team's schedules and leave: HR keeps balances and records everywhere.
SEES_EVERYTHING = frozenset({Role.ADMIN, Role.HR_SPECIALIST})


@dataclass(frozen=True)
class Contract:
    min_weekly_minutes: int = 0
    max_weekly_minutes: int = 0
    max_consecutive_days: int = 0
    min_rest_minutes: int = 0
    days_off_per_week: int = 0


@dataclass(frozen=True)
class Skill:
    skill: str
    level: int
    expire_date: date | None = None

    def valid_on(self, day: date) -> bool:
        return self.expire_date is None or day < self.expire_date


@dataclass(frozen=True)
class Availability:
    weekday: int  # ISO, 1 = Monday
    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class Person:
    id: str
    role: Role
    state: PersonState
    employment_type: int
    contract: Contract
    skills: tuple[Skill, ...]
    availability: tuple[Availability, ...]
    virtual_positions: tuple[str, ...]
    hire_date: date | None
    # Dated exceptions to the weekly availability: (day, ((start minute, end minute), ...));
    # no windows means not available that day.
    availability_exceptions: tuple[tuple[date, tuple[tuple[int, int], ...]], ...] = ()

    def has_skill(self, skill: str, day: date) -> bool:
        return any(s.skill == skill and s.valid_on(day) for s in self.skills)


@dataclass(frozen=True)
class Team:
    id: str
    path: tuple[str, ...]  # org unit ids, root first, ending with this unit
    time_zone: str


def within(path: tuple[str, ...], scope: tuple[str, ...]) -> bool:
    """Whether `path` lies in the subtree whose top unit has path `scope`."""
    return path[: len(scope)] == scope
