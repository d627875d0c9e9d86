"""Interval forecast for one queue: daily volume × intraday profile, AHT per weekday × interval.

Plain NumPy + statsmodels, no I/O.

Method (``"holt_winters_daily_x_weekday_profile"``)
    1. The interval history is put on a *local* grid: local date × wall-clock interval index
       (``minute_of_day // interval_minutes``) in the queue's IANA time zone (``zoneinfo``).
    2. Daily volume: Holt–Winters exponential smoothing with weekly seasonality
       (``statsmodels`` ``ExponentialSmoothing``, ``seasonal_periods=7``, multiplicative seasonality
       by default, additive when a day has zero volume, optional additive/damped trend).
       statsmodels estimates the smoothing parameters and initial states; the fitted and
       forecast values are then computed by this module's own copy of statsmodels' update
       equations, so the returned parameters regenerate the forecast exactly
       (:func:`forecast_from_params`) without statsmodels or the history.
    3. Intraday profile per weekday: each day's share of volume per interval, averaged over
       the last ``profile_weeks`` weeks (unweighted mean of daily share vectors).
    4. AHT per weekday × interval: volume-weighted mean over the last ``aht_weeks`` weeks
       (falling back to the weekday's, then the queue's, weighted mean where an interval had no
       contacts).

Excluded dates (holidays, outliers) and days with no records are imputed in the daily series
(mean of the same weekday in the nearest usable weeks) and left out of the profile and AHT.

Time zones and DST
    Everything is computed on local dates and wall-clock interval indexes. A forecast day's
    intervals are the real instants from that local midnight to the next one (stepping
    ``interval_minutes`` in UTC), so a spring-forward day has one hour fewer intervals and a
    fall-back day one hour more; the day's volume is spread over the intervals that exist
    (profile shares renormalized), so daily totals are kept. In the history, the two
    occurrences of a repeated fall-back hour share one wall-clock index and are summed.
    Returned timestamps are tz-aware interval starts in the queue's time zone.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "METHOD",
    "BacktestResult",
    "ForecastConfig",
    "IntervalHistory",
    "QueueForecast",
    "SyntheticHistory",
    "backtest",
    "forecast_from_params",
    "forecast_queue",
    "synthetic_history",
    "wape",
]

FloatArray = NDArray[np.float64]

METHOD = "holt_winters_daily_x_weekday_profile"
_SEASON = 7
_MIN_DAYS = 21


# --------------------------------------------------------------------------------------------
# Inputs and outputs
# --------------------------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _check_interval_minutes(interval_minutes: int) -> int:
    if isinstance(interval_minutes, bool) or not isinstance(interval_minutes, int | np.integer):
        raise ValueError("interval_minutes must be an integer")
    if interval_minutes <= 0 or 1440 % int(interval_minutes) != 0:
        raise ValueError(f"interval_minutes must divide a day (e.g. 15 or 30), got {interval_minutes}")
    return int(interval_minutes)


@dataclass(frozen=True, eq=False)
class IntervalHistory:
    """One queue's interval history: tz-aware interval starts, offered volume and AHT (seconds).

    AHT may be 0 where nothing was offered. Intervals must start on the local wall-clock grid of
    ``interval_minutes`` in ``time_zone``. Missing intervals count as zero volume; days with no
    record at all are treated as missing.
    """

    time_zone: str
    interval_minutes: int
    timestamps: tuple[datetime, ...]
    offered: FloatArray
    aht_seconds: FloatArray

    def __post_init__(self) -> None:
        _zone(self.time_zone)
        _check_interval_minutes(self.interval_minutes)
        stamps = tuple(self.timestamps)
        offered = np.asarray(self.offered, dtype=np.float64).ravel()
        aht = np.asarray(self.aht_seconds, dtype=np.float64).ravel()
        if not (len(stamps) == offered.size == aht.size):
            raise ValueError("timestamps, offered and aht_seconds must have the same length")
        if not stamps:
            raise ValueError("history is empty")
        for ts in stamps:
            if not isinstance(ts, datetime) or ts.tzinfo is None or ts.utcoffset() is None:
                raise ValueError("timestamps must be timezone-aware datetimes")
        if not np.isfinite(offered).all() or (offered < 0).any():
            raise ValueError("offered must be finite and >= 0")
        if not np.isfinite(aht).all() or (aht < 0).any():
            raise ValueError("aht_seconds must be finite and >= 0")
        if ((offered > 0) & (aht <= 0)).any():
            raise ValueError("aht_seconds must be > 0 wherever offered > 0")
        object.__setattr__(self, "timestamps", stamps)
        object.__setattr__(self, "offered", offered)
        object.__setattr__(self, "aht_seconds", aht)


@dataclass(frozen=True)
class ForecastConfig:
    """Forecast options. ``seasonal`` is "mul" or "add"; ``trend`` is None or "add"."""

    seasonal: str = "mul"
    trend: str | None = None
    damped_trend: bool = False
    profile_weeks: int = 8
    aht_weeks: int = 8
    exclude_dates: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.seasonal not in ("mul", "add"):
            raise ValueError("seasonal must be 'mul' or 'add'")
        if self.trend not in (None, "add"):
            raise ValueError("trend must be None or 'add'")
        if self.damped_trend and self.trend is None:
            raise ValueError("damped_trend needs trend='add'")
        for name in ("profile_weeks", "aht_weeks"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1")
        dates = frozenset(self.exclude_dates)
        if any(not isinstance(d, date) or isinstance(d, datetime) for d in dates):
            raise ValueError("exclude_dates must hold datetime.date values (local dates)")
        object.__setattr__(self, "exclude_dates", dates)


@dataclass(frozen=True, eq=False)
class QueueForecast:
    """Forecast per interval (tz-aware starts) and per local day, with the parameters to rebuild it."""

    timestamps: tuple[datetime, ...]
    volumes: FloatArray
    aht_seconds: FloatArray
    dates: tuple[date, ...]
    daily_volumes: FloatArray
    params: dict[str, Any]


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Hold-out accuracy: WAPE = Σ|actual − forecast| / Σ actual."""

    holdout_weeks: int
    holdout_start: date
    holdout_end: date  # inclusive
    interval_wape: float
    daily_wape: float
    evaluated_days: int
    forecast: QueueForecast


