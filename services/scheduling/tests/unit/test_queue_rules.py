"""Queue settings: validation as a whole, updates, versions and opening hours."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from cadre.chassis.errors import DomainError, ErrorKind
from cadre.scheduling.domain.queue import OpeningHours, QueueSettings, check_version, new_queue, update_queue

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
SETTINGS = QueueSettings(
    display_name=" Billing voice ",
    service_level=0.8,
    answer_seconds=20.0,
    asa_target_seconds=0.0,
    max_occupancy=0.85,
    shrinkage=0.3,
    interval_minutes=15,
    time_zone="Asia/Kolkata",
    opening_hours=(OpeningHours(2, 8 * 60, 20 * 60), OpeningHours(1, 8 * 60, 20 * 60)),
    patience_seconds=0.0,
)


def _fields(error: DomainError) -> dict[str, str]:
    return {v.field: v.reason for v in error.violations}


def test_a_new_queue_is_stored_normalized() -> None:
    queue = new_queue(queue_id="q", settings=SETTINGS, now=NOW)
    assert queue.settings.display_name == "Billing voice"
    assert [h.weekday for h in queue.settings.opening_hours] == [1, 2]
    assert queue.version == 1 and queue.interval_seconds == 900
    assert queue.targets.max_occupancy == 0.85 and queue.targets.asa_seconds is None


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"display_name": "  "}, "queue.display_name", "REQUIRED_FIELD_MISSING"),
        ({"display_name": "x" * 201}, "queue.display_name", "FIELD_TOO_LONG"),
        ({"service_level": 0.0}, "queue.service_level.fraction", "OUT_OF_RANGE"),
        ({"service_level": 1.0}, "queue.service_level.fraction", "OUT_OF_RANGE"),
        ({"service_level": math.nan}, "queue.service_level.fraction", "OUT_OF_RANGE"),
        ({"answer_seconds": 0.0}, "queue.service_level.answer_seconds", "OUT_OF_RANGE"),
        ({"asa_target_seconds": -1.0}, "queue.asa_target_seconds", "OUT_OF_RANGE"),
        ({"max_occupancy": 1.01}, "queue.max_occupancy", "OUT_OF_RANGE"),
        ({"shrinkage": 1.0}, "queue.shrinkage", "OUT_OF_RANGE"),
        ({"shrinkage": -0.1}, "queue.shrinkage", "OUT_OF_RANGE"),
        ({"interval_minutes": 60}, "queue.interval_minutes", "UNSUPPORTED_INTERVAL"),
        ({"time_zone": ""}, "queue.time_zone", "REQUIRED_FIELD_MISSING"),
        ({"time_zone": "Europe/Atlantis"}, "queue.time_zone", "UNKNOWN_TIME_ZONE"),
        ({"patience_seconds": math.inf}, "queue.patience_seconds", "OUT_OF_RANGE"),
        (
            {"opening_hours": (OpeningHours(0, 0, 60),)},
            "queue.opening_hours[0].day",
            "REQUIRED_FIELD_MISSING",
        ),
        ({"opening_hours": (OpeningHours(9, 0, 60),)}, "queue.opening_hours[0].day", "UNKNOWN_ENUM_VALUE"),
        ({"opening_hours": (OpeningHours(1, -1, 60),)}, "queue.opening_hours[0].open", "INVALID_TIME_OF_DAY"),
        (
            {"opening_hours": (OpeningHours(1, 0, 1441),)},
            "queue.opening_hours[0].close",
            "INVALID_TIME_OF_DAY",
        ),
        (
            {"opening_hours": (OpeningHours(1, 600, 600),)},
            "queue.opening_hours[0].close",
            "CLOSES_BEFORE_OPENING",
        ),
        (
            {"opening_hours": (OpeningHours(3, 480, 720), OpeningHours(3, 700, 900))},
            "queue.opening_hours[1]",
            "OVERLAPPING_OPENING_HOURS",
        ),
    ],
)
def test_each_bad_setting_is_named(changes: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(DomainError) as raised:
        new_queue(queue_id="q", settings=replace(SETTINGS, **changes), now=NOW)  # type: ignore[arg-type]
    assert raised.value.kind is ErrorKind.INVALID_ARGUMENT
    assert _fields(raised.value) == {field: reason}


def test_every_bad_setting_is_reported_at_once() -> None:
    bad = replace(SETTINGS, display_name="", shrinkage=2.0, interval_minutes=20)
    with pytest.raises(DomainError) as raised:
        new_queue(queue_id="q", settings=bad, now=NOW)
    assert set(_fields(raised.value)) == {"queue.display_name", "queue.shrinkage", "queue.interval_minutes"}


def test_midnight_closing_and_back_to_back_windows_are_fine() -> None:
    hours = (OpeningHours(5, 0, 12 * 60), OpeningHours(5, 12 * 60, 24 * 60))
    queue = new_queue(queue_id="q", settings=replace(SETTINGS, opening_hours=hours), now=NOW)
    zone = ZoneInfo("Asia/Kolkata")
    assert queue.is_open(datetime(2026, 11, 27, 23, 45, tzinfo=zone))  # a Friday
    assert not queue.is_open(datetime(2026, 11, 28, 0, 0, tzinfo=zone))  # Saturday: closed
    assert new_queue(queue_id="q", settings=replace(SETTINGS, opening_hours=()), now=NOW).is_open(
        datetime(2026, 11, 28, 3, 0, tzinfo=zone)
    )


def test_an_update_is_validated_whole_and_moves_the_version() -> None:
    queue = new_queue(queue_id="q", settings=SETTINGS, now=NOW)
    updated = update_queue(queue, changes={"shrinkage": 0.25}, has_history=True)
    assert updated.settings.shrinkage == 0.25 and updated.version == 2
    assert updated.settings.service_level == 0.8
    with pytest.raises(DomainError) as raised:
        update_queue(queue, changes={"answer_seconds": -3.0}, has_history=False)
    assert _fields(raised.value) == {"queue.service_level.answer_seconds": "OUT_OF_RANGE"}


def test_the_grid_changes_only_while_there_is_no_history() -> None:
    queue = new_queue(queue_id="q", settings=SETTINGS, now=NOW)
    assert (
        update_queue(queue, changes={"interval_minutes": 30}, has_history=False).settings.interval_minutes
        == 30
    )
    # Sending the current value again is no change.
    assert update_queue(queue, changes={"time_zone": "Asia/Kolkata"}, has_history=True).version == 2
    with pytest.raises(DomainError) as raised:
        update_queue(queue, changes={"time_zone": "Europe/Berlin"}, has_history=True)
    assert (raised.value.kind, raised.value.reason) == (ErrorKind.FAILED_PRECONDITION, "QUEUE_HAS_HISTORY")


def test_a_stale_version_is_aborted() -> None:
    queue = new_queue(queue_id="q", settings=SETTINGS, now=NOW)
    check_version(queue, None)
    check_version(queue, 1)
    with pytest.raises(DomainError) as raised:
        check_version(queue, 2)
    assert (raised.value.kind, raised.value.reason) == (ErrorKind.ABORTED, "ETAG_MISMATCH")
