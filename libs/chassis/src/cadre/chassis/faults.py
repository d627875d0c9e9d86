"""Named fault points for the kill -9 and drain tests of RELIABILITY R1–R3 and R12.

Inert unless `CADRE_CRASH_AT` names the point (and, optionally, `CADRE_CRASH_AFTER`
how many passes to allow first). The process then kills itself with SIGKILL: no
cleanup, no flush, exactly what a power cut or an OOM kill does to it.
`CADRE_PAUSE_AT` with `CADRE_PAUSE_MS` holds a thread at a point instead, so a test
can have calls in flight when it sends SIGTERM.
"""

from __future__ import annotations

import os
import signal
import threading
import time

_point = os.environ.get("CADRE_CRASH_AT", "")
_remaining = int(os.environ.get("CADRE_CRASH_AFTER", "0") or 0)
_lock = threading.Lock()
_pause_point = os.environ.get("CADRE_PAUSE_AT", "")
_pause_seconds = int(os.environ.get("CADRE_PAUSE_MS", "0") or 0) / 1000


def crash_point(name: str) -> None:
    global _remaining
    if not _point or name != _point:
        return
    with _lock:
        if _remaining > 0:
            _remaining -= 1
            return
    os.kill(os.getpid(), signal.SIGKILL)


def pause_point(name: str) -> None:
    if _pause_point and name == _pause_point:
        time.sleep(_pause_seconds)
