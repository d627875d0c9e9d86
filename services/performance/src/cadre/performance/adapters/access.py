"""Turns the authenticated principal into a `Caller`, from the local copy of roster's
people and grants (`cadre.authority.projection`): no call to roster."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from cadre.authority.policy import Action, Amount, Decision
from cadre.authority.projection import LocalAuthority
from cadre.chassis import context as request_context
from cadre.chassis.auth import SYSTEM_ADMIN
from cadre.chassis.errors import permission_denied
from cadre.performance.app.access import Caller

ROLE_TEAM_LEADER, ROLE_SUPERVISOR, ROLE_MANAGER, ROLE_HR_SPECIALIST, ROLE_ADMIN = 2, 3, 4, 5, 8
LEADING_ROLES = frozenset({ROLE_TEAM_LEADER, ROLE_SUPERVISOR, ROLE_MANAGER})
STATE_TERMINATED = 4


class AccessResolver:
    def __init__(self) -> None:
        self.authority = LocalAuthority()

    def caller(self, connection: Connection, *, now: datetime) -> Caller:
        principal = request_context.current().actor
        if principal == SYSTEM_ADMIN:
            return Caller(principal, None, is_administrator=True, is_payroll=True)
        if principal.startswith("services/"):
            return Caller(principal, None, is_administrator=False, is_payroll=True)
        if principal.startswith("employees/"):
            snapshot = self.authority.snapshot(connection)
            employee_id = principal.removeprefix("employees/")
            person = snapshot.people.get(employee_id)
            if person is not None and person[2] != STATE_TERMINATED:
                team, role, _ = person
                scopes = list(snapshot.book.visible_scopes(principal, now))
                own = snapshot.unit_paths.get(team)
                if role in LEADING_ROLES and own is not None:
                    scopes.append(own)
                return Caller(
                    principal,
                    employee_id,
                    is_administrator=role == ROLE_ADMIN,
                    is_payroll=role in (ROLE_ADMIN, ROLE_HR_SPECIALIST),
                    scopes=tuple(scopes),
                )
        raise permission_denied("UNKNOWN_ACTOR", "the caller is not a current employee or a known service")

    def unit_path(self, connection: Connection, unit_id: str) -> tuple[str, ...] | None:
        return self.authority.snapshot(connection).unit_paths.get(unit_id)

    def team_of(self, connection: Connection, employee_id: str) -> str | None:
        person = self.authority.snapshot(connection).people.get(employee_id)
        return None if person is None else person[0]

    def adjust_pay(
        self, connection: Connection, caller: Caller, *, employee_id: str, amount_minor: int, now: datetime
    ) -> Decision | None:
        """ADJUST_PAY over the employee for this amount; None for the platform administrator
        (no grant needed). Raises PERMISSION_DENIED when not allowed."""
        if caller.principal == SYSTEM_ADMIN:
            return None
        decision = self.authority.authorize(
            connection,
            actor=caller.principal,
            action=Action.ADJUST_PAY,
            target=f"employees/{employee_id}",
            amount=Amount(money_minor=abs(amount_minor)),
            moment=now,
        )
        if decision is None:
            raise permission_denied(
                "OUT_OF_SCOPE", "the employee is not known here, or outside the caller's scope"
            )
        decision.require()
        return decision
