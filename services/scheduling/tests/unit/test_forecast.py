"""Interval forecast: accuracy against the noise floor, reproducibility, DST, exclusions, validation."""

from __future__ import annotations

import itertools
import json
import warnings
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from cadre.scheduling.domain.forecast import (
    METHOD,
    ForecastConfig,
    IntervalHistory,
    backtest,
    forecast_from_params,
    forecast_queue,
    synthetic_history,
    wape,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def twenty_weeks():  # type: ignore[no-untyped-def]
    # 2025-01-06 is a Monday; 20 weeks run to 2025-05-25 and cross the spring-forward day (03-30).
    return synthetic_history(start=date(2025, 1, 6), days=140, seed=11)


def _local_dates(stamps: tuple[datetime, ...], tz: ZoneInfo = BERLIN) -> np.ndarray:
    return np.array([ts.astimezone(tz).date() for ts in stamps])


def test_backtest_wape_is_within_noise_floor(twenty_weeks) -> None:  # type: ignore[no-untyped-def]
    result = backtest(twenty_weeks.history, holdout_weeks=4)
    assert result.holdout_start == date(2025, 4, 28) and result.holdout_end == date(2025, 5, 25)
    assert result.evaluated_days == 28
    held = _local_dates(twenty_weeks.history.timestamps) >= result.holdout_start
    floor = wape(twenty_weeks.history.offered[held], twenty_weeks.expected_volume[held])
    assert 0 < floor < result.interval_wape <= 1.5 * floor
    expected_daily = twenty_weeks.expected_volume[held].reshape(28, -1).sum(axis=1)
    daily_floor = wape(twenty_weeks.history.offered[held].reshape(28, -1).sum(axis=1), expected_daily)
    assert result.daily_wape <= max(1.5 * daily_floor, 0.03)
    assert result.forecast.params["method"] == METHOD


def test_forecast_is_reproducible_from_its_parameters(twenty_weeks) -> None:  # type: ignore[no-untyped-def]
    fc = forecast_queue(twenty_weeks.history, horizon_days=14)
    params = json.loads(json.dumps(fc.params))  # plain JSON types only
    again = forecast_from_params(params)
    assert again.timestamps == fc.timestamps
    assert np.array_equal(again.volumes, fc.volumes)
    assert np.array_equal(again.aht_seconds, fc.aht_seconds)
    assert np.array_equal(again.daily_volumes, fc.daily_volumes)
    model = params["daily_model"]
    for key in ("smoothing_level", "smoothing_seasonal", "initial_level", "initial_seasons", "final_seasons"):
        assert model[key] is not None
    assert model["seasonal_periods"] == 7 and model["seasonal"] == "mul"
    # Extending the horizon regenerates the same first days.
    longer = forecast_from_params(params, horizon_days=21)
    assert np.array_equal(longer.volumes[: fc.volumes.size], fc.volumes)


@pytest.mark.parametrize(
    ("trend", "damped", "seasonal"),
    [(None, False, "mul"), (None, False, "add"), ("add", True, "mul"), ("add", False, "add")],
)
def test_own_recursion_matches_statsmodels(trend: str | None, damped: bool, seasonal: str) -> None:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    from cadre.scheduling.domain.forecast import _fit_daily, _hw_forecast, _hw_run

    rng = np.random.default_rng(3)
    y = (
        1000 * np.tile([1.3, 1.1, 1.05, 1.0, 0.95, 0.6, 0.5], 12) * rng.normal(1, 0.05, 84)
        + np.arange(84) * 2
    )
    model = _fit_daily(y, ForecastConfig(seasonal=seasonal, trend=trend, damped_trend=damped))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ExponentialSmoothing(
            y,
            trend=trend,
            damped_trend=damped,
            seasonal=seasonal,
            seasonal_periods=7,
            initialization_method="estimated",
        ).fit()
    fitted, *_ = _hw_run(y, model)
    np.testing.assert_allclose(fitted, res.fittedvalues, rtol=1e-9)
    np.testing.assert_allclose(_hw_forecast(model, range(1, 16)), res.forecast(15), rtol=1e-9)


def test_dst_days_keep_daily_totals(twenty_weeks) -> None:  # type: ignore[no-untyped-def]
    fc = forecast_queue(twenty_weeks.history, horizon_days=14, start_date=date(2025, 10, 20))
    local = _local_dates(fc.timestamps)
    per_day = {d: int((local == d).sum()) for d in fc.dates}
    assert per_day[date(2025, 10, 26)] == 100  # fall back: 25 hours
    assert per_day[date(2025, 10, 25)] == 96
    assert all(ts.tzinfo is not None for ts in fc.timestamps)
    instants = [ts.astimezone(UTC) for ts in fc.timestamps]
    assert all(b - a == timedelta(minutes=15) for a, b in itertools.pairwise(instants))
    for i, d in enumerate(fc.dates):
        assert fc.volumes[local == d].sum() == pytest.approx(fc.daily_volumes[i], rel=1e-12)
    spring = forecast_queue(twenty_weeks.history, horizon_days=2, start_date=date(2026, 3, 29))
    spring_local = _local_dates(spring.timestamps)
    assert int((spring_local == date(2026, 3, 29)).sum()) == 92  # spring forward: 23 hours
    assert spring.volumes[spring_local == date(2026, 3, 29)].sum() == pytest.approx(spring.daily_volumes[0])


def test_forecast_shape_follows_the_history(twenty_weeks) -> None:  # type: ignore[no-untyped-def]
    fc = forecast_queue(twenty_weeks.history, horizon_days=7)
    assert fc.dates[0] == date(2025, 5, 26)  # the Monday after the history
    daily = dict(zip([d.weekday() for d in fc.dates], fc.daily_volumes, strict=True))
    assert max(daily, key=daily.__getitem__) == 0 and min(daily, key=daily.__getitem__) == 6
    monday = fc.volumes[:96]
    hours = np.arange(96) / 4
    morning, afternoon = (
        hours[np.argmax(np.where(hours < 13, monday, 0))],
        hours[np.argmax(np.where(hours >= 13, monday, 0))],
    )
    assert 9.5 <= morning <= 11.5 and 14 <= afternoon <= 16
    # AHT per weekday × interval close to the generator's true mean where there is traffic.
    true = synthetic_history(start=date(2025, 5, 26), days=7, seed=0).expected_aht_seconds
    busy = fc.volumes > 20
    assert np.mean(np.abs(fc.aht_seconds[busy] / true[busy] - 1)) < 0.03


def test_excluded_dates_do_not_distort_the_forecast(twenty_weeks) -> None:  # type: ignore[no-untyped-def]
    h = twenty_weeks.history
    spike_day = date(2025, 5, 19)  # a Monday in the last week
    spiked = h.offered.copy()
    spiked[_local_dates(h.timestamps) == spike_day] *= 6
    noisy = IntervalHistory(h.time_zone, h.interval_minutes, h.timestamps, spiked, h.aht_seconds)
    clean_fc = forecast_queue(h, horizon_days=7, config=ForecastConfig(exclude_dates=frozenset({spike_day})))
    spiked_fc = forecast_queue(noisy, horizon_days=7)
    fixed_fc = forecast_queue(
        noisy, horizon_days=7, config=ForecastConfig(exclude_dates=frozenset({spike_day}))
    )
    assert fixed_fc.params["history"]["imputed_dates"] == [spike_day.isoformat()]
    assert np.allclose(fixed_fc.volumes, clean_fc.volumes)
    assert wape(clean_fc.volumes, fixed_fc.volumes) < wape(clean_fc.volumes, spiked_fc.volumes)


def test_closed_weekday_falls_back_to_additive_seasonality() -> None:
    syn = synthetic_history(
        start=date(2025, 1, 6), days=56, seed=2, weekly_factors=(1.2, 1.1, 1.0, 1.0, 0.9, 0.5, 0.0)
    )
    fc = forecast_queue(syn.history, horizon_days=7)
    assert fc.params["daily_model"]["seasonal"] == "add"
    assert (fc.volumes >= 0).all()
    sunday = next(i for i, d in enumerate(fc.dates) if d.weekday() == 6)
    assert fc.daily_volumes[sunday] < 0.05 * fc.daily_volumes.max()


def test_synthetic_history_is_deterministic_and_seasonal() -> None:
    a = synthetic_history(start=date(2025, 3, 24), days=14, time_zone="America/New_York", seed=5)
    b = synthetic_history(start=date(2025, 3, 24), days=14, time_zone="America/New_York", seed=5)
    c = synthetic_history(start=date(2025, 3, 24), days=14, time_zone="America/New_York", seed=6)
    assert np.array_equal(a.history.offered, b.history.offered)
    assert not np.array_equal(a.history.offered, c.history.offered)
    assert all(ts.tzinfo is not None for ts in a.history.timestamps)
    ny = ZoneInfo("America/New_York")
    local = _local_dates(a.history.timestamps, ny)
    daily = {d: a.expected_volume[local == d].sum() for d in sorted(set(local))}
    by_weekday = {d.weekday(): v for d, v in daily.items()}
    assert (
        max(by_weekday, key=by_weekday.__getitem__) == 0 and min(by_weekday, key=by_weekday.__getitem__) == 6
    )
    assert len(a.history.timestamps) == 14 * 96


def test_wape() -> None:
    assert wape([10, 20, 30], [12, 18, 30]) == pytest.approx(4 / 60)
    with pytest.raises(ValueError, match="zero"):
        wape([0, 0], [1, 1])
    with pytest.raises(ValueError, match="shape"):
        wape([1, 2], [1])


def test_bad_input_raises_value_error(twenty_weeks) -> None:  # type: ignore[no-untyped-def]
    h = twenty_weeks.history
    naive = (datetime(2025, 1, 6, 9, 0),)
    with pytest.raises(ValueError, match="timezone-aware"):
        IntervalHistory("Europe/Berlin", 15, naive, np.array([1.0]), np.array([100.0]))
    odd = (datetime(2025, 1, 6, 9, 7, tzinfo=BERLIN),)
    with pytest.raises(ValueError, match="interval grid"):
        forecast_queue(
            IntervalHistory("Europe/Berlin", 15, odd, np.array([1.0]), np.array([100.0])), horizon_days=1
        )
    with pytest.raises(ValueError, match="offered"):
        IntervalHistory("Europe/Berlin", 15, h.timestamps[:1], np.array([-1.0]), np.array([100.0]))
    with pytest.raises(ValueError, match="aht_seconds"):
        IntervalHistory("Europe/Berlin", 15, h.timestamps[:1], np.array([3.0]), np.array([0.0]))
    with pytest.raises(ValueError, match="same length"):
        IntervalHistory("Europe/Berlin", 15, h.timestamps[:2], np.array([3.0]), np.array([100.0]))
    with pytest.raises(ValueError, match="time zone"):
        IntervalHistory("Mars/Olympus", 15, h.timestamps[:1], np.array([3.0]), np.array([100.0]))
    with pytest.raises(ValueError, match="interval_minutes"):
        IntervalHistory("Europe/Berlin", 7, h.timestamps[:1], np.array([3.0]), np.array([100.0]))
    short = IntervalHistory(
        h.time_zone, 15, h.timestamps[: 96 * 10], h.offered[: 96 * 10], h.aht_seconds[: 96 * 10]
    )
    with pytest.raises(ValueError, match="at least"):
        forecast_queue(short, horizon_days=7)
    with pytest.raises(ValueError, match="horizon_days"):
        forecast_queue(h, horizon_days=0)
    with pytest.raises(ValueError, match="after the last history date"):
        forecast_queue(h, horizon_days=1, start_date=date(2025, 5, 1))
    with pytest.raises(ValueError, match="holdout"):
        backtest(h, holdout_weeks=0)
    with pytest.raises(ValueError, match="seasonal"):
        ForecastConfig(seasonal="multiplicative")
    with pytest.raises(ValueError, match="method"):
        forecast_from_params({"method": "naive"})
