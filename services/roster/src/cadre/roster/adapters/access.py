"""Turns the authenticated principal into an `Access`, with the grant book cached in memory.

The book is rebuilt only when the grants table changed (a count and the highest change
sequence, read per request); every replica sees the same grants, whichever wrote them.
"""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import Connection

from cadre.authority.policy import GrantBook
from cadre.chassis import context as request_context
from cadre.chassis.auth import SYSTEM_ADMIN
from cadre.chassis.errors import permission_denied
from cadre.roster.adapters.repository import SqlEmployees, all_grants, grant_book_version
from cadre.roster.app.access import Access
from cadre.roster.domain.employee import EmployeeState, Role

# Roles that see the whole roster: HR executes transfers and fixes records everywhere.
SEES_EVERYTHING = frozenset({Role.ADMIN, Role.HR_SPECIALIST})


class AccessResolver:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._book = GrantBook()
        self._version: tuple[int, int] | None = None

    def book(self, connection: Connection) -> GrantBook:
        version = grant_book_version(connection)
        with self._lock:
            if version != self._version:
                self._book = GrantBook(all_grants(connection))
                self._version = version
            return self._book

    def access(self, connection: Connection, *, now: datetime) -> Access:
        principal = request_context.current().actor

        def book() -> GrantBook:
            return self.book(connection)

        if principal == SYSTEM_ADMIN:
            return Access(principal, True, True, None, book, now)
        if principal.startswith("services/"):
            return Access(principal, False, True, None, book, now)
        if principal.startswith("employees/"):
            employee = SqlEmployees(connection).get(principal.removeprefix("employees/"))
            if employee is not None and employee.state is not EmployeeState.TERMINATED:
                return Access(
                    principal,
                    employee.role is Role.ADMIN,
                    employee.role in SEES_EVERYTHING,
                    employee.id,
                    book,
                    now,
                )
        raise permission_denied("UNKNOWN_ACTOR", "the caller is not a current employee or a known service")
