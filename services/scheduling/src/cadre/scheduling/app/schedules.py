"""Schedule use cases: generate (or re-optimize) a draft with the rostering engine, publish it
under PUBLISH_SCHEDULE, read it, and report its coverage."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from cadre.authority.policy import Action, Amount
from cadre.chassis.errors import Violations, aborted, failed_precondition
from cadre.scheduling.app.attendance import refresh_published
from cadre.scheduling.app.leave import latest_requirement
from cadre.scheduling.app.shift_templates import require_team_in_scope
from cadre.scheduling.app.workforce_ports import Workforce
from cadre.scheduling.domain import schedule as rules
from cadre.scheduling.domain import schedule_problem as bridge
from cadre.scheduling.domain.access import Caller
from cadre.scheduling.domain.coverage import CoverageRow, coverage_rows
from cadre.scheduling.domain.events import SchedulePublished
from cadre.scheduling.domain.queue import Queue
from cadre.scheduling.domain.rostering import problem as p
from cadre.scheduling.domain.schedule import Schedule, ScheduleState, Shift
from cadre.scheduling.domain.staffing import Requirement

MIN_DAYS, MAX_DAYS = 7, 42
DEFAULT_BUDGET, MAX_BUDGET = 10, 600


@dataclass(frozen=True)
class GenerationRequest:
    org_unit_id: str
    first_day: date
    days: int
    queue_ids: tuple[str, ...]
    time_budget_seconds: int
    seed: int
    base_schedule_id: str | None


def check_generation(
    *,
    org_unit_id: str,
    first_day: date | None,
    days: int,
    queue_ids: Sequence[str],
    budget: int,
    seed: int,
    base_schedule_id: str | None,
    violations: Violations,
) -> GenerationRequest | None:
    if base_schedule_id is None:
        if first_day is None:
            violations.add("start_date", "REQUIRED", "is required")
        if not MIN_DAYS <= days <= MAX_DAYS:
            violations.add("days", "OUT_OF_RANGE", f"must be {MIN_DAYS}–{MAX_DAYS}")
        if not queue_ids:
            violations.add("queues", "REQUIRED", "name at least one queue")
        elif len(set(queue_ids)) != len(queue_ids):
            violations.add("queues", "DUPLICATE", "each queue once")
        elif len(queue_ids) > 10:
            violations.add("queues", "TOO_MANY", "at most 10 queues")
    elif first_day is not None or days or queue_ids:
        violations.add(
            "base_schedule",
            "CONFLICTING_FIELDS",
            "a re-optimization takes range and queues from the base schedule",
        )
    if not 0 <= budget <= MAX_BUDGET:
        violations.add("time_budget_seconds", "OUT_OF_RANGE", f"must be 0–{MAX_BUDGET}")
    if seed < 0:
        violations.add("seed", "OUT_OF_RANGE", "must not be negative")
    if violations:
        return None
    return GenerationRequest(
        org_unit_id,
        first_day or date.min,
        days,
        tuple(queue_ids),
        budget or DEFAULT_BUDGET,
        seed,
        base_schedule_id,
    )


def _load_schedule(
    w: Workforce, caller: Caller, org_unit_id: str, schedule_id: str, field: str = "name"
) -> Schedule:
    require_team_in_scope(w, caller, org_unit_id, field=field)
    schedule: Schedule | None = w.schedules.get(org_unit_id, schedule_id)
    if schedule is None:
        raise caller.missing("SCHEDULE_NOT_FOUND", f"{field}: no such schedule")
    return schedule


def resolve_generation(w: Workforce, request: GenerationRequest, *, now: datetime) -> GenerationRequest:
    """Scope first, then what the request names must exist; a base schedule fills in the range."""
    caller = w.caller(now)
    require_team_in_scope(w, caller, request.org_unit_id)
    if request.base_schedule_id is not None:
        base = _load_schedule(w, caller, request.org_unit_id, request.base_schedule_id, "base_schedule")
        if base.state is not ScheduleState.PUBLISHED:
            raise failed_precondition(
                "BASE_NOT_PUBLISHED", "base_schedule: only the published version is re-optimized"
            )
        request = GenerationRequest(
            request.org_unit_id,
            base.start_date,
            base.days,
            base.queue_ids,
            request.time_budget_seconds,
            request.seed,
            base.id,
        )
    for i, queue_id in enumerate(request.queue_ids):
        if w.queues.get(queue_id) is None:
            raise failed_precondition("QUEUE_NOT_FOUND", f"queues[{i}]: no such queue", queue=queue_id)
    return request


def _range(team_zone: str, first: date, days: int) -> tuple[datetime, datetime]:
    zone = ZoneInfo(team_zone)
    end = first + timedelta(days=days)
    return datetime(first.year, first.month, first.day, tzinfo=zone), datetime(
        end.year, end.month, end.day, tzinfo=zone
    )


def build_problem(w: Workforce, request: GenerationRequest) -> p.RosteringProblem:
    """The engine's problem from the projection, templates, requirements, leave, training and
    the previous published week (read on one snapshot)."""
    team = w.team(request.org_unit_id)
    if team is None:
        raise failed_precondition("ORG_UNIT_NOT_FOUND", "parent: the team is not known here (yet)")
    start, end = _range(team.time_zone, request.first_day, request.days)
    last_day = request.first_day + timedelta(days=request.days - 1)
    people = w.members(team.id, request.first_day, last_day)
    queues: list[Queue] = [w.queues.get(q) for q in request.queue_ids]
    requirements: list[Requirement] = []
    for i, queue in enumerate(queues):
        requirement = latest_requirement(w, queue.id, start, end)
        if requirement is None:
            raise failed_precondition(
                "NO_REQUIREMENT",
                f"queues[{i}]: no staffing requirement covers the range; create one first",
                queue=queue.id,
            )
        requirements.append(requirement)
    templates = w.templates.list(team.id, after=None, limit=None)
    if not templates:
        raise failed_precondition("NO_SHIFT_TEMPLATES", "parent: the team has no shift templates")
    ids = [person.id for person in people]
    # Transfers count from their date: days a member spends in another team are blocked.
    elsewhere = [
        bridge.Blocked(person.id, *_range(team.time_zone, day, 1), p.BlockKind.OTHER, "another team")
        for person in people
        for day in (request.first_day + timedelta(days=i) for i in range(request.days))
        if w.team_id_of(person.id, day) != team.id
    ]
    blocked = (
        elsewhere
        + [
            bridge.Blocked(
                r.employee_id, r.start_time, r.end_time, p.BlockKind.LEAVE, f"leaveRequests/{r.id}"
            )
            for r in w.leave.approved_between(ids, start, end)
        ]
        + [
            bridge.Blocked(e, s, t, p.BlockKind.TRAINING, "training")
            for e, s, t in w.training.between(ids, start, end)
        ]
    )
    week_before = request.first_day - timedelta(days=7)
    previous = [
        s
        for schedule in w.schedules.published_overlapping(team.id, week_before, request.first_day)
        for s in schedule.shifts
        if s.end <= start + timedelta(days=1) and s.start < start
    ]
    base_shifts = None
    if request.base_schedule_id is not None:
        base = w.schedules.get(team.id, request.base_schedule_id)
        base_shifts = list(base.shifts) if base else []
    return bridge.build_problem(
        first_day=request.first_day,
        days=request.days,
        time_zone=team.time_zone,
        people=people,
        queues=queues,
        requirements=requirements,
        templates=templates,
        blocked=blocked,
        previous_shifts=previous,
        base_shifts=base_shifts,
    )


def solve(
    problem: p.RosteringProblem, request: GenerationRequest, progress: Callable[[p.Progress], None]
) -> p.ScheduleResult:
    from cadre.scheduling.domain import rostering  # the engine: imported when first used

    parameters = p.SolveParameters(
        time_budget_seconds=float(request.time_budget_seconds), seed=request.seed, progress=progress
    )
    result: p.ScheduleResult = rostering.generate_schedule(problem, parameters)  # type: ignore[attr-defined]
    return result


def draft_from(
    request: GenerationRequest,
    result: p.ScheduleResult,
    *,
    schedule_id: str,
    base: Schedule | None,
    now: datetime,
) -> Schedule:
    shifts = bridge.shifts_of(result)
    return Schedule(
        id=schedule_id,
        org_unit_id=request.org_unit_id,
        start_date=request.first_day,
        days=request.days,
        queue_ids=request.queue_ids,
        state=ScheduleState.DRAFT,
        publication=0,
        base_schedule_id=request.base_schedule_id,
        shifts=shifts,
        objective=float(result.objective),
        lower_bound=float(result.lower_bound),
        optimal=result.status is p.SolveStatus.OPTIMAL,
        unmet_rules=bridge.unmet_rules(result),
        changed_assignments=rules.changed_assignments(base.shifts, shifts) if base else 0,
        created_at=now,
        published_at=None,
        version=1,
    )


def store_draft(w: Workforce, draft: Schedule) -> Schedule:
    w.schedules.add(draft)
    w.audit(
        action="scheduling.schedule.generated",
        entity=f"orgUnits/{draft.org_unit_id}/schedules/{draft.id}",
        before=None,
        after={"shifts": len(draft.shifts), "objective": draft.objective, "lower_bound": draft.lower_bound},
    )
    return draft


def get_schedule(w: Workforce, *, org_unit_id: str, schedule_id: str, now: datetime) -> Schedule:
    return _load_schedule(w, w.caller(now), org_unit_id, schedule_id)


def list_schedules(
    w: Workforce, *, org_unit_id: str, after: tuple[datetime, str] | None, limit: int, now: datetime
) -> Sequence[Schedule]:
    require_team_in_scope(w, w.caller(now), org_unit_id)
    found: Sequence[Schedule] = w.schedules.list(org_unit_id, after=after, limit=limit)
    return found


def publish_schedule(
    w: Workforce, *, org_unit_id: str, schedule_id: str, expected_version: int | None, now: datetime
) -> Schedule:
    caller = w.caller(now)
    draft = _load_schedule(w, caller, org_unit_id, schedule_id)
    team = w.team(org_unit_id)
    assert team is not None
    decision = w.decide(
        caller, action=Action.PUBLISH_SCHEDULE, target_path=team.path, amount=Amount(), now=now
    )
    decision.require()
    earlier = w.schedules.published_overlapping(org_unit_id, draft.start_date, draft.end_date)
    publication = max((s.publication for s in earlier), default=0) + 1
    published = rules.publish(draft, publication=publication, now=now, expected_version=expected_version)
    before_shifts = [s for e in earlier for s in e.shifts if _in_range(s.start, team.time_zone, draft)]
    for old in earlier:
        if not w.schedules.replace(rules.supersede(old), previous_version=old.version):
            raise aborted("SCHEDULE_CHANGED", "a published schedule changed while publishing; retry")
    if not w.schedules.replace(published, previous_version=draft.version):
        raise aborted("ETAG_MISMATCH", "etag: the schedule changed while publishing; retry")
    changed = rules.changed_employees(before_shifts, published.shifts)
    name = f"orgUnits/{org_unit_id}/schedules/{schedule_id}"
    w.record(SchedulePublished(published, tuple(changed)))
    # Every shift of a superseded version stops counting, also outside the new range.
    refresh_published(
        w,
        org_unit_id=org_unit_id,
        before=[s for e in earlier for s in e.shifts],
        after=published.shifts,
        now=now,
    )
    w.record_use(
        decision,
        caller=caller,
        action=Action.PUBLISH_SCHEDULE,
        target=f"orgUnits/{org_unit_id}",
        amount=Amount(),
        decision_name=name,
        now=now,
    )
    return published


def _in_range(moment: datetime, zone: str, schedule: Schedule) -> bool:
    return schedule.covers(moment.astimezone(ZoneInfo(zone)).date())


@dataclass(frozen=True)
class Coverage:
    schedule: Schedule
    rows: list[CoverageRow]


def coverage_report(w: Workforce, *, org_unit_id: str, schedule_id: str, now: datetime) -> Coverage:
    schedule = _load_schedule(w, w.caller(now), org_unit_id, schedule_id, "schedule")
    team = w.team(org_unit_id)
    assert team is not None
    start, end = _range(team.time_zone, schedule.start_date, schedule.days)
    rows: list[CoverageRow] = []
    for queue_id in schedule.queue_ids:
        requirement = latest_requirement(w, queue_id, start, end)
        if requirement is not None:
            rows.extend(coverage_rows(requirement, schedule.shifts, start, end))
    rows.sort(key=lambda r: (r.start_time, r.queue_id))
    return Coverage(schedule, rows)


def publish_change(
    w: Workforce, base: Schedule, shifts: Sequence[Shift], *, schedule_id: str, now: datetime
) -> Schedule:
    """A published schedule changed in place (a swap, accepted overtime): published again as
    the next version, the one before superseded, `schedule.published` with who changed, and
    the recorded attendance of the days that changed computed again."""
    changed = rules.changed_employees(base.shifts, shifts)
    version = replace(
        base,
        id=schedule_id,
        state=ScheduleState.PUBLISHED,
        publication=base.publication + 1,
        base_schedule_id=base.id,
        shifts=tuple(shifts),
        changed_assignments=rules.changed_assignments(base.shifts, shifts),
        created_at=now,
        published_at=now,
        version=1,
    )
    if not w.schedules.replace(rules.supersede(base), previous_version=base.version):
        raise aborted("SCHEDULE_CHANGED", "the published schedule changed meanwhile; retry")
    w.schedules.add(version)
    w.record(SchedulePublished(version, tuple(changed)))
    refresh_published(w, org_unit_id=base.org_unit_id, before=base.shifts, after=version.shifts, now=now)
    return version
