"""Overtime use cases: offer where coverage is short (under AUTHORIZE_OVERTIME), accept,
withdraw, list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from cadre.authority.policy import Action, Amount
from cadre.chassis.errors import aborted, failed_precondition
from cadre.scheduling.app.leave import latest_requirement
from cadre.scheduling.app.schedules import publish_change
from cadre.scheduling.app.shift_templates import require_team_in_scope, visible_in_team
from cadre.scheduling.app.workforce_ports import Workforce
from cadre.scheduling.domain import overtime as rules
from cadre.scheduling.domain.coverage import coverage_rows
from cadre.scheduling.domain.events import OvertimeAccepted
from cadre.scheduling.domain.overtime import OfferState, OvertimeOffer
from cadre.scheduling.domain.schedule import Schedule
from cadre.scheduling.domain.schedule_problem import may_work
from cadre.scheduling.domain.team import Person, Team

OFFERED = "scheduling.overtime.offered"
WITHDRAWN = "scheduling.overtime.withdrawn"


def _published(w: Workforce, team: Team, start: datetime, end: datetime) -> Schedule:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(team.time_zone)
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    for schedule in w.schedules.published_overlapping(team.id, first, last + timedelta(days=1)):
        if schedule.covers(first) and schedule.covers(last):
            return schedule
    raise failed_precondition("NO_PUBLISHED_SCHEDULE", "no published schedule of the team covers that time")


def _eligible(
    w: Workforce, team: Team, schedule: Schedule, queue_id: str, start: datetime, end: datetime
) -> list[str]:
    queue = w.queues.get(queue_id)
    people: list[Person] = w.members(team.id, start.date(), end.date())
    ids = [p.id for p in people]
    leave = w.leave.approved_between(ids, start, end)
    training = w.training.between(ids, start, end)
    found = []
    for person in people:
        blocked = [(r.start_time, r.end_time) for r in leave if r.employee_id == person.id] + [
            (s, e) for who, s, e in training if who == person.id
        ]
        if rules.eligible(
            person,
            queue_id=queue_id,
            start=start,
            end=end,
            shifts=schedule.shifts,
            blocked=blocked,
            time_zone=team.time_zone,
            may_work_queue=lambda p, _q, day: queue is not None and may_work(p, queue, day),
        ):
            found.append(person.id)
    return found


def create_offer(
    w: Workforce,
    *,
    org_unit_id: str,
    offer_id: str,
    queue_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
) -> OvertimeOffer:
    caller = w.caller(now)
    require_team_in_scope(w, caller, org_unit_id)
    team = w.team(org_unit_id)
    assert team is not None
    amount = Amount(minutes=int((end - start).total_seconds() // 60))
    decision = w.decide(
        caller, action=Action.AUTHORIZE_OVERTIME, target_path=team.path, amount=amount, now=now
    )
    decision.require()
    if w.queues.get(queue_id) is None:
        raise failed_precondition("QUEUE_NOT_FOUND", "overtime_offer.queue: no such queue")
    schedule = _published(w, team, start, end)
    requirement = latest_requirement(w, queue_id, start, end)
    rows = coverage_rows(requirement, schedule.shifts, start, end) if requirement else []
    if not any(r.shortfall for r in rows):
        raise failed_precondition("COVERAGE_NOT_SHORT", "the published schedule covers the requirement then")
    eligible = _eligible(w, team, schedule, queue_id, start, end)
    if not eligible:
        raise failed_precondition("NO_ELIGIBLE_EMPLOYEES", "nobody in the team may work that time")
    offer = OvertimeOffer(
        offer_id,
        org_unit_id,
        queue_id,
        start,
        end,
        tuple(eligible),
        OfferState.OPEN,
        caller.principal,
        "",
        "",
        now,
        1,
    )
    w.overtime.add(offer)
    name = f"orgUnits/{org_unit_id}/overtimeOffers/{offer_id}"
    w.audit(
        action=OFFERED, entity=name, before=None, after={"minutes": offer.minutes, "eligible": len(eligible)}
    )
    w.record_use(
        decision,
        caller=caller,
        action=Action.AUTHORIZE_OVERTIME,
        target=f"orgUnits/{org_unit_id}",
        amount=amount,
        decision_name=name,
        now=now,
    )
    return offer


def _load(w: Workforce, org_unit_id: str, offer_id: str, now: datetime) -> OvertimeOffer:
    caller = w.caller(now)
    team = w.team(org_unit_id)
    offer: OvertimeOffer | None = w.overtime.get(org_unit_id, offer_id)
    if offer is None or caller.employee_id not in offer.eligible:
        caller.require_team(team.path if team else None)
    if offer is None:
        raise caller.missing("OVERTIME_OFFER_NOT_FOUND", "name: no such overtime offer")
    return offer


def get_offer(w: Workforce, *, org_unit_id: str, offer_id: str, now: datetime) -> OvertimeOffer:
    return _load(w, org_unit_id, offer_id, now)


def accept_offer(w: Workforce, *, org_unit_id: str, offer_id: str, now: datetime) -> OvertimeOffer:
    offer = _load(w, org_unit_id, offer_id, now)
    caller = w.caller(now)
    team = w.team(org_unit_id)
    assert team is not None
    schedule_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"overtime/{offer_id}"))
    accepted = rules.accept(offer, employee_id=caller.employee_id, schedule_id=schedule_id)
    schedule = _published(w, team, offer.start, offer.end)
    if accepted.accepted_by not in _eligible(w, team, schedule, offer.queue_id, offer.start, offer.end):
        raise failed_precondition(
            "NO_LONGER_ELIGIBLE", "the schedule changed: the caller may not work that time now"
        )
    work_day = rules.works_that_day(schedule.shifts, accepted.accepted_by, offer.start, team.time_zone)
    publish_change(
        w,
        schedule,
        [*schedule.shifts, rules.overtime_shift(offer, accepted.accepted_by)],
        schedule_id=schedule_id,
        now=now,
    )
    if not w.overtime.replace(accepted, previous_version=offer.version):
        raise aborted("OFFER_CHANGED", "the offer changed while accepting; retry")
    w.record(OvertimeAccepted(accepted, work_day))
    return accepted


def withdraw_offer(
    w: Workforce, *, org_unit_id: str, offer_id: str, expected_version: int | None, now: datetime
) -> OvertimeOffer:
    """Who authorized the offer (or holds AUTHORIZE_OVERTIME for its minutes over the team) takes
    an open offer back."""
    caller = w.caller(now)
    require_team_in_scope(w, caller, org_unit_id, field="name")
    offer: OvertimeOffer | None = w.overtime.get(org_unit_id, offer_id)
    if offer is None:
        raise caller.missing("OVERTIME_OFFER_NOT_FOUND", "name: no such overtime offer")
    if caller.principal != offer.authorized_by:
        team = w.team(org_unit_id)
        assert team is not None
        w.decide(
            caller,
            action=Action.AUTHORIZE_OVERTIME,
            target_path=team.path,
            amount=Amount(minutes=offer.minutes),
            now=now,
        ).require()
    withdrawn = rules.withdraw(offer, expected_version=expected_version)
    if not w.overtime.replace(withdrawn, previous_version=offer.version):
        raise aborted("ETAG_MISMATCH", "etag: the offer changed while this ran; retry")
    w.audit(
        action=WITHDRAWN,
        entity=f"orgUnits/{org_unit_id}/overtimeOffers/{offer_id}",
        before={"state": offer.state.value},
        after={"state": withdrawn.state.value, "by": caller.principal},
    )
    return withdrawn


def list_offers(
    w: Workforce,
    *,
    org_unit_id: str,
    state: OfferState | None,
    after: str | None,
    limit: int,
    now: datetime,
) -> Sequence[OvertimeOffer]:
    """Who leads the team sees every offer; anyone else the offers made to them."""
    own = visible_in_team(w, w.caller(now), org_unit_id)
    found: Sequence[OvertimeOffer] = w.overtime.list(
        org_unit_id, state=state, eligible=own, after=after, limit=limit
    )
    return found
