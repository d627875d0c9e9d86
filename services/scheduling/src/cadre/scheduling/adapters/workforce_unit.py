"""The day-to-day repositories, the roster projection and the caller over one connection."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection

from cadre.authority import usage
from cadre.authority.policy import Action, Amount, Decision
from cadre.authority.projection import LocalAuthority
from cadre.chassis import context as request_context
from cadre.chassis.auth import SYSTEM_ADMIN
from cadre.chassis.db import UnitOfWork
from cadre.scheduling.adapters import event_mapping, roster_projection
from cadre.scheduling.adapters.repository import SqlQueues, SqlRequirements
from cadre.scheduling.adapters.workforce_repository import (
    SqlAttendance,
    SqlLeave,
    SqlOvertime,
    SqlSchedules,
    SqlShiftTemplates,
    SqlSwaps,
    SqlTrainingBlocks,
)
from cadre.scheduling.domain.access import Caller, unknown_caller
from cadre.scheduling.domain.events import AttendanceRecorded, SchedulingEvent
from cadre.scheduling.domain.team import LEADING_ROLES, SEES_EVERYTHING, Person, PersonState, Role, Team


class Authorities:
    """The grants copy, cached in memory between changes; shared by every request."""

    def __init__(self) -> None:
        self.local = LocalAuthority()


class SqlWorkforce:
    def __init__(
        self, connection: Connection, authorities: Authorities, unit: UnitOfWork | None = None
    ) -> None:
        self._c = connection
        self._authorities = authorities
        self._unit = unit
        self.templates = SqlShiftTemplates(connection)
        self.schedules = SqlSchedules(connection)
        self.leave = SqlLeave(connection)
        self.attendance = SqlAttendance(connection)
        self.training = SqlTrainingBlocks(connection)
        self.swaps = SqlSwaps(connection)
        self.overtime = SqlOvertime(connection)
        self.queues = SqlQueues(connection)
        self.requirements = SqlRequirements(connection)

    # ------------------------------------------------------------ roster projection

    def team(self, team_id: str) -> Team | None:
        return roster_projection.team(self._c, team_id)

    def person(self, employee_id: str) -> Person | None:
        return roster_projection.person(self._c, employee_id)

    def team_id_of(self, employee_id: str, day: date) -> str | None:
        return roster_projection.team_id_of(self._c, employee_id, day)

    def team_id_at(self, employee_id: str, moment: datetime) -> str | None:
        return roster_projection.team_id_at(self._c, employee_id, moment)

    def members(self, team_id: str, first: date, last: date) -> list[Person]:
        return roster_projection.members(self._c, team_id, first, last)

    # ------------------------------------------------------------ who is calling

    def caller(self, now: datetime) -> Caller:
        principal = request_context.current().actor
        if principal == SYSTEM_ADMIN:
            return Caller(principal, None, True, True, ())
        if principal.startswith("services/"):
            return Caller(principal, None, True, False, ())
        if not principal.startswith("employees/"):
            raise unknown_caller()
        employee_id = principal.removeprefix("employees/")
        person = self.person(employee_id)
        if person is None or person.state is PersonState.TERMINATED:
            raise unknown_caller()
        book = self._authorities.local.snapshot(self._c).book
        scopes = list(book.visible_scopes(principal, now))
        if person.role in LEADING_ROLES:
            team_id = self.team_id_at(employee_id, now)
            team = self.team(team_id) if team_id else None
            if team is not None:
                scopes.append(team.path)
        return Caller(
            principal,
            employee_id,
            person.role in SEES_EVERYTHING,
            person.role is Role.ADMIN,
            tuple(scopes),
        )

    def decide(
        self, caller: Caller, *, action: Action, target_path: tuple[str, ...], amount: Amount, now: datetime
    ) -> Decision:
        return self._authorities.local.snapshot(self._c).book.authorize(
            actor=caller.principal,
            action=action,
            target_path=target_path,
            amount=amount,
            moment=now,
            is_administrator=caller.is_administrator,
        )

    # ------------------------------------------------------------ writing

    def _require_unit(self) -> UnitOfWork:
        if self._unit is None:
            raise RuntimeError("a read-only snapshot cannot write")
        return self._unit

    def record(self, event: SchedulingEvent) -> None:
        unit = self._require_unit()
        event_type, entity, payload = event_mapping.to_message(event)
        unit.publish(event_type=event_type, entity=entity, payload=payload)
        if not isinstance(event, AttendanceRecorded):  # payroll facts, not decisions: no audit row each
            unit.audit(action=event_type, entity=entity, before=None, after=event_mapping.audit_view(event))

    def audit(
        self, *, action: str, entity: str, before: object, after: object, acting_under: str = ""
    ) -> None:
        self._require_unit().audit(
            action=action, entity=entity, before=before, after=after, acting_under=acting_under
        )

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
    ) -> None:
        usage.record_use(
            self._require_unit(),
            decision=decision,
            actor=caller.principal,
            action=action,
            target=target,
            amount=amount,
            decision_name=decision_name,
            decided_at=now,
        )
