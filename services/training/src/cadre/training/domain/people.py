"""What training knows about people and teams, from roster's events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

ROLE_TRAINER = "TRAINER"
ROLE_ADMIN = "ADMIN"
STATE_TERMINATED = "TERMINATED"


@dataclass(frozen=True)
class HeldSkill:
    level: int
    expire_date: date | None = None

    def valid_on(self, day: date) -> bool:
        return self.expire_date is None or day <= self.expire_date


@dataclass(frozen=True)
class TrainerPosition:
    """A part-time-trainer virtual position, from its first to its last day."""

    start_date: date
    end_date: date | None = None

    def active_on(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)


@dataclass(frozen=True)
class Person:
    id: str
    team_id: str
    role: str
    state: str
    skills: dict[str, HeldSkill] = field(default_factory=dict)
    trainer_positions: tuple[TrainerPosition, ...] = ()

    @property
    def current(self) -> bool:
        return self.state != STATE_TERMINATED

    def can_train_on(self, day: date) -> bool:
        """The trainer role, or a part-time-trainer position held that day."""
        return self.role == ROLE_TRAINER or any(p.active_on(day) for p in self.trainer_positions)


@dataclass(frozen=True)
class Team:
    id: str
    time_zone: str
    path: tuple[str, ...]  # unit ids from the root down to this one

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone or "UTC")
