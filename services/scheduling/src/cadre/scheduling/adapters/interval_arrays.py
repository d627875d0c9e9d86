"""Forecast and requirement intervals as bytes: one NumPy structured array per row.

Little-endian and fixed layouts, so the bytes mean the same on every machine; changing a
layout needs a migration that rewrites the stored rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

FORECAST_LAYOUT = np.dtype([("start", "<i8"), ("volume", "<f8"), ("aht_seconds", "<f8")])

REQUIREMENT_LAYOUT = np.dtype(
    [
        ("start", "<i8"),
        ("volume", "<f8"),
        ("aht_seconds", "<f8"),
        ("agents", "<i4"),
        ("scheduled_agents", "<i4"),
        ("fractional_agents", "<f8"),
        ("service_level", "<f8"),
        ("asa_seconds", "<f8"),
        ("occupancy", "<f8"),
        ("wait_probability", "<f8"),
        ("abandon_rate", "<f8"),
    ]
)


def epoch_seconds(starts: Sequence[datetime]) -> NDArray[np.int64]:
    return np.fromiter((int(s.timestamp()) for s in starts), dtype=np.int64, count=len(starts))


def instants(seconds: NDArray[np.int64]) -> tuple[datetime, ...]:
    return tuple(datetime.fromtimestamp(int(s), UTC) for s in seconds)


def pack(layout: np.dtype, columns: dict[str, object]) -> bytes:
    """One value from equally long columns named as in `layout`."""
    length = len(columns["start"])  # type: ignore[arg-type]
    table = np.empty(length, dtype=layout)
    for name in layout.names or ():
        table[name] = columns[name]
    return table.tobytes()


def unpack(layout: np.dtype, data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=layout)
