"""A realistic synthetic rostering problem, for tests, the benchmark and demos.

One week (or more) from a Monday in Europe/Berlin, 15-minute intervals, queues open 07:00–22:00
with a two-peak intraday curve; the requirement is Erlang C gross agents (80/20, 30% shrinkage)
of a volume scaled to the roster's capacity. Full-timers (8–9 h shifts, 37.5–42.5 paid hours a week) and
part-timers (4–6 h shifts, 20–30 h, some with limited availability); 60% answer queue 1 only,
20% queue 2 only, 20% both; a few on leave or in training; everyone has a previous week whose
last shifts end late on Sunday for some, so rest and consecutive days cross the boundary.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from cadre.scheduling.domain.rostering.problem import (
    ActivityKind,
    AvailabilityWindow,
    BlockedTime,
    BlockKind,
    BreakRule,
    Contract,
    Employee,
    Horizon,
    Preferences,
    PreviousShift,
    QueueLoad,
    QueueRequirement,
    RosteringProblem,
    ShiftTemplate,
)
from cadre.staffing.erlang import QueueTargets, apply_shrinkage, required_agents

MONDAY = date(2026, 11, 30)
ZONE = "Europe/Berlin"
FULL_TIME = "FULL_TIME"
PART_TIME = "PART_TIME"


def _breaks(length_minutes: int) -> tuple[BreakRule, ...]:
    if length_minutes >= 480:
        return (
            BreakRule(ActivityKind.BREAK, 15, 90, 150),
            BreakRule(ActivityKind.LUNCH, 30, 210, 300, paid=False),
            BreakRule(ActivityKind.BREAK, 15, 345, length_minutes - 60),
        )
    if length_minutes >= 360:
        return (BreakRule(ActivityKind.BREAK, 15, 120, 210),)
    return (BreakRule(ActivityKind.BREAK, 15, 90, 150),)


def standard_templates(*, shapes_per_template: int = 3, step_minutes: int = 60) -> tuple[ShiftTemplate, ...]:
    """Templates whose start windows together give about 40 (template, start) shapes a day."""
    templates: list[ShiftTemplate] = []
    spans: tuple[tuple[str, int, int, int, frozenset[str]], ...] = (
        ("early-8h", 480, 6 * 60, 10 * 60, frozenset({FULL_TIME})),
        ("late-8h", 480, 11 * 60, 14 * 60, frozenset({FULL_TIME})),
        ("day-9h", 540, 7 * 60, 12 * 60, frozenset({FULL_TIME})),
        ("part-6h", 360, 7 * 60, 16 * 60, frozenset()),
        ("part-4h", 240, 8 * 60, 18 * 60, frozenset()),
    )
    for name, length, first, last, types in spans:
        starts = list(range(first, last + 1, step_minutes))
        for i in range(0, len(starts), shapes_per_template):
            chunk = starts[i : i + shapes_per_template]
            templates.append(
                ShiftTemplate(
                    id=f"{name}-{chunk[0] // 60:02d}{chunk[0] % 60:02d}",
                    earliest_start_minute=chunk[0],
                    latest_start_minute=chunk[-1],
                    start_step_minutes=step_minutes,
                    length_minutes=length,
                    breaks=_breaks(length),
                    employment_types=types,
                )
            )
    return tuple(templates)


def intraday_volume(days: int, peak: float, seed: int, interval_minutes: int = 15) -> np.ndarray:
    rng = np.random.default_rng(seed)
    per_day = 1440 // interval_minutes
    hours = (np.arange(days * per_day) % per_day) * interval_minutes / 60.0
    curve = np.exp(-0.5 * ((hours - 10.5) / 1.8) ** 2) + 0.85 * np.exp(-0.5 * ((hours - 16.0) / 2.4) ** 2)
    open_hours = (hours >= 7.0) & (hours < 22.0)
    weekday = np.array(
        [(MONDAY + timedelta(days=int(i // per_day))).weekday() for i in range(days * per_day)]
    )
    day_factor = np.array([1.0, 0.95, 0.92, 0.9, 0.88, 0.55, 0.45])[weekday]
    shape = curve * day_factor * open_hours
    shape = shape / shape.max()
    noise = rng.uniform(0.9, 1.1, days * per_day)
    volume: np.ndarray = np.round(peak * shape * noise) * open_hours
    return volume


def synthetic_problem(
    employees: int = 40,
    *,
    days: int = 7,
    queues: int = 2,
    seed: int = 1,
    load_factor: float = 0.9,
    templates: tuple[ShiftTemplate, ...] | None = None,
    with_leave: bool = True,
    with_previous_week: bool = True,
) -> RosteringProblem:
    rng = np.random.default_rng(seed)
    horizon = Horizon(first_day=MONDAY, days=days, time_zone=ZONE)
    zone = ZoneInfo(ZONE)
    templates = templates if templates is not None else standard_templates()
    queue_ids = [f"queue-{i + 1}" for i in range(queues)]

    staff: list[Employee] = []
    for i in range(employees):
        full_time = rng.random() < 0.7
        roll = rng.random()
        if queues == 1 or roll < 0.6:
            skills = frozenset({queue_ids[0]})
        elif roll < 0.8:
            skills = frozenset({queue_ids[1]})
        else:
            skills = frozenset(queue_ids)
        if full_time:
            contract = Contract(2250, 2550, 5, 6, 660, 600)
            availability = None
        else:
            contract = Contract(960, 1800, 5, 6, 660, 480)
            shape = rng.integers(0, 3)
            if shape == 0:
                availability = None
            elif shape == 1:  # mornings, weekdays only
                availability = tuple(AvailabilityWindow(w, 6 * 60, 15 * 60) for w in range(5))
            else:  # afternoons and evenings, any day
                availability = tuple(AvailabilityWindow(w, 12 * 60, 23 * 60) for w in range(7))
        blocked: list[BlockedTime] = []
        if with_leave and rng.random() < 0.05:
            d = int(rng.integers(0, days))
            start = datetime.combine(horizon.day(d), datetime.min.time(), tzinfo=zone)
            blocked.append(
                BlockedTime(start, start + timedelta(days=int(rng.integers(1, 3))), BlockKind.LEAVE)
            )
        if with_leave and rng.random() < 0.05:
            d = int(rng.integers(0, days))
            start = datetime.combine(horizon.day(d), datetime.min.time(), tzinfo=zone) + timedelta(hours=13)
            blocked.append(BlockedTime(start, start + timedelta(hours=2), BlockKind.TRAINING))
        previous: list[PreviousShift] = []
        if with_previous_week:
            late = rng.random() < 0.3
            worked = [0, 1, 2, 3, 4] if not late else [2, 3, 4, 5, 6]
            for w in worked:
                day = MONDAY - timedelta(days=7 - w)
                hour = 14 if late else 8
                start = datetime.combine(day, datetime.min.time(), tzinfo=zone) + timedelta(hours=hour)
                previous.append(PreviousShift(start, start + timedelta(hours=8)))
        preferences = (
            Preferences(days_off=frozenset({int(rng.integers(0, 7))}))
            if rng.random() < 0.3
            else Preferences()
        )
        staff.append(
            Employee(
                id=f"emp-{i:05d}",
                employment_type=FULL_TIME if full_time else PART_TIME,
                contract=contract,
                queues=skills,
                availability=availability,
                blocked=tuple(blocked),
                previous_shifts=tuple(previous),
                preferences=preferences,
            )
        )

    # Scale each queue's volume so the requirement uses about load_factor of the paid capacity.
    capacity_intervals = sum(e.contract.min_minutes_per_week for e in staff) / 15 * (days / 7)
    shares = [sum(1 / len(e.queues) for e in staff if q in e.queues) for q in queue_ids]
    targets = QueueTargets(service_level=0.8, answer_seconds=20.0)
    requirements: list[QueueRequirement] = []
    for q, queue_id in enumerate(queue_ids):
        budget = capacity_intervals * load_factor * shares[q] / max(1.0, float(sum(shares)))
        aht = np.round(rng.uniform(240, 360, horizon.intervals), 1)
        base = intraday_volume(days, 100.0, seed + q)
        scale = 1.0
        for _ in range(30):  # a few Erlang evaluations to hit the budget
            volume = np.round(base * scale)
            gross = apply_shrinkage(required_agents(volume, aht, 900, targets), 0.3)
            total = float(gross.sum())
            if total <= 0:
                break
            scale *= (budget / total) ** 0.9
            if abs(total - budget) < 0.02 * budget:
                break
        requirements.append(
            QueueRequirement(
                queue_id=queue_id,
                required=tuple(int(v) for v in gross),
                load=QueueLoad(
                    volume=tuple(float(v) for v in volume),
                    aht_seconds=tuple(float(v) for v in aht),
                    targets=targets,
                    shrinkage=0.3,
                ),
            )
        )
    return RosteringProblem(
        horizon=horizon, requirements=tuple(requirements), templates=templates, employees=tuple(staff)
    )
