"""Turns the authenticated principal into a `Caller`, deciding on the local copy of grants."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from cadre.authority.policy import Action, Amount, Decision
from cadre.authority.projection import LocalAuthority
from cadre.chassis import context as request_context
from cadre.chassis.auth import SYSTEM_ADMIN
from cadre.chassis.errors import permission_denied
from cadre.training.adapters.repository import SqlFacts
from cadre.training.app.access import Caller
from cadre.training.domain.people import ROLE_ADMIN


class CallerResolver:
    def __init__(self) -> None:
        self._authority = LocalAuthority()

    def caller(self, connection: Connection, *, now: datetime) -> Caller:
        principal = request_context.current().actor

        def decide(action: Action, target: str, amount: Amount) -> Decision | None:
            return self._authority.authorize(
                connection, actor=principal, action=action, target=target, amount=amount, moment=now
            )

        def scopes() -> list[tuple[str, ...]]:
            return self._authority.snapshot(connection).book.visible_scopes(principal, now)

        if principal == SYSTEM_ADMIN:
            return Caller(principal, None, ROLE_ADMIN, True, False, decide, scopes)
        if principal.startswith("services/"):
            return Caller(principal, None, None, False, True, decide, scopes)
        if principal.startswith("employees/"):
            person = SqlFacts(connection).person(principal.removeprefix("employees/"))
            if person is not None and person.current:
                return Caller(
                    principal, person.id, person.role, person.role == ROLE_ADMIN, False, decide, scopes
                )
        raise permission_denied("UNKNOWN_ACTOR", "the caller is not a current employee or a known service")
