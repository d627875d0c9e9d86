"""Staffing math for one contact-center queue: Erlang C, Erlang A, required agents, shrinkage.

Plain NumPy/SciPy, no I/O. Every function is vectorized over intervals (any array shape;
scalars work too) and raises ``ValueError`` with a readable message on bad input.

Definitions (per interval of ``interval_seconds``):

* traffic intensity (offered load, Erlangs) ``A = volume * AHT / interval_seconds``;
* ``N`` agents (positions handling the queue, i.e. *net* of shrinkage).

Erlang C (M/M/N, nobody abandons)
    ``Pw = C(N, A)`` is the probability that a contact waits, computed from Erlang B
    as ``C = N·B / (N − A·(1 − B))``. Service level ``SL = P(wait ≤ T) = 1 − Pw·exp(−(N−A)·T/AHT)``
    (share of *offered* contacts answered within ``T`` seconds), average speed of answer
    ``ASA = Pw·AHT / (N − A)`` (mean wait over all contacts, those answered at once included),
    occupancy ``A / N``. When ``N ≤ A`` the queue is unstable: ``SL = 0``, ``Pw = 1``,
    ``ASA = inf`` and occupancy is reported as 1.

Numerical method and the continuous extension
    No factorials and no recursion: Erlang B comes from the regularized upper incomplete gamma
    function, ``1/B(N, A) = e^A · A^(−N) · Γ(N+1) · Q(N+1, A)`` with ``Q = scipy.special.gammaincc``,
    evaluated in log space with Stirling's series so that the huge terms cancel analytically
    (stable for thousands of agents). For integer ``N`` this is exactly the textbook Erlang B
    (``Q(N+1, A) = e^(−A) Σ_{k≤N} A^k/k!``); for real ``N`` it is the standard continuous
    extension of Erlang B (Jagerman's ``1/B(x, A) = A ∫_0^∞ e^(−A·t) (1+t)^x dt``), which is
    decreasing and smooth in ``x``. Erlang C, SL and ASA built from it are therefore continuous
    and monotone in ``N``; :func:`fractional_required_agents` finds the smallest real ``N`` on
    that curve. Where ``Q`` would underflow (far fewer agents than Erlangs, only used by
    Erlang A) the same integral is evaluated with Gauss–Laguerre quadrature instead.

Erlang A (M/M/N+M: exponential patience with mean ``θ⁻¹ = patience_seconds``)
    Formulas of Garnett, Mandelbaum & Reiman (2002) in the form given by Mandelbaum & Zeltyn,
    with ``x = N·μ/θ`` and ``y = λ/θ`` and the Kummer-type function
    ``𝒜(x, y) = x·e^y·y^(−x)·γ(x, y)`` (lower incomplete gamma; evaluated in log space through
    ``scipy.special.gammainc``, or Gauss–Laguerre quadrature where that underflows):

    * ``P(wait > 0) = 𝒜·E / (1 + (𝒜 − 1)·E)`` with ``E = B(N, A)``;
    * ``P(abandon) = P(wait > 0) · (1/(ρ·𝒜) + 1 − 1/ρ)``, ``ρ = A/N``;
    * **service level** = share of *offered* contacts that are *answered* within ``T`` seconds:
      ``P(V = 0) + P(served, 0 < V ≤ T)`` where ``V`` is the offered (virtual) wait. Contacts that
      abandon count against the service level whenever they abandon (even before ``T``). With
      ``π_N = P(wait > 0)/𝒜(x, y)`` and ``p = e^(−θT)`` the second term is
      ``π_N · x/(x+1) · [𝒜(x+1, y) − e^(y(1−p)) · p^(x+1) · 𝒜(x+1, y·p)]``;
    * **ASA** = mean wait of *answered* contacts ``E[W | served]`` (Gauss–Legendre quadrature of a
      log-concave one-dimensional integral); ``mean_wait_seconds`` = mean wait of all offered
      contacts, abandoners included, ``= P(abandon)·patience``;
    * occupancy = handled load / agents ``= A·(1 − P(abandon)) / N``.

    As patience → ∞ every one of these tends to its Erlang C counterpart (``patience = inf`` is
    accepted and gives Erlang C exactly).

Required agents
    The smallest integer ``N`` meeting every target of :class:`QueueTargets` (service level,
    optional ASA cap, optional occupancy cap and, for Erlang A, optional abandonment cap).
    All targets are monotone in ``N``, so the search starts at the square-root-staffing
    estimate ``N ≈ A + β·√A`` (β from the Halfin–Whitt approximation, solved per interval) and
    gallops/bisects over all intervals at once. Intervals with zero volume need 0 agents.
    Targets are compared with a relative tolerance of 1e-12 to absorb binary rounding (an
    occupancy of exactly 80% meets an 80% cap).

Shrinkage
    ``gross = ceil(net / (1 − shrinkage))`` (and ``net / (1 − shrinkage)`` for fractional
    requirements).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

__all__ = [
    "ErlangAMetrics",
    "ErlangCMetrics",
    "QueueTargets",
    "StaffingRequirement",
    "apply_shrinkage",
    "apply_shrinkage_fractional",
    "erlang_a_metrics",
    "erlang_b",
    "erlang_c",
    "erlang_c_metrics",
    "fractional_required_agents",
    "fractional_required_agents_erlang_a",
    "required_agents",
    "required_agents_erlang_a",
    "staffing_requirement",
    "traffic_intensity",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_HALF_PI = math.sqrt(0.5 * math.pi)
# Relative slack when comparing against targets (binary rounding of e.g. 0.8 or A = 8.000000000000002).
_TOL = 1e-12
# Gauss–Laguerre rule for the integrals ∫_0^∞ e^(−t) g(t) dt used where incomplete gamma underflows.
_LAG_T, _LAG_W = np.polynomial.laguerre.laggauss(40)
# Use Gauss–Laguerre when curvature/slope² ≤ this (then g is very smooth on the rule's scale).
_LAG_SWITCH = 1e-3
# Gauss–Legendre rule for the (log-concave) waiting-time moment of Erlang A.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(64)


# --------------------------------------------------------------------------------------------
# Targets and results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueTargets:
    """What a queue promises: ``service_level`` of contacts answered within ``answer_seconds``.

    ``max_occupancy`` caps A/N (Erlang C) or handled load/N (Erlang A); ``asa_seconds`` caps
    the average speed of answer; ``max_abandonment`` caps the abandonment probability and is
    used by Erlang A only (Erlang C has no abandonment, so it is always met there).
    """

    service_level: float = 0.8
    answer_seconds: float = 20.0
    max_occupancy: float | None = None
    asa_seconds: float | None = None
    max_abandonment: float | None = None

    def __post_init__(self) -> None:
        if not _finite(self.service_level) or not 0.0 < self.service_level < 1.0:
            raise ValueError(f"service_level must be strictly between 0 and 1, got {self.service_level!r}")
        if not _finite(self.answer_seconds) or self.answer_seconds < 0:
            raise ValueError(f"answer_seconds must be a finite number >= 0, got {self.answer_seconds!r}")
        if self.max_occupancy is not None and (
            not _finite(self.max_occupancy) or not 0.0 < self.max_occupancy <= 1.0
        ):
            raise ValueError(f"max_occupancy must be in (0, 1], got {self.max_occupancy!r}")
        if self.asa_seconds is not None and (not _finite(self.asa_seconds) or self.asa_seconds <= 0):
            raise ValueError(f"asa_seconds must be a finite number > 0, got {self.asa_seconds!r}")
        if self.max_abandonment is not None and (
            not _finite(self.max_abandonment) or not 0.0 < self.max_abandonment < 1.0
        ):
            raise ValueError(
                f"max_abandonment must be strictly between 0 and 1, got {self.max_abandonment!r}"
            )


@dataclass(frozen=True, eq=False)
class ErlangCMetrics:
    """Erlang C figures per interval (arrays of the broadcast input shape)."""

    traffic_erlangs: FloatArray
    agents: FloatArray
    wait_probability: FloatArray
    service_level: FloatArray
    asa_seconds: FloatArray
    occupancy: FloatArray


@dataclass(frozen=True, eq=False)
class ErlangAMetrics:
    """Erlang A figures per interval (arrays of the broadcast input shape).

    ``service_level`` is answered-within-T over offered; ``asa_seconds`` is the mean wait of
    answered contacts; ``mean_wait_seconds`` the mean wait of all offered contacts.
    """

    traffic_erlangs: FloatArray
    agents: FloatArray
    wait_probability: FloatArray
    service_level: FloatArray
    abandonment_probability: FloatArray
    asa_seconds: FloatArray
    mean_wait_seconds: FloatArray
    occupancy: FloatArray


@dataclass(frozen=True, eq=False)
class StaffingRequirement:
    """Requirement per interval and what it achieves (the figures the service publishes).

    ``metrics`` are evaluated at ``net_agents`` (the agents actually on the queue).
    """

    model: str  # "erlang_c" or "erlang_a"
    net_agents: IntArray
    gross_agents: IntArray
    fractional_net_agents: FloatArray
    fractional_gross_agents: FloatArray
    shrinkage: FloatArray
    metrics: ErlangCMetrics | ErlangAMetrics


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _array(name: str, value: ArrayLike, *, positive: bool = False, allow_inf: bool = False) -> FloatArray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric") from exc
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN")
    if not allow_inf and np.isinf(arr).any():
        raise ValueError(f"{name} must be finite")
    if positive:
        if (arr <= 0).any():
            raise ValueError(f"{name} must be > 0")
    elif (arr < 0).any():
        raise ValueError(f"{name} must be >= 0")
    return arr


def _interval(interval_seconds: float) -> float:
    if not _finite(interval_seconds) or float(interval_seconds) <= 0:
        raise ValueError(f"interval_seconds must be a finite number > 0, got {interval_seconds!r}")
    return float(interval_seconds)


def _targets(targets: QueueTargets) -> QueueTargets:
    if not isinstance(targets, QueueTargets):
        raise ValueError("targets must be a QueueTargets")
    return targets


def traffic_intensity(volume: ArrayLike, aht_seconds: ArrayLike, interval_seconds: float) -> FloatArray:
    """Offered load in Erlangs, ``volume * AHT / interval_seconds``."""
    vol = _array("volume", volume)
    aht = _array("aht_seconds", aht_seconds, positive=True)
    return np.asarray(vol * aht / _interval(interval_seconds), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Special-function kernels (log space)
# --------------------------------------------------------------------------------------------


def _stirling_corr(x: FloatArray) -> FloatArray:
    """lnΓ(x) − [(x − ½)ln x − x + ½ln 2π], accurate without cancellation for large x."""
    small = x < 10.0
    r = 1.0 / np.where(small, 10.0, x)
    r2 = r * r
    out = r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 / 1188))))
    if small.any():
        xs = x[small]
        out[small] = special.gammaln(xs) - ((xs - 0.5) * np.log(xs) - xs + _LOG_SQRT_2PI)
    return np.asarray(out, dtype=np.float64)


def _k(u: FloatArray) -> FloatArray:
    """u − ln(1 + u), ≥ 0 for u > −1."""
    return np.asarray(u - np.log1p(u), dtype=np.float64)


def _m_k(m: FloatArray, a: FloatArray) -> FloatArray:
    """m·k((a − m)/m) = a − m − m·ln(a/m) for m, a > 0, without cancellation near a = m."""
    u = (a - m) / m
    near = u > -0.5
    with np.errstate(divide="ignore"):
        far = (a - m) - m * (np.log(a) - np.log(m))
    return np.asarray(np.where(near, m * _k(np.where(near, u, 0.0)), far), dtype=np.float64)


def _log_inv_b_gamma(n: FloatArray, a: FloatArray) -> FloatArray:
    """ln(1/B(n, a)) through Q(n+1, a); fine unless a ≫ n (then Q underflows)."""
    m = n + 1.0
    with np.errstate(divide="ignore"):
        log_q = np.log(special.gammaincc(m, a))
    return np.asarray(
        log_q + _m_k(m, a) + np.log(a) - 0.5 * np.log(m) + _LOG_SQRT_2PI + _stirling_corr(m),
        dtype=np.float64,
    )


def _log_inv_erlang_b(n: FloatArray, a: FloatArray) -> FloatArray:
    """ln(1/B(n, a)) for real n ≥ 0 and a > 0 (continuous extension), stable everywhere."""
    n, a = np.broadcast_arrays(np.asarray(n, np.float64), np.asarray(a, np.float64))
    out = np.empty(n.shape, dtype=np.float64)
    d = a - n
    lag = (d > 0) & (n <= _LAG_SWITCH * d * d)
    gam = ~lag
    if gam.any():
        out[gam] = _log_inv_b_gamma(n[gam], a[gam])
    if lag.any():
        # 1/B = ∫_0^∞ e^(−v)(1 + v/a)^n dv = (a/d) ∫_0^∞ e^(−w) exp(−n·k(w/d)) dw
        nl, dl, al = n[lag], d[lag], a[lag]
        g = np.exp(-nl[:, None] * _k(_LAG_T[None, :] / dl[:, None]))
        out[lag] = np.log(al / dl) + np.log(g @ _LAG_W)
    return out


def _log_kummer(x: FloatArray, z: FloatArray) -> FloatArray:
    """ln 𝒜(x, z) = ln[x·e^z·z^(−x)·γ(x, z)] = ln ₁F₁(1; x+1; z), for x > 0 and z ≥ 0."""
    x, z = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(z, np.float64))
    out = np.empty(x.shape, dtype=np.float64)
    d = x - z
    lag = (d > 0) & (z <= _LAG_SWITCH * d * d)
    gam = ~lag
    if gam.any():
        xg, zg = x[gam], z[gam]
        with np.errstate(divide="ignore"):
            log_p = np.log(special.gammainc(xg, zg))
        out[gam] = 0.5 * np.log(xg) + _LOG_SQRT_2PI + _stirling_corr(xg) + _m_k(xg, zg) + log_p
    if lag.any():
        # 𝒜 = x ∫_0^∞ exp(−x·s + z(1 − e^(−s))) ds = (x/d) ∫_0^∞ e^(−t) exp(−z·h(t/d)) dt,
        # h(v) = e^(−v) − 1 + v.
        xl, zl, dl = x[lag], z[lag], d[lag]
        v = _LAG_T[None, :] / dl[:, None]
        g = np.exp(-zl[:, None] * (v + np.expm1(-v)))
        out[lag] = np.log(xl / dl) + np.log(g @ _LAG_W)
    return out


def _log_expm1(x: FloatArray) -> FloatArray:
    """ln(e^x − 1) for x ≥ 0 (−inf at 0)."""
    with np.errstate(divide="ignore", over="ignore"):
        big = x > 30.0
        return np.asarray(
            np.where(
                big, x + np.log1p(-np.exp(-np.where(big, x, 30.0))), np.log(np.expm1(np.minimum(x, 30.0)))
            ),
            dtype=np.float64,
        )


def _erlang_c_stable(n: FloatArray, a: FloatArray) -> FloatArray:
    """C(n, a) for n > a > 0: 1/C = ρ + (1 − ρ)/B with ρ = a/n."""
    log_inv_b = _log_inv_b_gamma(n, a)
    rho = a / n
    with np.errstate(over="ignore"):
        return np.asarray(1.0 / (rho + (1.0 - rho) * np.exp(log_inv_b)), dtype=np.float64)


def erlang_b(agents: ArrayLike, traffic_erlangs: ArrayLike) -> FloatArray:
    """Erlang B blocking probability B(N, A); real N uses the continuous (gamma) extension."""
    n = _array("agents", agents)
    a = _array("traffic_erlangs", traffic_erlangs)
    n, a = np.broadcast_arrays(n, a)
    out = np.where(a > 0, 0.0, np.where(n > 0, 0.0, 1.0))
    pos = a > 0
    if pos.any():
        out[pos] = np.exp(-_log_inv_erlang_b(n[pos], a[pos]))
    return np.asarray(out, dtype=np.float64)


def erlang_c(agents: ArrayLike, traffic_erlangs: ArrayLike) -> FloatArray:
    """Erlang C probability of waiting C(N, A); 1 when N ≤ A, 0 when A = 0."""
    n = _array("agents", agents)
    a = _array("traffic_erlangs", traffic_erlangs)
    n, a = np.broadcast_arrays(n, a)
    out = np.where(a > 0, 1.0, 0.0)
    stable = (n > a) & (a > 0)
    if stable.any():
        out[stable] = _erlang_c_stable(n[stable], a[stable])
    return np.asarray(out, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Erlang C metrics
# --------------------------------------------------------------------------------------------


def _erlang_c_arrays(
    a: FloatArray, aht: FloatArray, n: FloatArray, answer_seconds: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(Pw, SL, ASA, occupancy) for broadcast-compatible arrays (already validated)."""
    a, aht, n = np.broadcast_arrays(a, aht, n)
    pw = np.where(a > 0, 1.0, 0.0)
    sl = np.where(a > 0, 0.0, 1.0)
    asa = np.where(a > 0, np.inf, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        occ = np.where(n > 0, np.minimum(a / np.where(n > 0, n, 1.0), 1.0), np.where(a > 0, 1.0, 0.0))
    stable = (n > a) & (a > 0)
    if stable.any():
        ns, as_, hs = n[stable], a[stable], aht[stable]
        c = _erlang_c_stable(ns, as_)
        gap = ns - as_
        pw[stable] = c
        sl[stable] = 1.0 - c * np.exp(-gap * answer_seconds / hs)
        asa[stable] = c * hs / gap
    return pw, sl, asa, np.asarray(occ, dtype=np.float64)


def erlang_c_metrics(
    volume: ArrayLike,
    aht_seconds: ArrayLike,
    interval_seconds: float,
    agents: ArrayLike,
    answer_seconds: float = 20.0,
) -> ErlangCMetrics:
    """Erlang C probability of waiting, SL within ``answer_seconds``, ASA and occupancy.

    ``agents`` may be real (continuous extension). Zero volume gives SL 1, Pw 0, ASA 0,
    occupancy 0 (nothing to answer, so nothing was answered late).
    """
    a = traffic_intensity(volume, aht_seconds, interval_seconds)
    aht = _array("aht_seconds", aht_seconds, positive=True)
    n = _array("agents", agents)
    if not _finite(answer_seconds) or answer_seconds < 0:
        raise ValueError(f"answer_seconds must be a finite number >= 0, got {answer_seconds!r}")
    a, aht, n = (np.array(v, dtype=np.float64) for v in np.broadcast_arrays(a, aht, n))
    pw, sl, asa, occ = _erlang_c_arrays(a, aht, n, float(answer_seconds))
    return ErlangCMetrics(
        traffic_erlangs=a, agents=n, wait_probability=pw, service_level=sl, asa_seconds=asa, occupancy=occ
    )


# --------------------------------------------------------------------------------------------
# Searches
# --------------------------------------------------------------------------------------------

Feasible = Callable[[IntArray, FloatArray], NDArray[np.bool_]]


def _smallest_feasible(feasible: Feasible, guess: FloatArray, lower: FloatArray) -> IntArray:
    """Smallest integer n ≥ lower with feasible(n), per element, for a monotone predicate.

    Probes the guess first, gallops (steps 1, 2, 4, …) towards the answer and bisects once it
    is bracketed; every round evaluates all still-open elements in one vectorized call.
    """
    lo = lower.astype(np.float64) - 1.0  # known infeasible (answer ≥ lower)
    hi = np.full(lo.shape, np.inf)  # known feasible
    probe = np.maximum(np.asarray(guess, np.float64), lower)
    step = np.ones(lo.shape)
    lo_probed = np.zeros(lo.shape, dtype=bool)
    active = np.arange(lo.size)
    for _ in range(400):
        if active.size == 0:
            return hi.astype(np.int64)
        p = probe[active]
        ok = feasible(active, p)
        hi[active[ok]] = p[ok]
        lo[active[~ok]] = p[~ok]
        lo_probed[active[~ok]] = True
        active = active[hi[active] - lo[active] > 1.0]
        h, low, s = hi[active], lo[active], step[active]
        probe[active] = np.where(
            np.isinf(h),
            low + s,
            np.where(lo_probed[active], np.floor((low + h) / 2.0), np.maximum(h - s, low + 1.0)),
        )
        step[active] = s * 2.0
    raise ValueError("required agents search did not converge (targets cannot be met)")


def _bisect_real(feasible: Feasible, lo: FloatArray, hi: FloatArray, tol: float) -> FloatArray:
    """Smallest real x in (lo, hi] with feasible(x) to within ``tol`` (lo infeasible, hi feasible)."""
    lo, hi = lo.astype(np.float64).copy(), hi.astype(np.float64).copy()
    idx = np.arange(lo.size)
    while True:
        open_ = idx[hi - lo > tol]
        if open_.size == 0:
            return hi
        mid = 0.5 * (lo[open_] + hi[open_])
        ok = feasible(open_, mid)
        hi[open_[ok]] = mid[ok]
        lo[open_[~ok]] = mid[~ok]


def _halfin_whitt_guess(a: FloatArray, aht: FloatArray, targets: QueueTargets) -> FloatArray:
    """Square-root staffing N ≈ A + β√A with β from Pw ≈ 1/(1 + β·Φ(β)/φ(β)) per interval.

    Solves ln(1 + βR(β)) + β·√A·T/AHT = −ln(1 − SL) with a few Newton steps; it only seeds
    the exact search, so a handful of iterations is enough.
    """
    sqrt_a = np.sqrt(a)
    c = sqrt_a * targets.answer_seconds / aht
    rhs = -math.log1p(-targets.service_level)
    beta = np.full(a.shape, 0.5)
    for _ in range(6):
        r = _SQRT_HALF_PI * special.erfcx(-beta / math.sqrt(2.0))  # Φ(β)/φ(β)
        br = 1.0 + beta * r
        g = np.log(br) + c * beta - rhs
        dg = (r + beta * (1.0 + beta * r)) / br + c
        beta = np.clip(beta - g / dg, 0.0, 8.0)
    guess = np.ceil(a + beta * sqrt_a)
    if targets.max_occupancy is not None:
        guess = np.maximum(guess, np.ceil(a / targets.max_occupancy))
    return np.asarray(np.maximum(guess, np.floor(a) + 1.0), dtype=np.float64)


def _erlang_c_feasible(a: FloatArray, aht: FloatArray, targets: QueueTargets) -> Feasible:
    t_ans = float(targets.answer_seconds)
    sl_min = targets.service_level - _TOL

    def feasible(idx: IntArray, n: FloatArray) -> NDArray[np.bool_]:
        ai, hi = a[idx], aht[idx]
        ok = n > ai
        if ok.any():
            ns, as_, hs = n[ok], ai[ok], hi[ok]
            c = _erlang_c_stable(ns, as_)
            gap = ns - as_
            good = 1.0 - c * np.exp(-gap * t_ans / hs) >= sl_min
            if targets.asa_seconds is not None:
                good &= c * hs / gap <= targets.asa_seconds * (1.0 + _TOL)
            if targets.max_occupancy is not None:
                good &= as_ <= targets.max_occupancy * ns * (1.0 + _TOL)
            ok[ok] = good
        return ok

    return feasible


def _prepare(
    volumes: ArrayLike, aht_seconds: ArrayLike, interval_seconds: float
) -> tuple[FloatArray, FloatArray, tuple[int, ...]]:
    vol = _array("volumes", volumes)
    aht = _array("aht_seconds", aht_seconds, positive=True)
    interval = _interval(interval_seconds)
    vol, aht = np.broadcast_arrays(vol, aht)
    shape = vol.shape
    a = (vol * aht / interval).ravel()
    return np.ascontiguousarray(a), np.ascontiguousarray(aht.ravel(), dtype=np.float64), shape


def required_agents(
    volumes: ArrayLike, aht_seconds: ArrayLike, interval_seconds: float, targets: QueueTargets
) -> IntArray:
    """Smallest integer agents per interval meeting every Erlang C target (0 for zero volume)."""
    targets = _targets(targets)
    a, aht, shape = _prepare(volumes, aht_seconds, interval_seconds)
    out = np.zeros(a.shape, dtype=np.int64)
    pos = np.flatnonzero(a > 0)
    if pos.size:
        ap, hp = a[pos], aht[pos]
        lower = np.floor(ap) + 1.0
        out[pos] = _smallest_feasible(
            _erlang_c_feasible(ap, hp, targets), _halfin_whitt_guess(ap, hp, targets), lower
        )
    return out.reshape(shape)


def fractional_required_agents(
    volumes: ArrayLike,
    aht_seconds: ArrayLike,
    interval_seconds: float,
    targets: QueueTargets,
    tol: float = 1e-9,
) -> FloatArray:
    """Smallest real agents per interval meeting every Erlang C target on the continuous extension.

    Root finding (bisection to ``tol`` agents, result on the feasible side) on the gamma-function
    extension of Erlang C; always in ``(required − 1, required]``. Useful to share agents across
    queues before rounding.
    """
    targets = _targets(targets)
    if not _finite(tol) or tol <= 0:
        raise ValueError("tol must be > 0")
    a, aht, shape = _prepare(volumes, aht_seconds, interval_seconds)
    out = np.zeros(a.shape, dtype=np.float64)
    pos = np.flatnonzero(a > 0)
    if pos.size:
        ap, hp = a[pos], aht[pos]
        feasible = _erlang_c_feasible(ap, hp, targets)
        n_int = _smallest_feasible(feasible, _halfin_whitt_guess(ap, hp, targets), np.floor(ap) + 1.0)
        lo = np.maximum(n_int - 1.0, ap)
        out[pos] = _bisect_real(feasible, lo, n_int.astype(np.float64), tol)
    return out.reshape(shape)


# --------------------------------------------------------------------------------------------
# Shrinkage
# --------------------------------------------------------------------------------------------


def _shrinkage(shrinkage: ArrayLike) -> FloatArray:
    s = _array("shrinkage", shrinkage)
    if (s >= 1.0).any():
        raise ValueError("shrinkage must be in [0, 1)")
    return s


def apply_shrinkage(net_agents: ArrayLike, shrinkage: ArrayLike) -> IntArray:
    """Gross agents to schedule: ``ceil(net / (1 − shrinkage))``.

    A 1e-9 slack absorbs binary rounding (7 net at 30% shrinkage is 10 gross, not 11).
    """
    net = _array("net_agents", net_agents)
    s = _shrinkage(shrinkage)
    gross = np.ceil(net / (1.0 - s) - 1e-9)
    return np.asarray(np.maximum(gross, np.ceil(net - 1e-9)), dtype=np.int64)


def apply_shrinkage_fractional(net_agents: ArrayLike, shrinkage: ArrayLike) -> FloatArray:
    """Fractional gross requirement ``net / (1 − shrinkage)``."""
    net = _array("net_agents", net_agents)
    s = _shrinkage(shrinkage)
    return np.asarray(net / (1.0 - s), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Erlang A
# --------------------------------------------------------------------------------------------


def _psi_means(x: FloatArray, y: FloatArray) -> FloatArray:
    """Mean of s under the density ∝ exp(ψ(s)) on s ≥ 0, ψ(s) = −(x+1)·s + y·(1 − e^(−s)).

    θ·E[W | served] equals this mean. ψ is concave, so the density is log-concave with its mode
    at s* = max(0, ln(y/(x+1))). The integrals cover the range where ψ is within 60 of its
    maximum (cut points found by Newton iterations, monotone from outside for a concave ψ),
    split at s* into two panels of 64-point Gauss–Legendre quadrature. Vectorized; checked
    against adaptive quadrature and 50-digit arithmetic.
    """
    x1 = x + 1.0

    def psi(s: FloatArray) -> FloatArray:
        return np.asarray(-x1 * s - y * np.expm1(-s), dtype=np.float64)

    def dpsi(s: FloatArray) -> FloatArray:
        return np.asarray(-x1 + y * np.exp(-s), dtype=np.float64)

    s_star = np.log(np.maximum(y / x1, 1.0))
    p_star = psi(s_star)
    drop = 60.0
    # ψ(s* + Δ) ≤ ψ(s*) − (x+1)(Δ − 1 + e^(−Δ)) ≤ ψ(s*) − (x+1)(Δ − 1): Δ = drop/(x+1) + 1 is past the cut.
    hi = s_star + drop / x1 + 1.0
    for _ in range(200):
        step = (psi(hi) - p_star + drop) / dpsi(hi)
        hi = hi - step
        if (np.abs(step) <= 1e-12 * hi).all():
            break
    lo = np.maximum(0.0, s_star - (hi - s_star))  # the left side falls faster than the right
    for _ in range(200):
        below = psi(lo) - p_star + drop
        move = below < 0
        if not move.any():
            break
        step = np.where(move, below / np.where(move, dpsi(lo), 1.0), 0.0)
        lo = lo - step
        if (np.abs(step) <= 1e-12 * np.maximum(lo, 1e-300)).all():
            break
    x1c, yc, pc = x1[:, None], y[:, None], p_star[:, None]
    mass = np.zeros(x.shape)
    moment = np.zeros(x.shape)
    for a, b in ((lo, s_star), (s_star, hi)):
        half = (0.5 * (b - a))[:, None]
        s = (0.5 * (a + b))[:, None] + half * _GL_X[None, :]
        w = half * _GL_W[None, :] * np.exp(-x1c * s - yc * np.expm1(-s) - pc)
        mass += w.sum(axis=1)
        moment += (w * s).sum(axis=1)
    return np.asarray(moment / mass, dtype=np.float64)


def _erlang_a_arrays(
    a: FloatArray,
    aht: FloatArray,
    patience: FloatArray,
    n: FloatArray,
    answer_seconds: float,
    *,
    want_asa: bool = True,
) -> dict[str, FloatArray]:
    """Erlang A metrics for validated 1-D arrays of equal length."""
    size = a.size
    pw = np.where(a > 0, 1.0, 0.0)
    sl = np.where(a > 0, 0.0, 1.0)
    pab = np.where(a > 0, 1.0, 0.0)
    asa = np.where(a > 0, np.inf, 0.0)
    occ = np.zeros(size)
    mean_wait = np.where(a > 0, patience, 0.0)

    # Infinite patience: Erlang C exactly.
    inf_p = np.isinf(patience) & (a > 0)
    if inf_p.any():
        cp, csl, casa, cocc = _erlang_c_arrays(a[inf_p], aht[inf_p], n[inf_p], answer_seconds)
        pw[inf_p], sl[inf_p], asa[inf_p], occ[inf_p], mean_wait[inf_p] = cp, csl, casa, cocc, casa
        pab[inf_p] = 0.0

    core = (a > 0) & (n > 0) & np.isfinite(patience)
    if core.any():
        ac, hc, pc, nc = a[core], aht[core], patience[core], n[core]
        x = nc * pc / hc  # N·μ/θ
        y = ac * pc / hc  # λ/θ
        log_r = _log_expm1(np.maximum(_log_inv_erlang_b(nc, ac), 0.0))  # ln(1/B − 1)
        log_a = _log_kummer(x, y)
        log_den = np.logaddexp(log_r, log_a)
        pwc = np.exp(log_a - log_den)
        log_pin = -log_den  # ln π_N
        ratio = nc / ac  # 1/ρ = x/y
        pabc = np.clip(np.exp(np.log(ratio) + log_pin) + (1.0 - ratio) * pwc, 0.0, pwc)
        theta_t = answer_seconds / pc
        l1 = _log_kummer(x + 1.0, y)
        l2 = _log_kummer(x + 1.0, y * np.exp(-theta_t)) - y * np.expm1(-theta_t) - (x + 1.0) * theta_t
        within = np.exp(log_pin + np.log(x / (x + 1.0)) + l1) * -np.expm1(np.minimum(l2 - l1, 0.0))
        slc = np.clip(1.0 - pwc + within, 0.0, 1.0 - pabc)
        pw[core], pab[core], sl[core] = pwc, pabc, slc
        occ[core] = np.clip(ac * (1.0 - pabc) / nc, 0.0, 1.0)
        mean_wait[core] = pabc * pc
        if want_asa:
            means = _psi_means(x, y)
            waited_answered = np.maximum(pwc - pabc, 0.0)
            asa[core] = waited_answered / (1.0 - pabc) * means * pc
    return {
        "wait_probability": pw,
        "service_level": sl,
        "abandonment_probability": pab,
        "asa_seconds": asa,
        "mean_wait_seconds": mean_wait,
        "occupancy": occ,
    }


def _patience(patience_seconds: ArrayLike) -> FloatArray:
    return _array("patience_seconds", patience_seconds, positive=True, allow_inf=True)


def erlang_a_metrics(
    volume: ArrayLike,
    aht_seconds: ArrayLike,
    patience_seconds: ArrayLike,
    interval_seconds: float,
    agents: ArrayLike,
    answer_seconds: float = 20.0,
) -> ErlangAMetrics:
    """Erlang A (M/M/N+M) figures; ``patience_seconds`` is the mean patience (inf → Erlang C).

    Service level = answered within ``answer_seconds`` / offered; ASA = mean wait of answered
    contacts. With zero agents every contact abandons (SL 0, ASA inf).
    """
    a = traffic_intensity(volume, aht_seconds, interval_seconds)
    aht = _array("aht_seconds", aht_seconds, positive=True)
    pat = _patience(patience_seconds)
    n = _array("agents", agents)
    if not _finite(answer_seconds) or answer_seconds < 0:
        raise ValueError(f"answer_seconds must be a finite number >= 0, got {answer_seconds!r}")
    a, aht, pat, n = (np.array(v, dtype=np.float64) for v in np.broadcast_arrays(a, aht, pat, n))
    shape = a.shape
    res = _erlang_a_arrays(a.ravel(), aht.ravel(), pat.ravel(), n.ravel(), float(answer_seconds))
    return ErlangAMetrics(traffic_erlangs=a, agents=n, **{k: v.reshape(shape) for k, v in res.items()})


def _erlang_a_feasible(
    a: FloatArray, aht: FloatArray, patience: FloatArray, targets: QueueTargets
) -> Feasible:
    t_ans = float(targets.answer_seconds)
    need_asa = targets.asa_seconds is not None

    def feasible(idx: IntArray, n: FloatArray) -> NDArray[np.bool_]:
        m = _erlang_a_arrays(a[idx], aht[idx], patience[idx], n, t_ans, want_asa=need_asa)
        ok = m["service_level"] >= targets.service_level - _TOL
        if need_asa:
            assert targets.asa_seconds is not None
            ok &= m["asa_seconds"] <= targets.asa_seconds * (1.0 + _TOL)
        if targets.max_occupancy is not None:
            ok &= m["occupancy"] <= targets.max_occupancy * (1.0 + _TOL)
        if targets.max_abandonment is not None:
            ok &= m["abandonment_probability"] <= targets.max_abandonment * (1.0 + _TOL)
        return np.asarray(ok, dtype=bool)

    return feasible


def _prepare_a(
    volumes: ArrayLike, aht_seconds: ArrayLike, patience_seconds: ArrayLike, interval_seconds: float
) -> tuple[FloatArray, FloatArray, FloatArray, tuple[int, ...]]:
    vol = _array("volumes", volumes)
    aht = _array("aht_seconds", aht_seconds, positive=True)
    pat = _patience(patience_seconds)
    interval = _interval(interval_seconds)
    vol, aht, pat = np.broadcast_arrays(vol, aht, pat)
    a = (vol * aht / interval).ravel()
    return (
        np.ascontiguousarray(a),
        np.ascontiguousarray(aht.ravel(), dtype=np.float64),
        np.ascontiguousarray(pat.ravel(), dtype=np.float64),
        vol.shape,
    )


def _required_a(a: FloatArray, aht: FloatArray, pat: FloatArray, targets: QueueTargets) -> IntArray:
    # Seed with Erlang C (abandonment usually lowers the need), then search exactly.
    c_targets = QueueTargets(
        service_level=targets.service_level,
        answer_seconds=targets.answer_seconds,
        max_occupancy=targets.max_occupancy,
        asa_seconds=targets.asa_seconds,
    )
    guess = _smallest_feasible(
        _erlang_c_feasible(a, aht, c_targets), _halfin_whitt_guess(a, aht, c_targets), np.floor(a) + 1.0
    ).astype(np.float64)
    return _smallest_feasible(_erlang_a_feasible(a, aht, pat, targets), guess, np.ones(a.shape))


def required_agents_erlang_a(
    volumes: ArrayLike,
    aht_seconds: ArrayLike,
    patience_seconds: ArrayLike,
    interval_seconds: float,
    targets: QueueTargets,
) -> IntArray:
    """Smallest integer agents per interval meeting every target under Erlang A (0 for zero volume)."""
    targets = _targets(targets)
    a, aht, pat, shape = _prepare_a(volumes, aht_seconds, patience_seconds, interval_seconds)
    out = np.zeros(a.shape, dtype=np.int64)
    pos = np.flatnonzero(a > 0)
    if pos.size:
        out[pos] = _required_a(a[pos], aht[pos], pat[pos], targets)
    return out.reshape(shape)


def fractional_required_agents_erlang_a(
    volumes: ArrayLike,
    aht_seconds: ArrayLike,
    patience_seconds: ArrayLike,
    interval_seconds: float,
    targets: QueueTargets,
    tol: float = 1e-9,
) -> FloatArray:
    """Smallest real agents meeting every Erlang A target (continuous extension, bisection)."""
    targets = _targets(targets)
    if not _finite(tol) or tol <= 0:
        raise ValueError("tol must be > 0")
    a, aht, pat, shape = _prepare_a(volumes, aht_seconds, patience_seconds, interval_seconds)
    out = np.zeros(a.shape, dtype=np.float64)
    pos = np.flatnonzero(a > 0)
    if pos.size:
        ap, hp, pp = a[pos], aht[pos], pat[pos]
        n_int = _required_a(ap, hp, pp, targets).astype(np.float64)
        out[pos] = _bisect_real(_erlang_a_feasible(ap, hp, pp, targets), n_int - 1.0, n_int, tol)
    return out.reshape(shape)


# --------------------------------------------------------------------------------------------
# One call for the service
# --------------------------------------------------------------------------------------------


def staffing_requirement(
    volumes: ArrayLike,
    aht_seconds: ArrayLike,
    interval_seconds: float,
    targets: QueueTargets,
    *,
    shrinkage: ArrayLike = 0.0,
    patience_seconds: ArrayLike | None = None,
) -> StaffingRequirement:
    """Net and gross requirement per interval plus the SL/ASA/occupancy/Pw achieved at net.

    Erlang C by default; Erlang A when ``patience_seconds`` (mean patience) is given.
    """
    targets = _targets(targets)
    s = _shrinkage(shrinkage)
    if patience_seconds is None:
        net = required_agents(volumes, aht_seconds, interval_seconds, targets)
        frac = fractional_required_agents(volumes, aht_seconds, interval_seconds, targets)
        metrics: ErlangCMetrics | ErlangAMetrics = erlang_c_metrics(
            volumes, aht_seconds, interval_seconds, net, targets.answer_seconds
        )
        model = "erlang_c"
    else:
        net = required_agents_erlang_a(volumes, aht_seconds, patience_seconds, interval_seconds, targets)
        frac = fractional_required_agents_erlang_a(
            volumes, aht_seconds, patience_seconds, interval_seconds, targets
        )
        metrics = erlang_a_metrics(
            volumes, aht_seconds, patience_seconds, interval_seconds, net, targets.answer_seconds
        )
        model = "erlang_a"
    net, s_b = np.broadcast_arrays(net, s)
    frac_b = np.broadcast_to(frac, net.shape)
    return StaffingRequirement(
        model=model,
        net_agents=np.array(net, dtype=np.int64),
        gross_agents=apply_shrinkage(net, s_b),
        fractional_net_agents=np.array(frac_b, dtype=np.float64),
        fractional_gross_agents=apply_shrinkage_fractional(frac_b, s_b),
        shrinkage=np.array(s_b, dtype=np.float64),
        metrics=metrics,
    )