@dataclass(frozen=True, eq=False)
class SyntheticHistory:
    """A generated history and the true mean it was drawn from (per record)."""

    history: IntervalHistory
    expected_volume: FloatArray
    expected_aht_seconds: FloatArray


def wape(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Weighted absolute percentage error Σ|actual − forecast| / Σ actual (as a fraction)."""
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    if a.shape != f.shape:
        raise ValueError("actual and forecast must have the same shape")
    total = float(a.sum())
    if total <= 0:
        raise ValueError("WAPE is undefined when the actual volume sums to zero")
    return float(np.abs(a - f).sum() / total)


# --------------------------------------------------------------------------------------------
# Local grid
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Grid:
    first: date
    volume: FloatArray  # [days, K]
    work: FloatArray  # [days, K] volume × AHT
    observed: NDArray[np.bool_]  # day has at least one record
    record_day: NDArray[np.int64]  # per history record: row in the grid

    @property
    def days(self) -> int:
        return int(self.volume.shape[0])

    def date(self, row: int) -> date:
        return self.first + timedelta(days=row)


def _local_slots(
    stamps: Sequence[datetime], tz: ZoneInfo, interval_minutes: int
) -> tuple[list[date], list[int]]:
    dates: list[date] = []
    slots: list[int] = []
    for ts in stamps:
        loc = ts.astimezone(tz)
        minute = loc.hour * 60 + loc.minute
        if minute % interval_minutes or loc.second or loc.microsecond:
            raise ValueError(
                f"timestamp {ts.isoformat()} is not on the {interval_minutes}-minute local interval grid"
            )
        dates.append(loc.date())
        slots.append(minute // interval_minutes)
    return dates, slots


def _grid(history: IntervalHistory) -> _Grid:
    tz = _zone(history.time_zone)
    k = 1440 // history.interval_minutes
    dates, slots = _local_slots(history.timestamps, tz, history.interval_minutes)
    first = min(dates)
    day = np.fromiter(((d - first).days for d in dates), dtype=np.int64, count=len(dates))
    slot = np.asarray(slots, dtype=np.int64)
    n_days = int(day.max()) + 1
    volume = np.zeros((n_days, k))
    work = np.zeros((n_days, k))
    np.add.at(volume, (day, slot), history.offered)
    np.add.at(work, (day, slot), history.offered * history.aht_seconds)
    observed = np.zeros(n_days, dtype=bool)
    observed[day] = True
    return _Grid(first=first, volume=volume, work=work, observed=observed, record_day=day)


def _day_instants(day: date, tz: ZoneInfo, interval_minutes: int) -> tuple[list[datetime], list[int]]:
    """Interval starts of one local day (DST-aware) and their wall-clock slot indexes."""
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    step = timedelta(minutes=interval_minutes)
    stamps: list[datetime] = []
    slots: list[int] = []
    t = start
    while t < end:
        loc = t.astimezone(tz)
        stamps.append(loc)
        slots.append((loc.hour * 60 + loc.minute) // interval_minutes)
        t += step
    return stamps, slots


# --------------------------------------------------------------------------------------------
# Daily model: Holt–Winters (statsmodels' update equations)
# --------------------------------------------------------------------------------------------


def _hw_run(y: FloatArray, model: dict[str, Any]) -> tuple[FloatArray, float, float, list[float]]:
    """One-step fitted values and the final (level, trend, seasons) of the recursion.

    The same equations as statsmodels' ``ExponentialSmoothing`` (level and seasonal both
    updated from the previous level + damped trend).
    """
    alpha = float(model["smoothing_level"])
    gamma = float(model["smoothing_seasonal"])
    has_trend = model["trend"] is not None
    beta = float(model["smoothing_trend"]) if has_trend else 0.0
    phi = float(model["damping_trend"]) if model["damped_trend"] else 1.0
    mul = model["seasonal"] == "mul"
    level = float(model["initial_level"])
    trend = float(model["initial_trend"]) if has_trend else 0.0
    seasons = [float(s) for s in model["initial_seasons"]]
    fitted = np.empty(y.size)
    for t, obs in enumerate(y.tolist()):
        base = level + phi * trend if has_trend else level
        s0 = seasons[0]
        if mul:
            fitted[t] = base * s0
            new_level = alpha * obs / s0 + (1 - alpha) * base
            new_season = gamma * obs / base + (1 - gamma) * s0
        else:
            fitted[t] = base + s0
            new_level = alpha * (obs - s0) + (1 - alpha) * base
            new_season = gamma * (obs - base) + (1 - gamma) * s0
        if has_trend:
            trend = beta * (new_level - level) + (1 - beta) * phi * trend
        level = new_level
        seasons = [*seasons[1:], new_season]
    return fitted, level, trend, seasons


def _hw_forecast(model: dict[str, Any], steps: Sequence[int]) -> FloatArray:
    """Forecast h steps after the last fitted day (h ≥ 1) from the final state."""
    has_trend = model["trend"] is not None
    phi = float(model["damping_trend"]) if model["damped_trend"] else 1.0
    level = float(model["final_level"])
    trend = float(model["final_trend"]) if has_trend else 0.0
    seasons = [float(s) for s in model["final_seasons"]]
    out = np.empty(len(steps))
    for i, h in enumerate(steps):
        if has_trend:
            damp = float(h) if phi == 1.0 else phi * (1 - phi**h) / (1 - phi)
            base = level + damp * trend
        else:
            base = level
        s = seasons[(h - 1) % _SEASON]
        out[i] = base * s if model["seasonal"] == "mul" else base + s
    return np.maximum(out, 0.0)


def _fit_daily(y: FloatArray, config: ForecastConfig) -> dict[str, Any]:
    import statsmodels
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal = config.seasonal
    if seasonal == "mul" and (y <= 0).any():
        seasonal = "add"  # multiplicative seasonality needs strictly positive days
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ExponentialSmoothing(
            y,
            trend=config.trend,
            damped_trend=config.damped_trend,
            seasonal=seasonal,
            seasonal_periods=_SEASON,
            initialization_method="estimated",
        ).fit(optimized=True)
    p = res.params
    has_trend = config.trend is not None

    def num(value: Any) -> float | None:
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)

    model: dict[str, Any] = {
        "estimator": f"statsmodels {statsmodels.__version__} ExponentialSmoothing (estimated init)",
        "seasonal_periods": _SEASON,
        "seasonal": seasonal,
        "seasonal_requested": config.seasonal,
        "trend": config.trend,
        "damped_trend": bool(config.damped_trend),
        "smoothing_level": float(p["smoothing_level"]),
        "smoothing_trend": num(p["smoothing_trend"]) if has_trend else None,
        "smoothing_seasonal": float(p["smoothing_seasonal"]),
        "damping_trend": num(p["damping_trend"]) if config.damped_trend else None,
        "initial_level": float(p["initial_level"]),
        "initial_trend": num(p["initial_trend"]) if has_trend else None,
        "initial_seasons": [float(s) for s in np.asarray(p["initial_seasons"]).ravel()],
    }
    fitted, level, trend, seasons = _hw_run(y, model)
    model["final_level"] = level
    model["final_trend"] = trend if has_trend else None
    model["final_seasons"] = seasons
    model["sse"] = float(np.sum((y - fitted) ** 2))
    return model


def _impute(daily: FloatArray, usable: NDArray[np.bool_]) -> FloatArray:
    """Fill unusable days with the mean of the same weekday in the nearest usable weeks (±4)."""
    out = daily.copy()
    n = daily.size
    usable_mean = float(daily[usable].mean())
    for i in np.flatnonzero(~usable):
        picks: list[float] = []
        for w in range(1, 53):
            for j in (i - 7 * w, i + 7 * w):
                if 0 <= j < n and usable[j]:
                    picks.append(float(daily[j]))
            if len(picks) >= 2 or (picks and w >= 4):
                break
        out[i] = float(np.mean(picks)) if picks else usable_mean
    return out


# --------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------


def _weekday_of(first: date, rows: NDArray[np.int64]) -> NDArray[np.int64]:
    return np.asarray((first.weekday() + rows) % 7, dtype=np.int64)


def _intraday_profile(grid: _Grid, usable: NDArray[np.bool_], weeks: int) -> FloatArray:
    k = grid.volume.shape[1]
    totals = grid.volume.sum(axis=1)
    rows = np.flatnonzero(usable & (totals > 0) & (np.arange(grid.days) >= grid.days - 7 * weeks))
    shares = np.full((7, k), 1.0 / k)
    if rows.size == 0:
        return shares
    day_shares = grid.volume[rows] / totals[rows, None]
    wd = _weekday_of(grid.first, rows)
    overall = day_shares.mean(axis=0)
    for w in range(7):
        sel = wd == w
        shares[w] = day_shares[sel].mean(axis=0) if sel.any() else overall
    return shares


def _aht_table(grid: _Grid, usable: NDArray[np.bool_], weeks: int) -> FloatArray:
    rows = np.flatnonzero(usable & (np.arange(grid.days) >= grid.days - 7 * weeks))
    vol, work = grid.volume[rows], grid.work[rows]
    if vol.sum() <= 0:  # nothing recent: use the whole usable history
        rows = np.flatnonzero(usable)
        vol, work = grid.volume[rows], grid.work[rows]
    total_vol = vol.sum()
    if total_vol <= 0:
        raise ValueError("history has no offered volume to estimate AHT from")
    overall = work.sum() / total_vol
    wd = _weekday_of(grid.first, rows)
    k = grid.volume.shape[1]
    table = np.empty((7, k))
    for w in range(7):
        sel = wd == w
        v = vol[sel].sum(axis=0)
        wk = work[sel].sum(axis=0)
        day_v = v.sum()
        fallback = wk.sum() / day_v if day_v > 0 else overall
        with np.errstate(invalid="ignore", divide="ignore"):
            table[w] = np.where(v > 0, wk / np.where(v > 0, v, 1.0), fallback)
    return table


# --------------------------------------------------------------------------------------------
# Forecast
# --------------------------------------------------------------------------------------------


def _fit_params(history: IntervalHistory, config: ForecastConfig) -> dict[str, Any]:
    grid = _grid(history)
    if grid.days < _MIN_DAYS:
        raise ValueError(f"history must span at least {_MIN_DAYS} local days, got {grid.days}")
    excluded = np.array([grid.date(i) in config.exclude_dates for i in range(grid.days)], dtype=bool)
    usable = grid.observed & ~excluded
    if usable.sum() < 14:
        raise ValueError("history needs at least 14 usable days (observed and not excluded)")
    daily = _impute(grid.volume.sum(axis=1), usable)
    model = _fit_daily(daily, config)
    last = grid.date(grid.days - 1)
    return {
        "method": METHOD,
        "version": 1,
        "time_zone": history.time_zone,
        "interval_minutes": history.interval_minutes,
        "history": {
            "first_date": grid.first.isoformat(),
            "last_date": last.isoformat(),
            "days": grid.days,
            "excluded_dates": sorted(d.isoformat() for d in config.exclude_dates),
            "imputed_dates": [grid.date(int(i)).isoformat() for i in np.flatnonzero(~usable)],
        },
        "daily_model": model,
        "intraday_profile": {
            "weeks": config.profile_weeks,
            "weekday_index": "Monday=0",
            "shares": _intraday_profile(grid, usable, config.profile_weeks).tolist(),
        },
        "aht": {
            "weeks": config.aht_weeks,
            "weekday_index": "Monday=0",
            "seconds": _aht_table(grid, usable, config.aht_weeks).tolist(),
        },
    }


def forecast_from_params(
    params: dict[str, Any], *, start_date: date | None = None, horizon_days: int | None = None
) -> QueueForecast:
    """Regenerate a forecast from the parameters returned with it (same numbers, no refit).

    By default the stored horizon; ``start_date``/``horizon_days`` move or extend it (the start
    must be after the last history date).
    """
    if params.get("method") != METHOD:
        raise ValueError(f"unsupported forecast method {params.get('method')!r}")
    tz = _zone(params["time_zone"])
    interval_minutes = _check_interval_minutes(int(params["interval_minutes"]))
    last = date.fromisoformat(params["history"]["last_date"])
    stored = params.get("horizon", {})
    start = start_date or (date.fromisoformat(stored["start_date"]) if stored else last + timedelta(days=1))
    days = horizon_days if horizon_days is not None else int(stored.get("days", 0)) if stored else 0
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError("horizon_days must be an integer >= 1")
    if isinstance(start, datetime) or not isinstance(start, date):
        raise ValueError("start_date must be a datetime.date (local date)")
    if start <= last:
        raise ValueError(f"start_date must be after the last history date {last.isoformat()}")
    offset = (start - last).days
    dates = tuple(start + timedelta(days=i) for i in range(days))
    daily = _hw_forecast(params["daily_model"], [offset + i for i in range(days)])
    shares = np.asarray(params["intraday_profile"]["shares"], dtype=np.float64)
    aht_table = np.asarray(params["aht"]["seconds"], dtype=np.float64)
    stamps: list[datetime] = []
    volumes: list[FloatArray] = []
    ahts: list[FloatArray] = []
    for d, total in zip(dates, daily.tolist(), strict=True):
        day_stamps, slots = _day_instants(d, tz, interval_minutes)
        wd = d.weekday()
        s = shares[wd, slots]
        weight = s / s.sum() if s.sum() > 0 else np.full(len(slots), 1.0 / len(slots))
        stamps.extend(day_stamps)
        volumes.append(total * weight)
        ahts.append(aht_table[wd, slots])
    return QueueForecast(
        timestamps=tuple(stamps),
        volumes=np.concatenate(volumes),
        aht_seconds=np.concatenate(ahts),
        dates=dates,
        daily_volumes=daily,
        params={**params, "horizon": {"start_date": start.isoformat(), "days": days}},
    )


def forecast_queue(
    history: IntervalHistory,
    *,
    horizon_days: int,
    config: ForecastConfig | None = None,
    start_date: date | None = None,
) -> QueueForecast:
    """Fit on ``history`` and forecast ``horizon_days`` local days (default: from the day after it).

    The returned ``params`` dict (plain JSON types) names the method and holds every fitted
    parameter; :func:`forecast_from_params` turns it back into the same numbers.
    """
    if not isinstance(history, IntervalHistory):
        raise ValueError("history must be an IntervalHistory")
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise ValueError("horizon_days must be an integer >= 1")
    params = _fit_params(history, config or ForecastConfig())
    return forecast_from_params(params, start_date=start_date, horizon_days=horizon_days)


def _subset(history: IntervalHistory, keep: NDArray[np.bool_]) -> IntervalHistory:
    idx = np.flatnonzero(keep)
    return IntervalHistory(
        time_zone=history.time_zone,
        interval_minutes=history.interval_minutes,
        timestamps=tuple(history.timestamps[i] for i in idx),
        offered=history.offered[idx],
        aht_seconds=history.aht_seconds[idx],
    )


def backtest(
    history: IntervalHistory, *, holdout_weeks: int, config: ForecastConfig | None = None
) -> BacktestResult:
    """Hold back the last ``holdout_weeks`` weeks, fit on the rest, score the hold-out by WAPE.

    Scored at interval level (local date × wall-clock interval) and daily level, over the
    hold-out days that were observed and not excluded.
    """
    if isinstance(holdout_weeks, bool) or not isinstance(holdout_weeks, int) or holdout_weeks < 1:
        raise ValueError("holdout_weeks must be an integer >= 1")
    config = config or ForecastConfig()
    grid = _grid(history)
    horizon = 7 * holdout_weeks
    cut = grid.days - horizon
    if cut < _MIN_DAYS:
        raise ValueError(f"history too short for a {holdout_weeks}-week hold-out")
    train = _subset(history, grid.record_day < cut)
    start = grid.date(cut)
    fc = forecast_queue(train, horizon_days=horizon, config=config, start_date=start)

    tz = _zone(history.time_zone)
    f_dates, f_slots = _local_slots(fc.timestamps, tz, history.interval_minutes)
    f_grid = np.zeros((horizon, grid.volume.shape[1]))
    rows = np.fromiter(((d - start).days for d in f_dates), dtype=np.int64, count=len(f_dates))
    np.add.at(f_grid, (rows, np.asarray(f_slots)), fc.volumes)

    actual = grid.volume[cut:]
    keep = grid.observed[cut:] & np.array(
        [grid.date(cut + i) not in config.exclude_dates for i in range(horizon)], dtype=bool
    )
    if not keep.any():
        raise ValueError("no usable hold-out day to score")
    return BacktestResult(
        holdout_weeks=holdout_weeks,
        holdout_start=start,
        holdout_end=grid.date(grid.days - 1),
        interval_wape=wape(actual[keep], f_grid[keep]),
        daily_wape=wape(actual[keep].sum(axis=1), f_grid[keep].sum(axis=1)),
        evaluated_days=int(keep.sum()),
        forecast=fc,
    )


# --------------------------------------------------------------------------------------------
# Synthetic history (demo data, tests, benchmarks)
# --------------------------------------------------------------------------------------------

_DEFAULT_WEEKLY = (1.30, 1.12, 1.05, 1.02, 0.98, 0.62, 0.48)  # Monday … Sunday


def _synthetic_shape(hours: FloatArray) -> FloatArray:
    """Intraday intensity: night trickle, morning peak ~10:30, afternoon peak ~15:00."""
    open_ = (hours >= 7.0) & (hours < 22.0)
    peaks = np.exp(-0.5 * ((hours - 10.5) / 1.5) ** 2) + 0.8 * np.exp(-0.5 * ((hours - 15.0) / 2.0) ** 2)
    return np.asarray(np.where(open_, 0.08 + peaks, 0.01), dtype=np.float64)


def synthetic_history(
    *,
    start: date,
    days: int,
    time_zone: str = "Europe/Berlin",
    interval_minutes: int = 15,
    seed: int = 0,
    mean_daily_volume: float = 5000.0,
    weekly_factors: Sequence[float] = _DEFAULT_WEEKLY,
    trend_per_week: float = 0.0,
    noise: str = "poisson",
    noise_sd: float = 0.1,
    aht_seconds: float = 300.0,
) -> SyntheticHistory:
    """Deterministic (per ``seed``) interval history with known seasonality plus noise.

    Daily mean = ``mean_daily_volume`` × weekday factor (Monday highest, weekend lowest) ×
    ``(1 + trend_per_week)^(weeks since start)``, spread over the day's real intervals with a
    two-peak intraday profile. ``noise="poisson"`` draws Poisson counts; ``"multiplicative"``
    multiplies the mean by a log-normal factor with standard deviation ``noise_sd`` (no
    rounding). AHT has an intraday and weekday pattern plus noise around ``aht_seconds``.
    """
    tz = _zone(time_zone)
    interval_minutes = _check_interval_minutes(interval_minutes)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError("days must be an integer >= 1")
    factors = np.asarray(weekly_factors, dtype=np.float64)
    if factors.shape != (7,) or (factors < 0).any():
        raise ValueError("weekly_factors must be 7 non-negative numbers (Monday first)")
    if mean_daily_volume < 0 or aht_seconds <= 0 or noise_sd < 0:
        raise ValueError("mean_daily_volume must be >= 0, aht_seconds > 0, noise_sd >= 0")
    if noise not in ("poisson", "multiplicative"):
        raise ValueError("noise must be 'poisson' or 'multiplicative'")
    rng = np.random.default_rng(seed)
    k = 1440 // interval_minutes
    slot_hours = np.asarray((np.arange(k) + 0.5) * interval_minutes / 60.0, dtype=np.float64)
    shape = _synthetic_shape(slot_hours)
    aht_shape = 1.0 + 0.12 * np.cos((slot_hours - 14.0) / 24.0 * 2 * math.pi)
    aht_weekday = np.array([1.05, 1.0, 1.0, 0.98, 0.97, 0.95, 0.95])

    stamps: list[datetime] = []
    means: list[FloatArray] = []
    aht_means: list[FloatArray] = []
    for i in range(days):
        d = start + timedelta(days=i)
        day_stamps, slots = _day_instants(d, tz, interval_minutes)
        s = shape[slots]
        level = mean_daily_volume * factors[d.weekday()] * (1.0 + trend_per_week) ** (i / 7.0)
        stamps.extend(day_stamps)
        means.append(level * s / s.sum())
        aht_means.append(aht_seconds * aht_shape[slots] * aht_weekday[d.weekday()])
    mean = np.concatenate(means)
    aht_mean = np.concatenate(aht_means)
    if noise == "poisson":
        offered = rng.poisson(mean).astype(np.float64)
    else:
        offered = mean * rng.lognormal(-0.5 * noise_sd**2, noise_sd, mean.size)
    aht = np.where(offered > 0, aht_mean * rng.lognormal(-0.5 * 0.05**2, 0.05, mean.size), 0.0)
    history = IntervalHistory(
        time_zone=time_zone,
        interval_minutes=interval_minutes,
        timestamps=tuple(stamps),
        offered=offered,
        aht_seconds=np.asarray(np.round(aht, 1), dtype=np.float64),
    )
    return SyntheticHistory(history=history, expected_volume=mean, expected_aht_seconds=aht_mean)
