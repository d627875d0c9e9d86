"""Who is asking, and under which request id: carried with the call into worker threads."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class RequestContext:
    actor: str = SYSTEM_ACTOR
    request_id: str = ""
    method: str = ""


_NOBODY = RequestContext()
_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "cadre_request_context", default=None
)


def current() -> RequestContext:
    return _current.get() or _NOBODY


def bind(context: RequestContext) -> contextvars.Token[RequestContext | None]:
    return _current.set(context)


def reset(token: contextvars.Token[RequestContext | None]) -> None:
    _current.reset(token)
