"""The rostering engine's contract: what a schedule-generation request says, and what it answers.

Plain frozen dataclasses, no I/O. The scheduling service builds a :class:`RosteringProblem`
from its projections (roster employees, shift templates, the staffing requirement, approved
leave, training sessions, the previous published week) and calls
:func:`cadre.scheduling.domain.rostering.generate_schedule`; the answer is a
:class:`ScheduleResult` it can store and publish as it is.

Time model
    The horizon is ``days`` local calendar days from ``first_day`` in ``time_zone``, cut into
    intervals of ``interval_minutes`` (15) *wall-clock* minutes: day ``d`` has
    ``1440 / interval_minutes`` intervals whatever the DST change that day, and interval ``i``
    of the horizon is day ``i // per_day``, minute ``(i % per_day) * interval_minutes``.
    Requirements are given per interval in that order. Shift starts, break offsets and lengths
    are multiples of ``interval_minutes``. A shift starting at wall minute ``m`` of day ``d``
    lasts ``length_minutes`` of *real* time (so a night shift over a DST change is still 8 h),
    and rest between shifts is measured in real time. Blocked time and previous shifts are
    tz-aware datetimes in any zone.

Weeks
    Weekly contract rules apply to the 7-day blocks ``[first_day + 7k, first_day + 7k + 7)``.
    A trailing block shorter than 7 days gets the minimum weekly minutes pro rata (rounded
    down) and the other weekly limits unchanged. Each day wholly blocked (leave, a sick call,
    training) lowers that week's minimum by ``min_minutes_per_week / max_working_days_per_week``.

Queues
    Each shift is worked on one queue (``Assignment.queue_id``), chosen among the employee's
    skills; a multi-skilled employee may answer different queues on different days.

Rules the engine never breaks (an infeasible request is answered with a schedule that keeps
all of them except ``MIN_WEEKLY_MINUTES``, which is the one rule that can be impossible, and
the breaches are listed): one shift per employee per day and no overlap, skills for the
queue, employment types of the template, maximum shift length, availability, blocked time
(leave, training, other), minimum rest (also after the previous week's shifts), maximum
consecutive working days (also counting the previous week), maximum working days and
maximum paid minutes per week, breaks and lunch inside their windows.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cadre.chassis.errors import invalid_field
from cadre.staffing.erlang import QueueTargets

MINUTES_PER_DAY = 1440

__all__ = [
    "ActivityKind",
    "Assignment",
    "AvailabilityException",
    "AvailabilityWindow",
    "BlockKind",
    "BlockedTime",
    "BreakRule",
    "Contract",
    "Employee",
    "ExistingAssignment",
    "ExistingSchedule",
    "Fairness",
    "Horizon",
    "Method",
    "ObjectiveWeights",
    "PlacedActivity",
    "Preferences",
    "PreviousShift",
    "Progress",
    "QueueCoverage",
    "QueueLoad",
    "QueueRequirement",
    "RosteringProblem",
    "Rule",
    "RuleBreach",
    "ScheduleResult",
    "ShiftTemplate",
    "ShortInterval",
    "SolveParameters",
    "SolveStatus",
    "Violation",
]


def _bad(field_path: str, description: str) -> Exception:
    return invalid_field(field_path, "INVALID_ROSTERING_PROBLEM", description)


# --------------------------------------------------------------------------------------------
# Horizon and requirement
# --------------------------------------------------------------------------------------------


@functools.cache
def _weeks(days: int) -> tuple[range, ...]:
    return tuple(range(start, min(start + 7, days)) for start in range(0, days, 7))


@dataclass(frozen=True)
class Horizon:
    """The days to schedule: ``days`` local days from ``first_day`` in the IANA ``time_zone``."""

    first_day: date
    days: int
    time_zone: str
    interval_minutes: int = 15

    def __post_init__(self) -> None:
        if self.days < 1 or self.days > 62:
            raise _bad("horizon.days", "must be between 1 and 62")
        if self.interval_minutes <= 0 or MINUTES_PER_DAY % self.interval_minutes:
            raise _bad("horizon.interval_minutes", "must divide a day (15 for quarter hours)")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise _bad("horizon.time_zone", f"unknown IANA time zone {self.time_zone!r}") from None

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def intervals_per_day(self) -> int:
        return MINUTES_PER_DAY // self.interval_minutes

    @property
    def intervals(self) -> int:
        return self.days * self.intervals_per_day

    def day(self, index: int) -> date:
        return self.first_day + timedelta(days=index)

    def local(self, day_index: int, minute: int) -> datetime:
        """The aware datetime ``minute`` wall minutes (maybe > 1440) after day ``day_index``'s midnight."""
        extra_days, minute_of_day = divmod(minute, MINUTES_PER_DAY)
        day = self.day(day_index + extra_days)
        return datetime(day.year, day.month, day.day, tzinfo=self.zone) + timedelta(minutes=minute_of_day)

    def interval_start(self, index: int) -> datetime:
        day, slot = divmod(index, self.intervals_per_day)
        return self.local(day, slot * self.interval_minutes)

    @cached_property
    def start_utc(self) -> datetime:
        return self.local(0, 0).astimezone(UTC)

    def real_minutes(self, moment: datetime) -> int:
        """Real minutes from the horizon's first local midnight to ``moment`` (floored)."""
        if moment.tzinfo is None:
            raise _bad("datetime", "times must be timezone-aware")
        return int((moment.astimezone(UTC) - self.start_utc).total_seconds() // 60)

    def weeks(self) -> tuple[range, ...]:
        """Day indices of each weekly block (the last may be shorter)."""
        return _weeks(self.days)


@dataclass(frozen=True)
class QueueLoad:
    """Forecast load behind a requirement, to project service level from the scheduled agents.

    ``volume`` contacts and ``aht_seconds`` per interval (same length as the requirement);
    ``shrinkage`` is the share of scheduled (gross) agents not on the queue.
    """

    volume: tuple[float, ...]
    aht_seconds: tuple[float, ...]
    targets: QueueTargets = field(default_factory=QueueTargets)
    shrinkage: float = 0.0


@dataclass(frozen=True)
class QueueRequirement:
    """Agents needed (gross, on shift and not on break) per interval of the horizon for one queue."""

    queue_id: str
    required: tuple[int, ...]
    load: QueueLoad | None = None


# --------------------------------------------------------------------------------------------
# Shift templates
# --------------------------------------------------------------------------------------------


class ActivityKind(enum.Enum):
    BREAK = "BREAK"
    LUNCH = "LUNCH"


@dataclass(frozen=True)
class BreakRule:
    """One break or lunch of a shift: ``length_minutes`` starting between the two offsets from shift start.

    Within a template, breaks are listed in time order and their windows do not overlap
    (each break's latest end is at or before the next one's earliest start).
    """

    kind: ActivityKind
    length_minutes: int
    earliest_offset_minutes: int
    latest_offset_minutes: int
    paid: bool = True


@dataclass(frozen=True)
class ShiftTemplate:
    """A kind of shift: starts between ``earliest_start_minute`` and ``latest_start_minute`` (wall minutes
    of the start day, every ``start_step_minutes``), lasts ``length_minutes`` including breaks.

    ``employment_types`` empty means anyone may work it.
    """

    id: str
    earliest_start_minute: int
    latest_start_minute: int
    start_step_minutes: int
    length_minutes: int
    breaks: tuple[BreakRule, ...] = ()
    employment_types: frozenset[str] = frozenset()

    @property
    def paid_minutes(self) -> int:
        return self.length_minutes - sum(b.length_minutes for b in self.breaks if not b.paid)

    @property
    def starts(self) -> range:
        return range(self.earliest_start_minute, self.latest_start_minute + 1, self.start_step_minutes)

    def check(self, interval_minutes: int, index: int) -> None:
        path = f"templates[{index}]"
        if not 0 <= self.earliest_start_minute <= self.latest_start_minute < MINUTES_PER_DAY:
            raise _bad(
                f"{path}.earliest_start_minute", "start window must lie within the day, earliest <= latest"
            )
        if self.start_step_minutes <= 0 or self.start_step_minutes % interval_minutes:
            raise _bad(f"{path}.start_step_minutes", f"must be a positive multiple of {interval_minutes}")
        for name in ("earliest_start_minute", "latest_start_minute", "length_minutes"):
            if getattr(self, name) % interval_minutes:
                raise _bad(f"{path}.{name}", f"must be a multiple of {interval_minutes}")
        if not 0 < self.length_minutes <= MINUTES_PER_DAY:
            raise _bad(f"{path}.length_minutes", "must be between one interval and 24 hours")
        previous_end = 0
        for k, rule in enumerate(self.breaks):
            bpath = f"{path}.breaks[{k}]"
            values = (rule.length_minutes, rule.earliest_offset_minutes, rule.latest_offset_minutes)
            if any(v % interval_minutes for v in values) or rule.length_minutes <= 0:
                raise _bad(bpath, f"length and offsets must be positive multiples of {interval_minutes}")
            if (
                rule.earliest_offset_minutes < previous_end
                or rule.latest_offset_minutes < rule.earliest_offset_minutes
            ):
                raise _bad(bpath, "break windows must be in order, not overlap, and earliest <= latest")
            previous_end = rule.latest_offset_minutes + rule.length_minutes
            if previous_end > self.length_minutes:
                raise _bad(bpath, "break must end within the shift")


# --------------------------------------------------------------------------------------------
# Employees
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contract:
    """Working-time rules of one employee. Minutes are paid minutes (unpaid lunch excluded)."""

    min_minutes_per_week: int = 0
    max_minutes_per_week: int = 2400
    max_working_days_per_week: int = 5
    max_consecutive_days: int = 6
    min_rest_minutes: int = 660
    max_shift_minutes: int = 600

    @property
    def min_days_off_per_week(self) -> int:
        return 7 - self.max_working_days_per_week


@dataclass(frozen=True)
class AvailabilityWindow:
    """On ``weekday`` (0 = Monday) the employee may work from ``start_minute`` to ``end_minute``
    (wall minutes of that day; ``end_minute`` up to 2880 lets a night shift run past midnight)."""

    weekday: int
    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class AvailabilityException:
    """On ``day`` the employee's windows are these instead of the weekday ones (empty = not available)."""

    day: date
    windows: tuple[tuple[int, int], ...] = ()


class BlockKind(enum.Enum):
    LEAVE = "LEAVE"
    TRAINING = "TRAINING"
    OTHER = "OTHER"


@dataclass(frozen=True)
class BlockedTime:
    """Time the employee cannot be scheduled (approved leave, a training session, a sick call...)."""

    start: datetime
    end: datetime
    kind: BlockKind = BlockKind.OTHER
    reference: str = ""


@dataclass(frozen=True)
class PreviousShift:
    """A shift of the previous published schedule (for rest and consecutive days across the boundary)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Preferences:
    """Soft wishes, honoured when coverage and cost allow: weekdays off (0 = Monday) and a start range."""

    days_off: frozenset[int] = frozenset()
    earliest_start_minute: int | None = None
    latest_start_minute: int | None = None


@dataclass(frozen=True)
class Employee:
    """One schedulable person. ``availability`` ``None`` = available any time; ``()`` = never."""

    id: str
    employment_type: str
    contract: Contract
    queues: frozenset[str]
    availability: tuple[AvailabilityWindow, ...] | None = None
    availability_exceptions: tuple[AvailabilityException, ...] = ()
    blocked: tuple[BlockedTime, ...] = ()
    previous_shifts: tuple[PreviousShift, ...] = ()
    preferences: Preferences = field(default_factory=Preferences)

    def windows_on(self, day: date) -> tuple[tuple[int, int], ...]:
        """The (start, end) wall-minute windows the employee may work in on ``day``."""
        for exception in self.availability_exceptions:
            if exception.day == day:
                return exception.windows
        if self.availability is None:
            return ((0, 2 * MINUTES_PER_DAY),)
        return tuple((w.start_minute, w.end_minute) for w in self.availability if w.weekday == day.weekday())


# --------------------------------------------------------------------------------------------
# Objective and re-optimization
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fairness:
    """Unpopular shifts (starting at or after ``late_start_minute``, or on a ``weekend_days`` weekday)
    are spread evenly: each one beyond an employee's fair share costs ``weight``."""

    late_start_minute: int = 16 * 60
    weekend_days: frozenset[int] = frozenset({5, 6})
    weight: int = 400


@dataclass(frozen=True)
class ObjectiveWeights:
    """Integer weights of the minimized objective, in priority order.

    Under-coverage (per agent-interval short) costs most, then over-coverage, then paid minutes
    and preferences. ``contract_breach_minute`` prices a minute below a contract's weekly minimum
    (only when the rules cannot all be met) above everything else. In re-optimization a changed
    (employee, day) assignment costs as much as ten agent-intervals short by default, so a
    change is made only where it buys back real coverage.
    """

    contract_breach_minute: int = 100_000
    under_interval: int = 10_000
    over_interval: int = 1_000
    paid_minute: int = 1
    preference: int = 200
    changed_assignment: int = 100_000


@dataclass(frozen=True)
class ExistingAssignment:
    """A shift of the schedule to stay close to (usually the published one)."""

    employee_id: str
    day: date
    template_id: str
    start_minute: int
    queue_id: str


@dataclass(frozen=True)
class ExistingSchedule:
    """Re-optimization: each (employee, day) whose shift differs from this one costs
    ``ObjectiveWeights.changed_assignment``.

    With ``lexicographic`` the engine first minimizes everything else, then the number of
    changes without making the rest worse.
    """

    assignments: tuple[ExistingAssignment, ...]
    lexicographic: bool = False


@dataclass(frozen=True)
class RosteringProblem:
    """Everything one schedule generation needs."""

    horizon: Horizon
    requirements: tuple[QueueRequirement, ...]
    templates: tuple[ShiftTemplate, ...]
    employees: tuple[Employee, ...]
    fairness: Fairness = field(default_factory=Fairness)
    weights: ObjectiveWeights = field(default_factory=ObjectiveWeights)
    existing: ExistingSchedule | None = None

    def __post_init__(self) -> None:
        n = self.horizon.intervals
        queue_ids = [r.queue_id for r in self.requirements]
        if len(set(queue_ids)) != len(queue_ids):
            raise _bad("requirements", "one requirement per queue")
        for i, req in enumerate(self.requirements):
            if len(req.required) != n:
                raise _bad(f"requirements[{i}].required", f"needs {n} intervals, got {len(req.required)}")
            if any(v < 0 for v in req.required):
                raise _bad(f"requirements[{i}].required", "must not be negative")
            if req.load is not None and (len(req.load.volume) != n or len(req.load.aht_seconds) != n):
                raise _bad(f"requirements[{i}].load", f"volume and aht_seconds need {n} intervals")
        ids = [t.id for t in self.templates]
        if len(set(ids)) != len(ids):
            raise _bad("templates", "template ids must be unique")
        for i, template in enumerate(self.templates):
            template.check(self.horizon.interval_minutes, i)
        employee_ids = [e.id for e in self.employees]
        if len(set(employee_ids)) != len(employee_ids):
            raise _bad("employees", "employee ids must be unique")
        for i, employee in enumerate(self.employees):
            c = employee.contract
            if not 0 <= c.min_minutes_per_week <= c.max_minutes_per_week:
                raise _bad(f"employees[{i}].contract", "0 <= min minutes <= max minutes per week")
            if (
                not 0 <= c.max_working_days_per_week <= 7
                or c.max_consecutive_days < 0
                or c.min_rest_minutes < 0
            ):
                raise _bad(f"employees[{i}].contract", "working days 0-7, consecutive days and rest >= 0")
            for j, blocked in enumerate(employee.blocked):
                if blocked.start.tzinfo is None or blocked.end.tzinfo is None or blocked.end <= blocked.start:
                    raise _bad(f"employees[{i}].blocked[{j}]", "needs aware start < end")
            for j, shift in enumerate(employee.previous_shifts):
                if shift.start.tzinfo is None or shift.end.tzinfo is None or shift.end <= shift.start:
                    raise _bad(f"employees[{i}].previous_shifts[{j}]", "needs aware start < end")

    @cached_property
    def template_by_id(self) -> dict[str, ShiftTemplate]:
        return {t.id: t for t in self.templates}

    @cached_property
    def employee_by_id(self) -> dict[str, Employee]:
        return {e.id: e for e in self.employees}


# --------------------------------------------------------------------------------------------
# Solving
# --------------------------------------------------------------------------------------------


class Method(enum.Enum):
    """Which formulation runs. AUTO picks FULL when every (employee, day, shift) choice fits the
    model comfortably, DECOMPOSED otherwise."""

    AUTO = "AUTO"
    FULL = "FULL"  # every eligible (employee, day, queue, template, start) is a choice
    DECOMPOSED = "DECOMPOSED"  # shift counts first, then each employee chooses among a few planned shifts


@dataclass(frozen=True)
class Progress:
    """Reported to ``SolveParameters.progress`` as the search goes (``fraction`` of the time budget used)."""

    phase: str
    fraction: float
    elapsed_seconds: float
    objective: float | None = None
    lower_bound: float | None = None


@dataclass(frozen=True)
class SolveParameters:
    """How to search. With ``deterministic`` the same problem, seed and parameters give the same
    schedule: CP-SAT runs its interleaved (deterministic) search and stops on a deterministic-time
    budget of ``deterministic_share`` of ``time_budget_seconds``; the wall-clock budget stays the
    hard stop, and only a run cut by it (a very busy machine) can differ. CP-SAT's deterministic
    seconds run several times slower than wall seconds on a busy machine: a quarter keeps the
    deterministic stop first in practice, and a smaller share leaves more slack.
    ``deterministic=False`` uses CP-SAT's ordinary parallel portfolio for the whole wall-clock
    budget."""

    time_budget_seconds: float = 30.0
    seed: int = 0
    workers: int = 2
    deterministic: bool = True
    deterministic_share: float = 0.25
    method: Method = Method.AUTO
    candidates_per_day: int = 8
    full_model_limit: int = 60_000
    progress: Callable[[Progress], None] | None = None


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


class SolveStatus(enum.Enum):
    OPTIMAL = "OPTIMAL"  # proven optimal (objective == lower bound)
    FEASIBLE = "FEASIBLE"  # every rule met, optimality not proven (see gap)
    INFEASIBLE = "INFEASIBLE"  # not every rule can be met: see ScheduleResult.breaches
    UNKNOWN = "UNKNOWN"  # no schedule found within the budget


class Rule(enum.Enum):
    """The hard rules, as named in breaches and validator violations."""

    UNKNOWN_EMPLOYEE = "UNKNOWN_EMPLOYEE"
    UNKNOWN_TEMPLATE = "UNKNOWN_TEMPLATE"
    OUTSIDE_HORIZON = "OUTSIDE_HORIZON"
    START_WINDOW = "START_WINDOW"
    SHIFT_LENGTH = "SHIFT_LENGTH"
    ONE_SHIFT_PER_DAY = "ONE_SHIFT_PER_DAY"
    OVERLAP = "OVERLAP"
    SKILL = "SKILL"
    EMPLOYMENT_TYPE = "EMPLOYMENT_TYPE"
    MAX_SHIFT_LENGTH = "MAX_SHIFT_LENGTH"
    AVAILABILITY = "AVAILABILITY"
    BLOCKED_TIME = "BLOCKED_TIME"
    MIN_REST = "MIN_REST"
    MAX_CONSECUTIVE_DAYS = "MAX_CONSECUTIVE_DAYS"
    MAX_WORKING_DAYS = "MAX_WORKING_DAYS"
    MIN_WEEKLY_MINUTES = "MIN_WEEKLY_MINUTES"
    MAX_WEEKLY_MINUTES = "MAX_WEEKLY_MINUTES"
    BREAK_PLACEMENT = "BREAK_PLACEMENT"
    COVERAGE_REPORT = "COVERAGE_REPORT"


@dataclass(frozen=True)
class PlacedActivity:
    kind: ActivityKind
    start: datetime
    end: datetime
    paid: bool


@dataclass(frozen=True)
class Assignment:
    """One shift: ``employee_id`` works ``template_id`` on ``queue_id`` on local ``day``."""

    employee_id: str
    day: date
    template_id: str
    queue_id: str
    start_minute: int  # wall minute of ``day``
    start: datetime
    end: datetime
    paid_minutes: int
    activities: tuple[PlacedActivity, ...]


@dataclass(frozen=True)
class QueueCoverage:
    """Per interval of the horizon: agents required and scheduled (on shift, not on break), and the
    service level the scheduled agents project when the requirement carried its load."""

    queue_id: str
    required: tuple[int, ...]
    scheduled: tuple[int, ...]
    projected_service_level: tuple[float, ...] | None = None

    @property
    def under(self) -> int:
        return sum(max(0, r - s) for r, s in zip(self.required, self.scheduled, strict=True))

    @property
    def over(self) -> int:
        return sum(max(0, s - r) for r, s in zip(self.required, self.scheduled, strict=True))


@dataclass(frozen=True)
class ShortInterval:
    queue_id: str
    start: datetime
    required: int
    scheduled: int


@dataclass(frozen=True)
class RuleBreach:
    """Why a request could not be met in full: ``rule`` for ``employee_id``, short by ``amount``."""

    rule: Rule
    employee_id: str
    detail: str
    amount: int = 0
    week_start: date | None = None


@dataclass(frozen=True)
class Violation:
    """A hard rule a schedule breaks, found by the independent validator."""

    rule: Rule
    employee_id: str | None
    detail: str
    day: date | None = None


@dataclass(frozen=True)
class ScheduleResult:
    """The answer of a generation (or re-optimization).

    ``objective`` is the minimized weighted sum (see :class:`ObjectiveWeights`), ``lower_bound``
    a proven bound on the best possible objective for the whole problem, ``gap`` their relative
    difference. ``method`` tells which formulation ran. ``trace`` holds (seconds, objective,
    bound) for every improving solution, for "time to first feasible" and "time to within x%".
    ``plan_seconds`` is the shift-count planning solve; ``build_seconds`` the rest of the
    set-up (eligibility, greedy start, candidates, CP-SAT model and hint);
    ``first_feasible_seconds`` when the first schedule keeping every hard rule existed (the
    greedy start, which is the answer if the search finds nothing better).
    """

    status: SolveStatus
    method: Method
    assignments: tuple[Assignment, ...]
    coverage: tuple[QueueCoverage, ...]
    objective: float
    lower_bound: float
    breaches: tuple[RuleBreach, ...] = ()
    short_intervals: tuple[ShortInterval, ...] = ()
    changed_assignments: int | None = None
    unpopular_shifts: dict[str, int] = field(default_factory=dict)
    build_seconds: float = 0.0
    wall_seconds: float = 0.0
    trace: tuple[tuple[float, float, float], ...] = ()
    seed: int = 0
    plan_seconds: float = 0.0
    first_feasible_seconds: float | None = None

    @property
    def gap(self) -> float:
        if self.objective <= 0:
            return 0.0
        return max(0.0, (self.objective - self.lower_bound) / self.objective)

    @property
    def under(self) -> int:
        return sum(c.under for c in self.coverage)

    @property
    def over(self) -> int:
        return sum(c.over for c in self.coverage)
