"""Making a queue's forecast: what may be asked, whether the history suffices, and the result kept.

The numbers come from `forecast.py` (Holt–Winters daily volume × weekday intraday profile);
this module decides what a request may ask for, checks the history before any work starts,
runs the backtest and the forecast, and shapes the stored `Forecast` with everything needed
to reproduce it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cadre.chassis.errors import Violations, failed_precondition, invalid_field
from cadre.scheduling.domain import forecast as method
from cadre.scheduling.domain.history import IntervalRecord, interval_history
from cadre.scheduling.domain.queue import Queue

MAX_HORIZON_DAYS = 366
MAX_WEEKS = 52
DEFAULT_PROFILE_WEEKS = 8
# What forecast.py needs to fit weekly seasonality (three weeks), before any held-back weeks.
MIN_HISTORY_DAYS = 21

Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class ForecastOptions:
    """What a caller asks for. `start_date` None: the day after the last day of history."""

    days: int
    start_date: date | None = None
    holdout_weeks: int = 0
    profile_weeks: int = DEFAULT_PROFILE_WEEKS
    excluded_dates: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Backtest:
    holdout_weeks: int
    interval_wape: float
    daily_wape: float


@dataclass(frozen=True, eq=False)
class Forecast:
    """Expected volume and AHT per interval of a horizon, with the parameters that reproduce it."""

    id: str
    queue_id: str
    start_date: date
    days: int
    method: str
    parameters: dict[str, Any]  # plain JSON types: forecast.forecast_from_params rebuilds the numbers
    backtest: Backtest | None
    interval_starts: tuple[datetime, ...]
    volumes: NDArray[np.float64]
    aht_seconds: NDArray[np.float64]
    created_at: datetime


@dataclass(frozen=True)
class HistorySpan:
    """The local days a queue's history covers (None when it has none)."""

    first_day: date | None
    last_day: date | None

    @property
    def days(self) -> int:
        if self.first_day is None or self.last_day is None:
            return 0
        return (self.last_day - self.first_day).days + 1


def check_options(options: ForecastOptions, violations: Violations) -> None:
    if not 1 <= options.days <= MAX_HORIZON_DAYS:
        violations.add("days", "OUT_OF_RANGE", f"must be from 1 to {MAX_HORIZON_DAYS}")
    if not 0 <= options.holdout_weeks <= MAX_WEEKS:
        violations.add("holdout_weeks", "OUT_OF_RANGE", f"must be from 0 (no backtest) to {MAX_WEEKS}")
    if not 1 <= options.profile_weeks <= MAX_WEEKS:
        violations.add("profile_weeks", "OUT_OF_RANGE", f"must be from 0 (meaning 8) to {MAX_WEEKS}")


def check_history(queue: Queue, span: HistorySpan, options: ForecastOptions) -> None:
    """Refuses at once what could only fail later: too little history, a start inside it."""
    needed = MIN_HISTORY_DAYS + 7 * options.holdout_weeks
    if span.days < needed:
        held = f" plus {options.holdout_weeks} held-back weeks" if options.holdout_weeks else ""
        raise failed_precondition(
            "NOT_ENOUGH_HISTORY",
            f"a forecast needs {MIN_HISTORY_DAYS} days of history{held} ({needed} days); "
            f"the queue has {span.days}",
            queue=queue.id,
            days_needed=str(needed),
            days_available=str(span.days),
        )
    assert span.last_day is not None
    if options.start_date is not None and options.start_date <= span.last_day:
        raise invalid_field(
            "start_date",
            "START_DATE_WITHIN_HISTORY",
            f"must be after the last day of history, {span.last_day.isoformat()}",
        )


def make_forecast(
    *,
    forecast_id: str,
    queue: Queue,
    records: Sequence[IntervalRecord],
    options: ForecastOptions,
    now: datetime,
    progress: Progress,
) -> Forecast:
    """Backtest (when weeks are held back), then fit on all the history and forecast the horizon."""
    history = interval_history(queue, records)
    config = method.ForecastConfig(profile_weeks=options.profile_weeks, exclude_dates=options.excluded_dates)
    backtest = None
    try:
        if options.holdout_weeks:
            progress(10, f"backtesting on the last {options.holdout_weeks} weeks")
            result = method.backtest(history, holdout_weeks=options.holdout_weeks, config=config)
            backtest = Backtest(options.holdout_weeks, result.interval_wape, result.daily_wape)
        progress(50, "fitting the daily model and the intraday profile")
        fitted = method.forecast_queue(
            history, horizon_days=options.days, config=config, start_date=options.start_date
        )
    except ValueError as error:
        # The history passed check_history, so what remains is its content (e.g. too many
        # excluded or empty days): a state the caller must change, not a bad request.
        raise failed_precondition("NOT_ENOUGH_HISTORY", f"cannot forecast this history: {error}") from None
    progress(90, "storing the forecast")
    return Forecast(
        id=forecast_id,
        queue_id=queue.id,
        start_date=fitted.dates[0],
        days=len(fitted.dates),
        method=str(fitted.params["method"]),
        parameters=fitted.params,
        backtest=backtest,
        interval_starts=fitted.timestamps,
        volumes=fitted.volumes,
        aht_seconds=fitted.aht_seconds,
        created_at=now,
    )


def history_span_days(first: datetime | None, last: datetime | None, queue: Queue) -> HistorySpan:
    """The local calendar days between the first and the last recorded interval."""
    if first is None or last is None:
        return HistorySpan(None, None)
    zone = queue.zone
    return HistorySpan(first.astimezone(zone).date(), last.astimezone(zone).date())
