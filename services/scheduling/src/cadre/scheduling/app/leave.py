"""Leave use cases: request (with the staffing impact), approve under delegated authority or
by rule, reject, cancel; balances."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from cadre.authority.policy import Action, Amount
from cadre.chassis.errors import aborted, permission_denied
from cadre.scheduling.app.workforce_ports import Workforce
from cadre.scheduling.domain import leave as rules
from cadre.scheduling.domain.access import Caller
from cadre.scheduling.domain.events import LeaveApproved, LeaveCancelled
from cadre.scheduling.domain.leave import AUTO_APPROVER, LeaveRequest, LeaveState
from cadre.scheduling.domain.team import Team

BALANCE_SET = "scheduling.leave_balance.set"
REQUESTED = "scheduling.leave.requested"
REJECTED = "scheduling.leave.rejected"


def _team_of(w: Workforce, employee_id: str, now: datetime) -> Team | None:
    team_id = w.team_id_at(employee_id, now)
    return w.team(team_id) if team_id else None


def _require_person_in_scope(w: Workforce, caller: Caller, employee_id: str, now: datetime) -> Team:
    """Permission first: someone out of scope (or unknown) is PERMISSION_DENIED either way."""
    team = _team_of(w, employee_id, now)
    caller.require_person(employee_id, team.path if team else None)
    if team is None:
        raise caller.missing("EMPLOYEE_NOT_FOUND", "parent: no such employee")
    return team


def _impact(w: Workforce, request: LeaveRequest, team: Team) -> tuple[tuple[rules.Impact, ...], bool]:
    """The impact on the published schedule and whether one covers every day of the leave."""
    first = request.day_minutes[0][0] if request.day_minutes else request.start_time.date()
    last = request.day_minutes[-1][0] if request.day_minutes else first
    published = w.schedules.published_overlapping(team.id, first, last + timedelta(days=1))
    covers = all(any(s.covers(d) for s in published) for d, _ in request.day_minutes)
    shifts = [s for schedule in published for s in schedule.shifts]
    queue_ids = sorted({q for schedule in published for q in schedule.queue_ids})
    requirements = [
        r for q in queue_ids if (r := latest_requirement(w, q, request.start_time, request.end_time))
    ]
    impact = rules.staffing_impact(
        employee_id=request.employee_id,
        start=request.start_time,
        end=request.end_time,
        shifts=shifts,
        requirements=requirements,
    )
    return impact, covers


def latest_requirement(w: Workforce, queue_id: str, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
    """The newest requirement of the queue whose intervals reach into [start, end)."""
    after = None
    while True:
        page = w.requirements.list(queue_id, after=after, limit=20)
        for summary in page:
            full = w.requirements.get(queue_id, summary.id)
            if (
                full
                and full.interval_starts
                and full.interval_starts[0] < end
                and start <= full.interval_starts[-1]
            ):
                return full
        if len(page) < 20:
            return None
        after = (page[-1].created_at, page[-1].id)


def _take_from_balance(w: Workforce, request: LeaveRequest) -> None:
    stored = w.leave.balance(request.employee_id, request.leave_type)
    if stored is None:
        return  # the type keeps no balance for the person (e.g. sick leave)
    remaining, version = stored
    after = rules.charge(remaining, request)
    assert after is not None
    if not w.leave.set_balance(request.employee_id, request.leave_type, after, previous_version=version):
        raise aborted("BALANCE_CHANGED", "the leave balance changed while approving; retry")


def _give_back(w: Workforce, request: LeaveRequest) -> None:
    stored = w.leave.balance(request.employee_id, request.leave_type)
    if stored is None:
        return
    remaining, version = stored
    if not w.leave.set_balance(
        request.employee_id, request.leave_type, remaining + request.minutes, previous_version=version
    ):
        raise aborted("BALANCE_CHANGED", "the leave balance changed while cancelling; retry")


def _store(w: Workforce, before: LeaveRequest, after: LeaveRequest) -> None:
    if not w.leave.replace(after, previous_version=before.version):
        raise aborted("ETAG_MISMATCH", "etag: the leave request changed while this ran; retry")


def request_leave(
    w: Workforce,
    *,
    employee_id: str,
    request_id: str,
    leave_type: str,
    start: datetime | None,
    end: datetime | None,
    reason: str,
    now: datetime,
) -> LeaveRequest:
    caller = w.caller(now)
    rules.check_request(leave_type=leave_type, start=start, end=end, reason=reason)
    assert start is not None and end is not None
    team = _require_person_in_scope(w, caller, employee_id, now)
    request = rules.new_request(
        request_id=request_id,
        employee_id=employee_id,
        leave_type=leave_type,
        start=start,
        end=end,
        reason=reason,
        time_zone=team.time_zone,
        now=now,
    )
    impact, covered = _impact(w, request, team)
    request = LeaveRequest(**{**request.__dict__, "impact": impact})
    w.leave.add(request)
    w.audit(
        action=REQUESTED,
        entity=f"employees/{employee_id}/leaveRequests/{request_id}",
        before=None,
        after={
            "leave_type": leave_type,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "minutes": request.minutes,
        },
    )
    balance = w.leave.balance(employee_id, leave_type)
    enough = balance is None or balance[0] >= request.minutes
    if rules.rule_allows(impact, schedule_covers=covered) and enough:
        approved = rules.approve(request, by=AUTO_APPROVER, now=now)
        _take_from_balance(w, request)
        _store(w, request, approved)
        w.record(LeaveApproved(approved))
        return approved
    return request


def _load(
    w: Workforce, caller: Caller, employee_id: str, request_id: str, now: datetime
) -> tuple[LeaveRequest, Team]:
    team = _require_person_in_scope(w, caller, employee_id, now)
    request = w.leave.get(employee_id, request_id)
    if request is None:
        raise caller.missing("LEAVE_REQUEST_NOT_FOUND", "name: no such leave request")
    return request, team


def get_leave(w: Workforce, *, employee_id: str, request_id: str, now: datetime) -> LeaveRequest:
    return _load(w, w.caller(now), employee_id, request_id, now)[0]


def list_leave(
    w: Workforce,
    *,
    employee_id: str | None,
    state: LeaveState | None,
    after: str | None,
    limit: int,
    now: datetime,
) -> Sequence[LeaveRequest]:
    caller = w.caller(now)
    if employee_id is not None:
        _require_person_in_scope(w, caller, employee_id, now)
        return w.leave.list([employee_id], state=state, after=after, limit=limit)
    if caller.sees_everything:
        return w.leave.list(None, state=state, after=after, limit=limit)
    # Everyone the caller may see: scan in pages and keep those in scope (R16: nothing else).
    found: list[LeaveRequest] = []
    cursor = after
    while len(found) < limit:
        page = w.leave.list(None, state=state, after=cursor, limit=200)
        for r in page:
            team = _team_of(w, r.employee_id, now)
            if r.employee_id == caller.employee_id or caller.covers(team.path if team else None):
                found.append(r)
                if len(found) == limit:
                    break
        if len(page) < 200:
            break
        cursor = page[-1].id
    return found


def _decide(
    w: Workforce, caller: Caller, request: LeaveRequest, team: Team, now: datetime
) -> tuple[object, Amount]:
    if caller.employee_id == request.employee_id:
        raise permission_denied("SELF_APPROVAL", "nobody decides on their own leave")
    amount = Amount(days=request.days)
    decision = w.decide(caller, action=Action.APPROVE_LEAVE, target_path=team.path, amount=amount, now=now)
    decision.require()
    return decision, amount


def approve_leave(
    w: Workforce, *, employee_id: str, request_id: str, expected_version: int | None, now: datetime
) -> LeaveRequest:
    caller = w.caller(now)
    request, team = _load(w, caller, employee_id, request_id, now)
    decision, amount = _decide(w, caller, request, team, now)
    rules.check_version(request, expected_version)
    approved = rules.approve(request, by=caller.principal, now=now)
    _take_from_balance(w, request)
    _store(w, request, approved)
    name = f"employees/{employee_id}/leaveRequests/{request_id}"
    w.record(LeaveApproved(approved))
    w.record_use(
        decision,  # type: ignore[arg-type]
        caller=caller,
        action=Action.APPROVE_LEAVE,
        target=f"employees/{employee_id}",
        amount=amount,
        decision_name=name,
        now=now,
    )
    return approved


def reject_leave(
    w: Workforce, *, employee_id: str, request_id: str, expected_version: int | None, now: datetime
) -> LeaveRequest:
    caller = w.caller(now)
    request, team = _load(w, caller, employee_id, request_id, now)
    _decide(w, caller, request, team, now)
    rules.check_version(request, expected_version)
    rejected = rules.reject(request, by=caller.principal, now=now)
    _store(w, request, rejected)
    w.audit(
        action=REJECTED,
        entity=f"employees/{employee_id}/leaveRequests/{request_id}",
        before=None,
        after={"by": caller.principal},
    )
    return rejected


def cancel_leave(
    w: Workforce, *, employee_id: str, request_id: str, expected_version: int | None, now: datetime
) -> LeaveRequest:
    caller = w.caller(now)
    request, _ = _load(w, caller, employee_id, request_id, now)
    rules.check_version(request, expected_version)
    cancelled = rules.cancel(request, by=caller.principal, now=now)
    _store(w, request, cancelled)
    if request.state is LeaveState.APPROVED:
        _give_back(w, request)
        w.record(LeaveCancelled(cancelled))
    return cancelled


def _require_balance_keeper(caller: Caller) -> None:
    if not caller.sees_everything:
        raise permission_denied("BALANCES_NEED_HR", "only HR and administrators set leave balances")


def set_balance(
    w: Workforce,
    *,
    employee_id: str,
    leave_type: str,
    remaining: int,
    expected_version: int | None,
    now: datetime,
) -> tuple[int, int]:
    caller = w.caller(now)
    _require_balance_keeper(caller)
    _require_person_in_scope(w, caller, employee_id, now)
    rules.check_balance(leave_type, remaining)
    stored = w.leave.balance(employee_id, leave_type)
    if expected_version is not None and (stored is None or stored[1] != expected_version):
        raise aborted("ETAG_MISMATCH", "etag: the balance changed since it was read; read it again")
    if not w.leave.set_balance(
        employee_id, leave_type, remaining, previous_version=stored[1] if stored else None
    ):
        raise aborted("ETAG_MISMATCH", "etag: the balance changed while this ran; retry")
    w.audit(
        action=BALANCE_SET,
        entity=f"employees/{employee_id}/leaveBalances/{leave_type}",
        before={"remaining_minutes": stored[0]} if stored else None,
        after={"remaining_minutes": remaining},
    )
    return remaining, (stored[1] + 1 if stored else 1)


def get_balance(w: Workforce, *, employee_id: str, leave_type: str, now: datetime) -> tuple[int, int]:
    caller = w.caller(now)
    _require_person_in_scope(w, caller, employee_id, now)
    rules.check_balance(leave_type, 0)
    stored = w.leave.balance(employee_id, leave_type)
    if stored is None:
        raise caller.missing("LEAVE_BALANCE_NOT_FOUND", "name: no balance is kept for this leave type")
    return stored
