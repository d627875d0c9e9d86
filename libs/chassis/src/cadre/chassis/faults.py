"""Named crash points for the kill -9 tests of RELIABILITY R1–R3.

Inert unless `CADRE_CRASH_AT` names the point (and, optionally, `CADRE_CRASH_AFTER`
how many passes to allow first). The process then kills itself with SIGKILL: no
cleanup, no flush, exactly what a power cut or an OOM kill does to it.
"""

from __future__ import annotations

import os
import signal
import threading

_point = os.environ.get("CADRE_CRASH_AT", "")
_remaining = int(os.environ.get("CADRE_CRASH_AFTER", "0") or 0)
_lock = threading.Lock()


def crash_point(name: str) -> None:
    global _remaining
    if not _point or name != _point:
        return
    with _lock:
        if _remaining > 0:
            _remaining -= 1
            return
    os.kill(os.getpid(), signal.SIGKILL)
