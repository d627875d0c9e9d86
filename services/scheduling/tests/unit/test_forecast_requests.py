"""What a forecast request may ask for, and what happens before and while the numbers are made."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from cadre.chassis.errors import DomainError, ErrorKind, Violations
from cadre.scheduling.domain.forecast import synthetic_history
from cadre.scheduling.domain.forecasting import (
    ForecastOptions,
    check_history,
    check_options,
    history_span_days,
    make_forecast,
)
from cadre.scheduling.domain.history import IntervalRecord
from cadre.scheduling.domain.queue import Queue, QueueSettings

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
QUEUE = Queue(
    id="q",
    settings=QueueSettings("Q", 0.8, 20.0, 0.0, 0.0, 0.0, 30, "America/New_York", (), 0.0),
    created_at=NOW,
)


def _records(days: int) -> list[IntervalRecord]:
    history = synthetic_history(
        start=date(2026, 8, 3), days=days, time_zone="America/New_York", interval_minutes=30, seed=5
    ).history
    return [
        IntervalRecord(t, int(v), int(v), 0, float(a))
        for t, v, a in zip(history.timestamps, history.offered, history.aht_seconds, strict=True)
    ]


def test_options_out_of_range_are_named() -> None:
    violations = Violations()
    check_options(ForecastOptions(days=0, holdout_weeks=-1, profile_weeks=60), violations)
    with pytest.raises(DomainError) as raised:
        violations.raise_if_any()
    assert [v.field for v in raised.value.violations] == ["days", "holdout_weeks", "profile_weeks"]


def test_history_span_is_counted_in_local_days() -> None:
    # 03:00 UTC is still the previous evening in New York.
    span = history_span_days(
        datetime(2026, 9, 1, 3, 0, tzinfo=UTC), datetime(2026, 9, 21, 12, 0, tzinfo=UTC), QUEUE
    )
    assert (span.first_day, span.last_day, span.days) == (date(2026, 8, 31), date(2026, 9, 21), 22)
    assert history_span_days(None, None, QUEUE).days == 0


def test_too_little_history_or_a_start_inside_it_is_refused_before_any_work() -> None:
    span = history_span_days(
        datetime(2026, 9, 1, 12, tzinfo=UTC), datetime(2026, 9, 28, 12, tzinfo=UTC), QUEUE
    )
    check_history(QUEUE, span, ForecastOptions(days=7, holdout_weeks=1))  # 28 days: enough
    with pytest.raises(DomainError) as raised:
        check_history(QUEUE, span, ForecastOptions(days=7, holdout_weeks=2))
    error = raised.value
    assert (error.kind, error.reason, error.metadata["days_needed"]) == (
        ErrorKind.FAILED_PRECONDITION,
        "NOT_ENOUGH_HISTORY",
        "35",
    )
    with pytest.raises(DomainError) as raised:
        check_history(QUEUE, span, ForecastOptions(days=7, start_date=date(2026, 9, 28)))
    assert (raised.value.kind, raised.value.reason) == (
        ErrorKind.INVALID_ARGUMENT,
        "START_DATE_WITHIN_HISTORY",
    )


def test_a_forecast_reports_progress_and_keeps_what_reproduces_it() -> None:
    records = _records(35)
    stages: list[tuple[int, str]] = []
    forecast = make_forecast(
        forecast_id="f",
        queue=QUEUE,
        records=records,
        options=ForecastOptions(days=7, holdout_weeks=1),
        now=NOW,
        progress=lambda percent, stage: stages.append((percent, stage)),
    )
    assert [p for p, _ in stages] == sorted(p for p, _ in stages) and stages[-1][0] == 90
    assert forecast.start_date == date(2026, 9, 7) and forecast.days == 7
    assert len(forecast.interval_starts) == 7 * 48 == forecast.volumes.size
    assert forecast.backtest is not None and forecast.backtest.holdout_weeks == 1
    assert forecast.parameters["horizon"] == {"start_date": "2026-09-07", "days": 7}
    assert forecast.method == forecast.parameters["method"]


def test_history_that_cannot_be_fitted_fails_as_a_precondition() -> None:
    records = _records(21)
    every_day_excluded = frozenset(date(2026, 8, 3 + i) for i in range(10))
    with pytest.raises(DomainError) as raised:
        make_forecast(
            forecast_id="f",
            queue=QUEUE,
            records=records,
            options=ForecastOptions(days=7, excluded_dates=every_day_excluded),
            now=NOW,
            progress=lambda percent, stage: None,
        )
    assert (raised.value.kind, raised.value.reason) == (ErrorKind.FAILED_PRECONDITION, "NOT_ENOUGH_HISTORY")
