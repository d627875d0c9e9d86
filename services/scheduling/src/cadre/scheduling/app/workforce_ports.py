"""What the day-to-day use cases need from the outside world; `adapters.workforce_unit` provides it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from cadre.authority.policy import Action, Amount, Decision
from cadre.scheduling.domain.access import Caller
from cadre.scheduling.domain.events import SchedulingEvent
from cadre.scheduling.domain.team import Person, Team


class Workforce(Protocol):
    """Repositories (templates, schedules, leave, attendance, training blocks, queues,
    requirements), the roster projection and the caller, over one connection."""

    templates: Any
    schedules: Any
    leave: Any
    attendance: Any
    training: Any
    swaps: Any
    overtime: Any
    queues: Any
    requirements: Any

    def team(self, team_id: str) -> Team | None: ...
    def person(self, employee_id: str) -> Person | None: ...
    def team_id_of(self, employee_id: str, day: date) -> str | None: ...
    def team_id_at(self, employee_id: str, moment: datetime) -> str | None: ...
    def members(self, team_id: str, first: date, last: date) -> list[Person]: ...
    def caller(self, now: datetime) -> Caller: ...
    def decide(
        self, caller: Caller, *, action: Action, target_path: tuple[str, ...], amount: Amount, now: datetime
    ) -> Decision: ...
    def record(self, event: SchedulingEvent) -> None: ...
    def audit(
        self, *, action: str, entity: str, before: object, after: object, acting_under: str = ""
    ) -> None: ...
    def record_use(
        self,
        decision: Decision,
        *,
        caller: Caller,
        action: Action,
        target: str,
        amount: Amount,
        decision_name: str,
        now: datetime,
    ) -> None: ...
