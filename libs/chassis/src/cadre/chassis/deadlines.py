"""Deadlines: every incoming call's remaining time, passed down and checked before commit.

RELIABILITY R8: nothing is committed after the caller gave up, and every outgoing call
carries a deadline no later than the one we were given.
"""

from __future__ import annotations

import contextvars
import time

from cadre.chassis.errors import DomainError, ErrorKind

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("cadre_deadline", default=None)


def set_remaining(seconds: float | None) -> contextvars.Token[float | None]:
    return _deadline.set(None if seconds is None else time.monotonic() + seconds)


def reset(token: contextvars.Token[float | None]) -> None:
    _deadline.reset(token)


def remaining(default: float) -> float:
    """Seconds left for an outgoing call: the caller's remaining time, or `default`."""
    deadline = _deadline.get()
    if deadline is None:
        return default
    return max(0.0, min(default, deadline - time.monotonic()))


def check_not_expired() -> None:
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() >= deadline:
        raise DomainError(
            ErrorKind.DEADLINE_EXCEEDED,
            "DEADLINE_EXCEEDED",
            "the caller's deadline passed before the change could commit; nothing was written",
        )
