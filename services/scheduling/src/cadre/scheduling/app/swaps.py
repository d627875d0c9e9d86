"""Shift swap use cases: ask (checked at once, approved by rule when it can be), approve,
reject or decline, withdraw, list. The two shifts may lie in two published schedules of the
team (this week's and the next): both are checked together and both published again."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cadre.authority.policy import Action, Amount
from cadre.chassis.errors import aborted, failed_precondition
from cadre.scheduling.app.schedules import publish_change
from cadre.scheduling.app.shift_templates import require_team_in_scope, visible_in_team
from cadre.scheduling.app.workforce_ports import Workforce
from cadre.scheduling.domain import swap as rules
from cadre.scheduling.domain.access import Caller, out_of_scope
from cadre.scheduling.domain.leave import LeaveRequest
from cadre.scheduling.domain.schedule import Schedule, Shift
from cadre.scheduling.domain.schedule_problem import may_work
from cadre.scheduling.domain.swap import ShiftSwap, SwapState
from cadre.scheduling.domain.team import Person, Team

REQUESTED = "scheduling.shift_swap.requested"
REJECTED = "scheduling.shift_swap.rejected"
CANCELLED = "scheduling.shift_swap.cancelled"


def _published_with(w: Workforce, team: Team, moment: datetime) -> Schedule:
    day = moment.astimezone(ZoneInfo(team.time_zone)).date()
    for schedule in w.schedules.published_overlapping(team.id, day, day + timedelta(days=1)):
        return schedule
    raise failed_precondition("SHIFT_NOT_PUBLISHED", "no published schedule of the team covers that shift")


@dataclass(frozen=True)
class _Exchange:
    """The two shifts and the published schedules holding them (one schedule, or two)."""

    mine: Shift
    mine_in: Schedule
    theirs: Shift
    theirs_in: Schedule


def _locate(
    w: Workforce,
    team: Team,
    *,
    requester_id: str,
    requester_start: datetime,
    partner_id: str,
    partner_start: datetime,
    fields: tuple[str, str],
) -> _Exchange:
    mine_in = _published_with(w, team, requester_start)
    theirs_in = _published_with(w, team, partner_start)
    return _Exchange(
        rules.find_shift(mine_in.shifts, requester_id, requester_start, fields[0]),
        mine_in,
        rules.find_shift(theirs_in.shifts, partner_id, partner_start, fields[1]),
        theirs_in,
    )


def _neighbourhood(w: Workforce, team: Team, x: _Exchange) -> list[Shift]:
    """Every published shift of the team the rules look at: both shifts' weeks and the days
    bordering them, whichever published schedule holds them."""
    zone = ZoneInfo(team.time_zone)
    first, end = rules.checked_days(
        x.mine.start.astimezone(zone).date(), x.theirs.start.astimezone(zone).date()
    )
    found = {
        s.key(): s
        for schedule in w.schedules.published_overlapping(team.id, first, end)
        for s in schedule.shifts
    }
    return list(found.values())


def _check(w: Workforce, team: Team, x: _Exchange, now: datetime) -> None:
    mine, theirs = x.mine, x.theirs
    rules.check_notice([mine, theirs], now)
    after = rules.exchanged(_neighbourhood(w, team, x), mine, theirs)
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


def _publish(w: Workforce, swap_id: str, x: _Exchange, now: datetime) -> tuple[str, str]:
    """Publishes each schedule the swap changes again; (requester's version, partner's or "")."""
    first = publish_change(
        w,
        x.mine_in,
        rules.exchanged(x.mine_in.shifts, x.mine, x.theirs),
        schedule_id=_new_schedule_id(swap_id),
        now=now,
    )
    if x.theirs_in.id == x.mine_in.id:
        return first.id, ""
    second = publish_change(
        w,
        x.theirs_in,
        rules.exchanged(x.theirs_in.shifts, x.mine, x.theirs),
        schedule_id=_new_schedule_id(f"{swap_id}/partner"),
        now=now,
    )
    return first.id, second.id


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
    exchange = _locate(
        w,
        team,
        requester_id=requester_id,
        requester_start=requester_start,
        partner_id=partner_id,
        partner_start=partner_start,
        fields=("shift_swap.requester_shift_start", "shift_swap.partner_shift_start"),
    )
    _check(w, team, exchange, now)
    swap = ShiftSwap(
        id=swap_id,
        org_unit_id=org_unit_id,
        requester_id=requester_id,
        requester_shift_start=requester_start,
        partner_id=partner_id,
        partner_shift_start=partner_start,
        state=SwapState.PENDING,
        decided_by="",
        schedule_id="",
        created_at=now,
        version=1,
    )
    w.swaps.add(swap)
    w.audit(
        action=REQUESTED,
        entity=f"orgUnits/{org_unit_id}/shiftSwaps/{swap_id}",
        before=None,
        after={"requester": f"employees/{requester_id}", "partner": f"employees/{partner_id}"},
    )
    if rules.rule_allows(exchange.mine, exchange.theirs, now=now, time_zone=team.time_zone):
        schedule_id, partner_schedule_id = _publish(w, swap_id, exchange, now)
        approved = rules.approve(
            swap,
            by=rules.AUTO_APPROVER,
            schedule_id=schedule_id,
            partner_schedule_id=partner_schedule_id,
            expected_version=None,
        )
        _store(w, swap, approved)
        return approved
    return swap


def _new_schedule_id(seed: str) -> str:
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
    exchange = _locate(
        w,
        team,
        requester_id=swap.requester_id,
        requester_start=swap.requester_shift_start,
        partner_id=swap.partner_id,
        partner_start=swap.partner_shift_start,
        fields=("name", "name"),
    )
    _check(w, team, exchange, now)  # the schedules may have moved since
    schedule_id, partner_schedule_id = _publish(w, swap_id, exchange, now)
    approved = rules.approve(
        swap,
        by=caller.principal,
        schedule_id=schedule_id,
        partner_schedule_id=partner_schedule_id,
        expected_version=expected_version,
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


def _decide_as_leader(w: Workforce, caller: Caller, org_unit_id: str, now: datetime) -> None:
    """The authority a team leader approves swaps under (PUBLISH_SCHEDULE over the team)."""
    require_team_in_scope(w, caller, org_unit_id, field="name")
    team = w.team(org_unit_id)
    assert team is not None
    w.decide(
        caller, action=Action.PUBLISH_SCHEDULE, target_path=team.path, amount=Amount(), now=now
    ).require()


def _audit_decision(w: Workforce, action: str, before: ShiftSwap, after: ShiftSwap) -> None:
    w.audit(
        action=action,
        entity=f"orgUnits/{after.org_unit_id}/shiftSwaps/{after.id}",
        before={"state": before.state.value},
        after={"state": after.state.value, "by": after.decided_by},
    )


def reject_swap(
    w: Workforce, *, org_unit_id: str, swap_id: str, expected_version: int | None, now: datetime
) -> ShiftSwap:
    """The team leader rejects, or the partner declines; the schedule stays as it is."""
    caller = w.caller(now)
    swap = _load(w, caller, org_unit_id, swap_id)
    if not rules.declines(swap, caller.employee_id):
        _decide_as_leader(w, caller, org_unit_id, now)
    rejected = rules.reject(swap, by=caller.principal, expected_version=expected_version)
    _store(w, swap, rejected)
    _audit_decision(w, REJECTED, swap, rejected)
    return rejected


def cancel_swap(
    w: Workforce, *, org_unit_id: str, swap_id: str, expected_version: int | None, now: datetime
) -> ShiftSwap:
    """The requester withdraws a pending swap."""
    caller = w.caller(now)
    swap = _load(w, caller, org_unit_id, swap_id)
    cancelled = rules.cancel(
        swap, employee_id=caller.employee_id, by=caller.principal, expected_version=expected_version
    )
    _store(w, swap, cancelled)
    _audit_decision(w, CANCELLED, swap, cancelled)
    return cancelled


def list_swaps(
    w: Workforce,
    *,
    org_unit_id: str,
    state: SwapState | None,
    employee_id: str | None,
    after: str | None,
    limit: int,
    now: datetime,
) -> Sequence[ShiftSwap]:
    """Who leads the team sees every swap; anyone else the swaps they are part of."""
    own = visible_in_team(w, w.caller(now), org_unit_id)
    involving = [e for e in (own, employee_id) if e is not None]
    found: Sequence[ShiftSwap] = w.swaps.list(
        org_unit_id, state=state, involving=sorted(set(involving)), after=after, limit=limit
    )
    return found
