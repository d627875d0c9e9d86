"""Requirements and what-if scenarios on a forecast: model choice, opening hours, plans and summaries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from cadre.chassis.errors import DomainError, ErrorKind, Violations
from cadre.scheduling.domain.forecasting import Forecast
from cadre.scheduling.domain.queue import OpeningHours, Queue, QueueSettings
from cadre.scheduling.domain.scenario import Scenario, check_scenario, evaluate_scenario, volume_weighted
from cadre.scheduling.domain.staffing import StaffingModel, choose_model, new_requirement

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
# 2026-11-30 is a Monday; midnight in Berlin is 23:00 UTC the day before.
MONDAY = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)


def _queue(**changes: object) -> Queue:
    fields: dict[str, object] = {
        "display_name": "Q",
        "service_level": 0.8,
        "answer_seconds": 20.0,
        "asa_target_seconds": 0.0,
        "max_occupancy": 0.0,
        "shrinkage": 0.3,
        "interval_minutes": 30,
        "time_zone": "Europe/Berlin",
        "opening_hours": (),
        "patience_seconds": 0.0,
    } | changes
    return Queue(id="q", settings=QueueSettings(**fields), created_at=NOW)  # type: ignore[arg-type]


def _forecast(volume: float = 100.0, aht: float = 180.0, intervals: int = 48) -> Forecast:
    return Forecast(
        id="f",
        queue_id="q",
        start_date=date(2026, 11, 30),
        days=1,
        method="test",
        parameters={},
        backtest=None,
        interval_starts=tuple(MONDAY + timedelta(minutes=30 * i) for i in range(intervals)),
        volumes=np.full(intervals, volume),
        aht_seconds=np.full(intervals, aht),
        created_at=NOW,
    )


def test_the_textbook_case_net_and_gross_of_shrinkage() -> None:
    requirement = new_requirement(
        requirement_id="r", queue=_queue(), forecast=_forecast(), requested_model=None, now=NOW
    )
    staffing = requirement.staffing
    assert requirement.model is StaffingModel.ERLANG_C
    assert staffing.agents.tolist() == [14] * 48
    assert staffing.scheduled_agents.tolist() == [20] * 48  # ceil(14 / 0.7)
    assert np.all((staffing.fractional_agents > 13) & (staffing.fractional_agents <= 14))
    assert staffing.achieved.service_level[0] == pytest.approx(0.8883, abs=1e-4)
    assert staffing.achieved.abandon_rate.tolist() == [0.0] * 48
    assert requirement.targets.patience_seconds == 0 and requirement.targets.shrinkage == 0.3


def test_erlang_a_is_chosen_where_patience_is_known() -> None:
    patient = _queue(patience_seconds=120.0)
    assert choose_model(None, patient) is StaffingModel.ERLANG_A
    assert choose_model(StaffingModel.ERLANG_C, patient) is StaffingModel.ERLANG_C
    assert choose_model(None, _queue()) is StaffingModel.ERLANG_C
    with pytest.raises(DomainError) as raised:
        choose_model(StaffingModel.ERLANG_A, _queue())
    assert (raised.value.kind, raised.value.reason) == (ErrorKind.FAILED_PRECONDITION, "PATIENCE_UNKNOWN")
    requirement = new_requirement(
        requirement_id="r", queue=patient, forecast=_forecast(), requested_model=None, now=NOW
    )
    assert requirement.targets.patience_seconds == 120.0
    assert requirement.staffing.agents[0] <= 14 and requirement.staffing.achieved.abandon_rate[0] > 0


def test_a_closed_queue_needs_nobody() -> None:
    weekdays_eight_to_eight = tuple(OpeningHours(day, 8 * 60, 20 * 60) for day in range(1, 6))
    queue = _queue(opening_hours=weekdays_eight_to_eight)
    requirement = new_requirement(
        requirement_id="r", queue=queue, forecast=_forecast(), requested_model=None, now=NOW
    )
    agents = requirement.staffing.agents.tolist()
    assert agents[:16] == [0] * 16 and agents[16:40] == [14] * 24 and agents[40:] == [0] * 8
    assert requirement.staffing.volumes[0] == 0 and requirement.staffing.achieved.service_level[0] == 1.0


def test_a_scenario_changes_volume_handle_time_and_target() -> None:
    base = evaluate_scenario(queue=_queue(), forecast=_forecast(), scenario=Scenario())
    assert base.intervals_below_target == 0 and base.required_agent_hours == 14 * 24
    busier = evaluate_scenario(queue=_queue(), forecast=_forecast(), scenario=Scenario(volume_change=0.1))
    assert busier.staffing.volumes[0] == pytest.approx(110) and busier.staffing.agents[0] > 14
    quieter = evaluate_scenario(queue=_queue(), forecast=_forecast(), scenario=Scenario(volume_change=-0.05))
    assert quieter.staffing.agents[0] <= 14
    slower = evaluate_scenario(
        queue=_queue(),
        forecast=_forecast(),
        scenario=Scenario(aht_seconds=300.0, service_level=0.9, answer_seconds=10.0),
    )
    assert slower.staffing.aht_seconds[0] == 300 and slower.achieved.service_level.min() >= 0.9


def test_a_plan_is_judged_against_the_target() -> None:
    plan = (13,) * 10 + (14,) * 30 + (0,) * 8
    outcome = evaluate_scenario(queue=_queue(), forecast=_forecast(), scenario=Scenario(planned_agents=plan))
    assert outcome.intervals_below_target == 18
    assert outcome.staffing.agents.tolist() == [14] * 48  # the requirement itself is unchanged
    sl = outcome.achieved.service_level
    assert sl[0] < 0.8 < sl[10] and sl[-1] == 0.0 and np.isinf(outcome.achieved.asa_seconds[-1])
    assert outcome.service_level == pytest.approx(sl.mean())
    with pytest.raises(DomainError) as raised:
        evaluate_scenario(queue=_queue(), forecast=_forecast(), scenario=Scenario(planned_agents=(14,)))
    assert raised.value.reason == "WRONG_LENGTH"


def test_scenario_fields_are_checked() -> None:
    violations = Violations()
    check_scenario(
        Scenario(
            volume_change=-1.0,
            aht_seconds=0.0,
            service_level=1.2,
            answer_seconds=-1.0,
            planned_agents=(1, -1),
        ),
        violations,
    )
    with pytest.raises(DomainError) as raised:
        violations.raise_if_any()
    assert [v.field for v in raised.value.violations] == [
        "volume_change",
        "aht_seconds",
        "service_level.fraction",
        "service_level.answer_seconds",
        "planned_agents[1]",
    ]


def test_a_plan_full_of_negatives_names_the_first_few() -> None:
    violations = Violations()
    check_scenario(Scenario(planned_agents=(-1,) * 2688), violations)
    with pytest.raises(DomainError) as raised:
        violations.raise_if_any()
    assert [v.field for v in raised.value.violations] == [f"planned_agents[{i}]" for i in range(10)]


def test_volume_weighting_counts_busy_intervals_more() -> None:
    assert volume_weighted(np.array([1.0, 0.5]), np.array([10.0, 30.0])) == pytest.approx(0.625)
    assert volume_weighted(np.array([0.2]), np.array([0.0])) == 1.0
