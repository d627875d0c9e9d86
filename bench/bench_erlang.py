"""Erlang C staffing: Cadre's vectorized ``required_agents`` against pyworkforce's ``ErlangC``.

Run as ``python bench/bench_erlang.py``. One queue-week of 15-minute intervals (672 intervals,
volumes 50–2,000 per interval, AHT 180–400 s, target 80% answered within 20 s, no shrinkage and
no occupancy cap), the same inputs for both, in the same run. Prints figures; exits 0.

pyworkforce takes minutes for AHT and interval and calls the answer time ``asa``; its
``required_positions`` starts at ``round(A + 1)`` and counts upward, so it can only disagree
with an exact search where a smaller count (down to ``floor(A) + 1``) already meets the target.
Its ``raw_positions`` is the count before shrinkage, which is what we compare.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

try:
    from cadre.staffing.erlang import QueueTargets, erlang_c_metrics, required_agents
except ImportError:  # run from a checkout without the scheduling package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "scheduling" / "src"))
    from cadre.staffing.erlang import QueueTargets, erlang_c_metrics, required_agents

INTERVAL_SECONDS = 900
INTERVALS = 672  # 7 days x 96
TARGETS = QueueTargets(service_level=0.8, answer_seconds=20.0)


def week_of_inputs(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Volumes follow an intraday curve (two peaks) scaled into 50–2,000; AHT 180–400 s."""
    rng = np.random.default_rng(seed)
    hours = (np.arange(INTERVALS) % 96) / 4.0
    curve = np.exp(-0.5 * ((hours - 10.5) / 1.8) ** 2) + 0.85 * np.exp(-0.5 * ((hours - 15.5) / 2.2) ** 2)
    day = np.repeat([1.0, 0.93, 0.9, 0.88, 0.85, 0.6, 0.5], 96)
    shape = curve * day / (curve * day).max()
    volumes = np.round(50 + 1950 * np.clip(shape * rng.uniform(0.85, 1.15, INTERVALS), 0, 1))
    aht = np.round(rng.uniform(180, 400, INTERVALS), 1)
    return volumes, aht


T = TypeVar("T")


def _time(fn: Callable[[], T], repeats: int) -> tuple[float, float, T]:
    times: list[float] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times), result


def main() -> int:
    volumes, aht = week_of_inputs()
    required_agents(volumes, aht, INTERVAL_SECONDS, TARGETS)  # warm-up (imports, caches)
    best, median, ours = _time(lambda: required_agents(volumes, aht, INTERVAL_SECONDS, TARGETS), repeats=50)
    ours_us = best / INTERVALS * 1e6
    ours_med_us = median / INTERVALS * 1e6
    print(
        f"inputs: {INTERVALS} intervals of {INTERVAL_SECONDS // 60} min, volume {volumes.min():.0f}-"
        f"{volumes.max():.0f}, AHT {aht.min():.0f}-{aht.max():.0f} s, target 80/20, no shrinkage, no cap"
    )
    print(
        f"erlang: ours best {ours_us:.2f} us/interval, median {ours_med_us:.2f} us/interval "
        f"({best * 1e3:.2f} ms per queue-week)"
    )
    achieved = erlang_c_metrics(volumes, aht, INTERVAL_SECONDS, ours, TARGETS.answer_seconds)
    print(
        f"erlang: ours agents {int(np.sum(ours))} total, min SL achieved {achieved.service_level.min():.4f}"
    )

    try:
        from pyworkforce.queuing import ErlangC
    except Exception as exc:  # not installed or broken: still report our figures
        print(f"erlang: pyworkforce not importable ({type(exc).__name__}: {exc}); ours only")
        return 0

    def theirs() -> list[int]:
        return [
            ErlangC(
                transactions=float(v),
                aht=float(h) / 60.0,
                asa=TARGETS.answer_seconds / 60.0,
                interval=INTERVAL_SECONDS / 60.0,
                shrinkage=0.0,
            ).required_positions(service_level=TARGETS.service_level, max_occupancy=1.0)["raw_positions"]
            for v, h in zip(volumes, aht, strict=True)
        ]

    p_best, p_median, p_result = _time(theirs, repeats=3)
    pw = np.asarray(p_result, dtype=np.int64)
    p_us = p_best / INTERVALS * 1e6
    p_med_us = p_median / INTERVALS * 1e6
    equal = int(np.sum(pw == ours))
    print(f"erlang: pyworkforce best {p_us:.0f} us/interval, median {p_med_us:.0f} us/interval")
    print(
        f"erlang: ours {ours_us:.2f} us/interval, pyworkforce {p_us:.0f} us/interval, "
        f"ratio {p_us / ours_us:.0f}x (median {p_med_us / ours_med_us:.0f}x), "
        f"answers equal {equal}/{INTERVALS}"
    )
    for i in np.flatnonzero(pw != ours)[:10]:
        a = volumes[i] * aht[i] / INTERVAL_SECONDS
        sl_ours = erlang_c_metrics(volumes[i], aht[i], INTERVAL_SECONDS, ours[i]).service_level
        print(
            f"  mismatch interval {i}: A={a:.3f} ours {ours[i]} (SL {float(sl_ours):.4f}) "
            f"pyworkforce {pw[i]} (its search starts at round(A+1)={round(a + 1)})"
        )
    goal = p_us / ours_us >= 50
    print(f"erlang: goal >= 50x faster: {'met' if goal else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
