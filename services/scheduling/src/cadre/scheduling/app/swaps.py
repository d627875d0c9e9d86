"""Shift swap use cases: ask (checked at once, approved by rule when it can be), approve."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cadre.authority.policy import Action, Amount
from cadre.chassis.errors import aborted, failed_precondition
from cadre.scheduling.app.schedules import publish_change
from cadre.scheduling.app.shift_templates import require_team_in_scope
from cadre.scheduling.app.workforce_ports import Workforce
from cadre.scheduling.domain import swap as rules
from cadre.scheduling.domain.access import Caller, out_of_scope
from cadre.scheduling.domain.leave import LeaveRequest
from cadre.scheduling.domain.schedule import Schedule, Shift
from cadre.scheduling.domain.schedule_problem import may_work
from cadre.scheduling.domain.swap import ShiftSwap, SwapState
from cadre.scheduling.domain.team import Person, Team

REQUESTED = "scheduling.shift_swap.requested"


def _published_with(w: Workforce, team: Team, moment: datetime) -> Schedule:
    day = moment.astimezone(ZoneInfo(team.time_zone)).date()
    for schedule in w.schedules.published_overlapping(team.id, day, day + timedelta(days=1)):
        return schedule
    raise failed_precondition("SHIFT_NOT_PUBLISHED", "no published schedule of the team covers that shift")


def _check(
    w: Workforce, team: Team, schedule: Schedule, mine: Shift, theirs: Shift, now: datetime
) -> list[Shift]:
    rules.check_notice([mine, theirs], now)
    after = rules.exchanged(schedule.shifts, mine, theirs)
    for person_id, taken in ((mine.employee_id, theirs), (theirs.employee_id, mine)):
        person: Person | None = w.person(person_id)
        if person is None:
            raise failed_precondition("EMPLOYEE_UNKNOWN", f"employees/{person_id} is not known here")
        template = w.templates.get(team.id, taken.template_id) if taken.template_id else None
        leave: list[LeaveRequest] = w.leave.approved_between([person_id], taken.start, taken.end)
        blocked = [(r.start_time, r.end_time) for r in leave] + [
            (s, e) for _, s, e in w.training.between([person_id], taken.start, taken.end)
        ]

        def queue_ok(p: Person, queue_id: str, day: object) -> bool:
            queue = w.queues.get(queue_id)
            return queue is not None and may_work(p, queue, day)  # type: ignore[arg-type]

        rules.check_person(
            person,
            taken=taken,
            after=after,
            time_zone=team.time_zone,
            may_work_queue=queue_ok,
            template_types=template.settings.employment_types if template else (),
            blocked=blocked,
        )
    return after


def create_swap(
    w: Workforce,
    *,
    org_unit_id: str,
    swap_id: str,
    requester_id: str,
    requester_start: datetime,
    partner_id: str,
    partner_start: datetime,
    now: datetime,
) -> ShiftSwap:
    caller = w.caller(now)
    rules.check_pair(requester_id, partner_id)
    team = w.team(org_unit_id)
    if caller.employee_id != requester_id:
        require_team_in_scope(w, caller, org_unit_id)
    elif team is None or w.team_id_at(requester_id, now) != org_unit_id:
        raise out_of_scope()
    assert team is not None
    schedule = _published_with(w, team, requester_start)
    mine = rules.find_shift(
        schedule.shifts, requester_id, requester_start, "shift_swap.requester_shift_start"
    )
    theirs = rules.find_shift(schedule.shifts, partner_id, partner_start, "shift_swap.partner_shift_start")
    after = _check(w, team, schedule, mine, theirs, now)
    swap = ShiftSwap(
        swap_id,
        org_unit_id,
        requester_id,
        requester_start,
        partner_id,
        partner_start,
        SwapState.PENDING,
        "",
        "",
        now,
        1,
    )
    w.swaps.add(swap)
    w.audit(
        action=REQUESTED,
        entity=f"orgUnits/{org_unit_id}/shiftSwaps/{swap_id}",
        before=None,
        after={"requester": f"employees/{requester_id}", "partner": f"employees/{partner_id}"},
    )
    if rules.rule_allows(mine, theirs, now=now, time_zone=team.time_zone):
        version = publish_change(w, schedule, after, schedule_id=_new_schedule_id(swap_id), now=now)
        approved = rules.approve(swap, by=rules.AUTO_APPROVER, schedule_id=version.id, expected_version=None)
        _store(w, swap, approved)
        return approved
    return swap


def _new_schedule_id(seed: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"swap/{seed}"))


def _store(w: Workforce, before: ShiftSwap, after: ShiftSwap) -> None:
    if not w.swaps.replace(after, previous_version=before.version):
        raise aborted("ETAG_MISMATCH", "etag: the swap changed while this ran; retry")


def _load(w: Workforce, caller: Caller, org_unit_id: str, swap_id: str) -> ShiftSwap:
    team = w.team(org_unit_id)
    swap: ShiftSwap | None = w.swaps.get(org_unit_id, swap_id)
    involved = swap is not None and caller.employee_id in (swap.requester_id, swap.partner_id)
    if not involved:
        caller.require_team(team.path if team else None)
    if swap is None:
        raise caller.missing("SHIFT_SWAP_NOT_FOUND", "name: no such shift swap")
    return swap


def get_swap(w: Workforce, *, org_unit_id: str, swap_id: str, now: datetime) -> ShiftSwap:
    return _load(w, w.caller(now), org_unit_id, swap_id)


def approve_swap(
    w: Workforce, *, org_unit_id: str, swap_id: str, expected_version: int | None, now: datetime
) -> ShiftSwap:
    caller = w.caller(now)
    require_team_in_scope(w, caller, org_unit_id, field="name")
    swap = _load(w, caller, org_unit_id, swap_id)
    team = w.team(org_unit_id)
    assert team is not None
    decision = w.decide(
        caller, action=Action.PUBLISH_SCHEDULE, target_path=team.path, amount=Amount(), now=now
    )
    decision.require()
    if swap.state is not SwapState.PENDING:
        rules.approve(swap, by=caller.principal, schedule_id="", expected_version=expected_version)
    schedule = _published_with(w, team, swap.requester_shift_start)
    mine = rules.find_shift(schedule.shifts, swap.requester_id, swap.requester_shift_start, "name")
    theirs = rules.find_shift(schedule.shifts, swap.partner_id, swap.partner_shift_start, "name")
    after = _check(w, team, schedule, mine, theirs, now)  # the schedule may have moved since
    version = publish_change(w, schedule, after, schedule_id=_new_schedule_id(swap_id), now=now)
    approved = rules.approve(
        swap, by=caller.principal, schedule_id=version.id, expected_version=expected_version
    )
    _store(w, swap, approved)
    w.record_use(
        decision,
        caller=caller,
        action=Action.PUBLISH_SCHEDULE,
        target=f"orgUnits/{org_unit_id}",
        amount=Amount(),
        decision_name=f"orgUnits/{org_unit_id}/shiftSwaps/{swap_id}",
        now=now,
    )
    return approved
