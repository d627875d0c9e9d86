"""Repositories for templates, schedules, leave, agent states and attendance (SQLAlchemy Core).
They never commit: the unit of work does."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from cadre.scheduling.adapters.exchange_tables import overtime_offers, shift_swaps
from cadre.scheduling.adapters.workforce_tables import (
    agent_states,
    daily_attendance,
    leave_balances,
    leave_requests,
    schedules,
    shift_templates,
    training_blocks,
)
from cadre.scheduling.domain.attendance import AgentState, DayFigures, StateChange
from cadre.scheduling.domain.leave import Impact, LeaveRequest, LeaveState
from cadre.scheduling.domain.overtime import OfferState, OvertimeOffer
from cadre.scheduling.domain.schedule import Activity, ActivityKind, Schedule, ScheduleState, Shift
from cadre.scheduling.domain.shift_templates import BreakKind, BreakRule, ShiftTemplate, TemplateSettings
from cadre.scheduling.domain.swap import ShiftSwap, SwapState


def _dialect_insert(connection: Connection, table: Any) -> Any:
    return (postgresql if connection.dialect.name == "postgresql" else sqlite).insert(table)


# ---------------------------------------------------------------- shift templates


def _template(row: Row) -> ShiftTemplate:
    return ShiftTemplate(
        id=row.id,
        org_unit_id=row.org_unit_id,
        settings=TemplateSettings(
            display_name=row.display_name,
            earliest_start_minute=row.earliest_start_minute,
            latest_start_minute=row.latest_start_minute,
            start_step_minutes=row.start_step_minutes,
            length_minutes=row.length_minutes,
            breaks=tuple(
                BreakRule(BreakKind(k), length, lo, hi, paid)
                for k, length, lo, hi, paid in json.loads(row.breaks)
            ),
            employment_types=tuple(json.loads(row.employment_types)),
        ),
        created_at=row.created_at,
        version=row.version,
    )


def _template_values(t: ShiftTemplate) -> dict[str, Any]:
    s = t.settings
    return {
        "display_name": s.display_name,
        "earliest_start_minute": s.earliest_start_minute,
        "latest_start_minute": s.latest_start_minute,
        "start_step_minutes": s.start_step_minutes,
        "length_minutes": s.length_minutes,
        "breaks": json.dumps(
            [
                [b.kind.value, b.length_minutes, b.earliest_offset_minutes, b.latest_offset_minutes, b.paid]
                for b in s.breaks
            ]
        ),
        "employment_types": json.dumps(list(s.employment_types)),
        "version": t.version,
    }


class SqlShiftTemplates:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, org_unit_id: str, template_id: str) -> ShiftTemplate | None:
        row = self._c.execute(
            select(shift_templates).where(
                shift_templates.c.id == template_id, shift_templates.c.org_unit_id == org_unit_id
            )
        ).first()
        return _template(row) if row else None

    def add(self, t: ShiftTemplate) -> None:
        self._c.execute(
            insert(shift_templates).values(
                id=t.id, org_unit_id=t.org_unit_id, created_at=t.created_at, **_template_values(t)
            )
        )

    def replace(self, t: ShiftTemplate, *, previous_version: int) -> bool:
        result = self._c.execute(
            update(shift_templates)
            .where(shift_templates.c.id == t.id, shift_templates.c.version == previous_version)
            .values(**_template_values(t))
        )
        return result.rowcount == 1

    def delete(self, template_id: str) -> None:
        self._c.execute(delete(shift_templates).where(shift_templates.c.id == template_id))

    def list(self, org_unit_id: str, *, after: str | None, limit: int | None) -> list[ShiftTemplate]:
        query = (
            select(shift_templates)
            .where(shift_templates.c.org_unit_id == org_unit_id)
            .order_by(shift_templates.c.id)
        )
        if after:
            query = query.where(shift_templates.c.id > after)
        if limit is not None:
            query = query.limit(limit)
        return [_template(r) for r in self._c.execute(query)]


# ---------------------------------------------------------------- schedules


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def shifts_to_json(shifts: Sequence[Shift]) -> bytes:
    return json.dumps(
        [
            [
                s.employee_id,
                s.queue_id,
                s.template_id,
                s.start.isoformat(),
                s.end.isoformat(),
                [[a.kind.value, a.start.isoformat(), a.end.isoformat(), a.paid] for a in s.activities],
                s.overtime,
            ]
            for s in shifts
        ]
    ).encode()


def shifts_from_json(data: bytes) -> tuple[Shift, ...]:
    return tuple(
        Shift(
            employee_id=e,
            queue_id=q,
            template_id=t,
            start=_moment(start),
            end=_moment(end),
            activities=tuple(
                Activity(ActivityKind(k), _moment(a), _moment(b), paid) for k, a, b, paid in acts
            ),
            overtime=overtime,
        )
        for e, q, t, start, end, acts, overtime in json.loads(data)
    )


def _schedule(row: Row, *, with_shifts: bool = True) -> Schedule:
    return Schedule(
        id=row.id,
        org_unit_id=row.org_unit_id,
        start_date=row.start_date,
        days=row.days,
        queue_ids=tuple(json.loads(row.queues)),
        state=ScheduleState(row.state),
        publication=row.publication,
        base_schedule_id=row.base_schedule_id,
        shifts=shifts_from_json(row.shifts) if with_shifts else (),
        objective=row.objective,
        lower_bound=row.lower_bound,
        optimal=row.optimal,
        unmet_rules=tuple(json.loads(row.unmet_rules)),
        changed_assignments=row.changed_assignments,
        created_at=row.created_at,
        published_at=row.published_at,
        version=row.version,
    )


def _schedule_values(s: Schedule) -> dict[str, Any]:
    return {
        "org_unit_id": s.org_unit_id,
        "start_date": s.start_date,
        "days": s.days,
        "queues": json.dumps(list(s.queue_ids)),
        "state": s.state.value,
        "publication": s.publication,
        "base_schedule_id": s.base_schedule_id,
        "shifts": shifts_to_json(s.shifts),
        "objective": s.objective,
        "lower_bound": s.lower_bound,
        "optimal": s.optimal,
        "unmet_rules": json.dumps(list(s.unmet_rules)),
        "changed_assignments": s.changed_assignments,
        "created_at": s.created_at,
        "published_at": s.published_at,
        "version": s.version,
    }


class SqlSchedules:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, org_unit_id: str, schedule_id: str) -> Schedule | None:
        row = self._c.execute(
            select(schedules).where(schedules.c.id == schedule_id, schedules.c.org_unit_id == org_unit_id)
        ).first()
        return _schedule(row) if row else None

    def add(self, s: Schedule) -> None:
        self._c.execute(insert(schedules).values(id=s.id, **_schedule_values(s)))

    def replace(self, s: Schedule, *, previous_version: int) -> bool:
        result = self._c.execute(
            update(schedules)
            .where(schedules.c.id == s.id, schedules.c.version == previous_version)
            .values(**_schedule_values(s))
        )
        return result.rowcount == 1

    def published_overlapping(self, org_unit_id: str, first: date, end: date) -> list[Schedule]:
        """Published versions of the team whose range meets [first, end)."""
        rows = self._c.execute(
            select(schedules).where(
                schedules.c.org_unit_id == org_unit_id,
                schedules.c.state == ScheduleState.PUBLISHED.value,
                schedules.c.start_date < end,
            )
        )
        return [s for s in (_schedule(r) for r in rows) if s.end_date > first]

    def published_any(self, first: date, end: date) -> list[Schedule]:
        rows = self._c.execute(
            select(schedules).where(
                schedules.c.state == ScheduleState.PUBLISHED.value, schedules.c.start_date < end
            )
        )
        return [s for s in (_schedule(r) for r in rows) if s.end_date > first]

    def highest_publication(self, org_unit_id: str) -> int:
        rows = self._c.execute(select(schedules.c.publication).where(schedules.c.org_unit_id == org_unit_id))
        return max((r.publication for r in rows), default=0)

    def list(self, org_unit_id: str, *, after: tuple[datetime, str] | None, limit: int) -> list[Schedule]:
        query = (
            select(schedules)
            .where(schedules.c.org_unit_id == org_unit_id)
            .order_by(schedules.c.created_at.desc(), schedules.c.id.desc())
            .limit(limit)
        )
        if after is not None:
            created, last = after
            query = query.where(
                or_(
                    schedules.c.created_at < created,
                    and_(schedules.c.created_at == created, schedules.c.id < last),
                )
            )
        return [_schedule(r, with_shifts=False) for r in self._c.execute(query)]


# ---------------------------------------------------------------- leave


def _impact_json(impact: Sequence[Impact]) -> str:
    return json.dumps(
        [
            [
                i.queue_id,
                i.start_time.isoformat(),
                i.required_agents,
                i.scheduled_agents,
                i.service_level_with,
                i.service_level_without,
                i.target_service_level,
            ]
            for i in impact
        ]
    )


def _leave(row: Row) -> LeaveRequest:
    return LeaveRequest(
        id=row.id,
        employee_id=row.employee_id,
        leave_type=row.leave_type,
        start_time=row.start_time,
        end_time=row.end_time,
        paid=row.paid,
        state=LeaveState(row.state),
        day_minutes=tuple((date.fromisoformat(d), m) for d, m in json.loads(row.day_minutes)),
        impact=tuple(
            Impact(q, _moment(t), req, sch, w, wo, target)
            for q, t, req, sch, w, wo, target in json.loads(row.impact)
        ),
        decided_by=row.decided_by,
        reason=row.reason,
        created_at=row.created_at,
        decided_at=row.decided_at,
        version=row.version,
    )


def _leave_values(r: LeaveRequest) -> dict[str, Any]:
    return {
        "employee_id": r.employee_id,
        "leave_type": r.leave_type,
        "start_time": r.start_time,
        "end_time": r.end_time,
        "paid": r.paid,
        "state": r.state.value,
        "days": r.days,
        "minutes": r.minutes,
        "day_minutes": json.dumps([[d.isoformat(), m] for d, m in r.day_minutes]),
        "impact": _impact_json(r.impact),
        "decided_by": r.decided_by,
        "reason": r.reason,
        "created_at": r.created_at,
        "decided_at": r.decided_at,
        "version": r.version,
    }


class SqlLeave:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, employee_id: str, request_id: str) -> LeaveRequest | None:
        row = self._c.execute(
            select(leave_requests).where(
                leave_requests.c.id == request_id, leave_requests.c.employee_id == employee_id
            )
        ).first()
        return _leave(row) if row else None

    def add(self, r: LeaveRequest) -> None:
        self._c.execute(insert(leave_requests).values(id=r.id, **_leave_values(r)))

    def replace(self, r: LeaveRequest, *, previous_version: int) -> bool:
        result = self._c.execute(
            update(leave_requests)
            .where(leave_requests.c.id == r.id, leave_requests.c.version == previous_version)
            .values(**_leave_values(r))
        )
        return result.rowcount == 1

    def list(
        self, employee_ids: Sequence[str] | None, *, state: LeaveState | None, after: str | None, limit: int
    ) -> list[LeaveRequest]:
        query = select(leave_requests).order_by(leave_requests.c.id).limit(limit)
        if employee_ids is not None:
            query = query.where(leave_requests.c.employee_id.in_(list(employee_ids)))
        if state is not None:
            query = query.where(leave_requests.c.state == state.value)
        if after:
            query = query.where(leave_requests.c.id > after)
        return [_leave(r) for r in self._c.execute(query)]

    def approved_between(
        self, employee_ids: Sequence[str], start: datetime, end: datetime
    ) -> builtins.list[LeaveRequest]:
        rows = self._c.execute(
            select(leave_requests).where(
                leave_requests.c.employee_id.in_(list(employee_ids)),
                leave_requests.c.state == LeaveState.APPROVED.value,
                leave_requests.c.start_time < end,
                leave_requests.c.end_time > start,
            )
        )
        return [_leave(r) for r in rows]

    def balance(self, employee_id: str, leave_type: str) -> tuple[int, int] | None:
        """(remaining minutes, version), or None when no balance is kept."""
        row = self._c.execute(
            select(leave_balances.c.remaining_minutes, leave_balances.c.version).where(
                leave_balances.c.employee_id == employee_id, leave_balances.c.leave_type == leave_type
            )
        ).first()
        return (row.remaining_minutes, row.version) if row else None

    def set_balance(
        self, employee_id: str, leave_type: str, remaining: int, *, previous_version: int | None
    ) -> bool:
        if previous_version is None:
            self._c.execute(
                insert(leave_balances).values(
                    employee_id=employee_id, leave_type=leave_type, remaining_minutes=remaining, version=1
                )
            )
            return True
        result = self._c.execute(
            update(leave_balances)
            .where(
                leave_balances.c.employee_id == employee_id,
                leave_balances.c.leave_type == leave_type,
                leave_balances.c.version == previous_version,
            )
            .values(remaining_minutes=remaining, version=previous_version + 1)
        )
        return result.rowcount == 1


# ---------------------------------------------------------------- training blocks


class SqlTrainingBlocks:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def between(
        self, employee_ids: Sequence[str], start: datetime, end: datetime
    ) -> list[tuple[str, datetime, datetime]]:
        rows = self._c.execute(
            select(training_blocks).where(
                training_blocks.c.employee_id.in_(list(employee_ids)),
                training_blocks.c.start_time < end,
                training_blocks.c.end_time > start,
            )
        )
        return [(r.employee_id, r.start_time, r.end_time) for r in rows]


# ---------------------------------------------------------------- agent states and attendance


class SqlAttendance:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def record_states(self, changes: Sequence[StateChange]) -> int:
        """Stores changes not seen before; returns how many were new (the rows the insert returned:
        drivers disagree on rowcount for ON CONFLICT DO NOTHING)."""
        new = 0
        rows = [{"employee_id": c.employee_id, "time": c.time, "state": int(c.state)} for c in changes]
        for first in range(0, len(rows), 500):
            statement = (
                _dialect_insert(self._c, agent_states)
                .values(rows[first : first + 500])
                .on_conflict_do_nothing(index_elements=[agent_states.c.employee_id, agent_states.c.time])
                .returning(agent_states.c.employee_id)
            )
            new += len(self._c.execute(statement).all())
        return new

    def states(self, employee_id: str, start: datetime, end: datetime) -> list[StateChange]:
        """Changes in [start, end) in time order, preceded by the last one before `start`."""
        before = self._c.execute(
            select(agent_states)
            .where(agent_states.c.employee_id == employee_id, agent_states.c.time < start)
            .order_by(agent_states.c.time.desc())
            .limit(1)
        ).first()
        rows = self._c.execute(
            select(agent_states)
            .where(
                agent_states.c.employee_id == employee_id,
                agent_states.c.time >= start,
                agent_states.c.time < end,
            )
            .order_by(agent_states.c.time)
        ).all()
        found = ([before] if before else []) + list(rows)
        return [StateChange(r.employee_id, r.time, AgentState(r.state)) for r in found]

    def day(self, employee_id: str, day: date) -> tuple[DayFigures, str, int] | None:
        row = self._c.execute(
            select(daily_attendance).where(
                daily_attendance.c.employee_id == employee_id, daily_attendance.c.work_date == day
            )
        ).first()
        if row is None:
            return None
        return _figures(row), row.org_unit_id, row.revision

    def days(self, employee_id: str, first: date, last: date) -> list[tuple[DayFigures, int]]:
        rows = self._c.execute(
            select(daily_attendance)
            .where(
                daily_attendance.c.employee_id == employee_id,
                daily_attendance.c.work_date >= first,
                daily_attendance.c.work_date <= last,
            )
            .order_by(daily_attendance.c.work_date)
        )
        return [(_figures(r), r.revision) for r in rows]

    def put_day(self, figures: DayFigures, *, org_unit_id: str, revision: int) -> None:
        values = {
            "org_unit_id": org_unit_id,
            "scheduled_minutes": figures.scheduled_minutes,
            "adherent_minutes": figures.adherent_minutes,
            "worked_minutes": figures.worked_minutes,
            "training_minutes": figures.training_minutes,
            "overtime_minutes": figures.overtime_minutes,
            "work_day": figures.work_day,
            "revision": revision,
        }
        statement = _dialect_insert(self._c, daily_attendance).values(
            employee_id=figures.employee_id, work_date=figures.day, **values
        )
        self._c.execute(
            statement.on_conflict_do_update(
                index_elements=[daily_attendance.c.employee_id, daily_attendance.c.work_date], set_=values
            )
        )


def _figures(row: Row) -> DayFigures:
    return DayFigures(
        employee_id=row.employee_id,
        day=row.work_date,
        scheduled_minutes=row.scheduled_minutes,
        adherent_minutes=row.adherent_minutes,
        worked_minutes=row.worked_minutes,
        training_minutes=row.training_minutes,
        overtime_minutes=row.overtime_minutes,
        work_day=row.work_day,
    )


# ---------------------------------------------------------------- shift swaps


def _swap(row: Row) -> ShiftSwap:
    return ShiftSwap(
        id=row.id,
        org_unit_id=row.org_unit_id,
        requester_id=row.requester_id,
        requester_shift_start=row.requester_shift_start,
        partner_id=row.partner_id,
        partner_shift_start=row.partner_shift_start,
        state=SwapState(row.state),
        decided_by=row.decided_by,
        schedule_id=row.schedule_id,
        created_at=row.created_at,
        version=row.version,
        partner_schedule_id=row.partner_schedule_id,
    )


def _swap_values(s: ShiftSwap) -> dict[str, Any]:
    return {
        "org_unit_id": s.org_unit_id,
        "requester_id": s.requester_id,
        "requester_shift_start": s.requester_shift_start,
        "partner_id": s.partner_id,
        "partner_shift_start": s.partner_shift_start,
        "state": s.state.value,
        "decided_by": s.decided_by,
        "schedule_id": s.schedule_id,
        "created_at": s.created_at,
        "version": s.version,
        "partner_schedule_id": s.partner_schedule_id,
    }


class SqlSwaps:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, org_unit_id: str, swap_id: str) -> ShiftSwap | None:
        row = self._c.execute(
            select(shift_swaps).where(shift_swaps.c.id == swap_id, shift_swaps.c.org_unit_id == org_unit_id)
        ).first()
        return _swap(row) if row else None

    def add(self, s: ShiftSwap) -> None:
        self._c.execute(insert(shift_swaps).values(id=s.id, **_swap_values(s)))

    def replace(self, s: ShiftSwap, *, previous_version: int) -> bool:
        result = self._c.execute(
            update(shift_swaps)
            .where(shift_swaps.c.id == s.id, shift_swaps.c.version == previous_version)
            .values(**_swap_values(s))
        )
        return result.rowcount == 1

    def list(
        self,
        org_unit_id: str,
        *,
        state: SwapState | None,
        involving: Sequence[str],
        after: str | None,
        limit: int,
    ) -> builtins.list[ShiftSwap]:
        """A team's swaps in id order; with `involving`, those each of these people is part of."""
        query = (
            select(shift_swaps)
            .where(shift_swaps.c.org_unit_id == org_unit_id)
            .order_by(shift_swaps.c.id)
            .limit(limit)
        )
        if state is not None:
            query = query.where(shift_swaps.c.state == state.value)
        for employee_id in involving:
            query = query.where(
                or_(shift_swaps.c.requester_id == employee_id, shift_swaps.c.partner_id == employee_id)
            )
        if after:
            query = query.where(shift_swaps.c.id > after)
        return [_swap(r) for r in self._c.execute(query)]


# ---------------------------------------------------------------- overtime offers


def _offer(row: Row) -> OvertimeOffer:
    return OvertimeOffer(
        id=row.id,
        org_unit_id=row.org_unit_id,
        queue_id=row.queue_id,
        start=row.start_time,
        end=row.end_time,
        eligible=tuple(json.loads(row.eligible)),
        state=OfferState(row.state),
        authorized_by=row.authorized_by,
        accepted_by=row.accepted_by,
        schedule_id=row.schedule_id,
        created_at=row.created_at,
        version=row.version,
    )


def _offer_values(o: OvertimeOffer) -> dict[str, Any]:
    return {
        "org_unit_id": o.org_unit_id,
        "queue_id": o.queue_id,
        "start_time": o.start,
        "end_time": o.end,
        "eligible": json.dumps(list(o.eligible)),
        "state": o.state.value,
        "authorized_by": o.authorized_by,
        "accepted_by": o.accepted_by,
        "schedule_id": o.schedule_id,
        "created_at": o.created_at,
        "version": o.version,
    }


class SqlOvertime:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, org_unit_id: str, offer_id: str) -> OvertimeOffer | None:
        row = self._c.execute(
            select(overtime_offers).where(
                overtime_offers.c.id == offer_id, overtime_offers.c.org_unit_id == org_unit_id
            )
        ).first()
        return _offer(row) if row else None

    def add(self, o: OvertimeOffer) -> None:
        self._c.execute(insert(overtime_offers).values(id=o.id, **_offer_values(o)))

    def replace(self, o: OvertimeOffer, *, previous_version: int) -> bool:
        result = self._c.execute(
            update(overtime_offers)
            .where(overtime_offers.c.id == o.id, overtime_offers.c.version == previous_version)
            .values(**_offer_values(o))
        )
        return result.rowcount == 1

    def list(
        self,
        org_unit_id: str,
        *,
        state: OfferState | None,
        eligible: str | None,
        after: str | None,
        limit: int,
    ) -> builtins.list[OvertimeOffer]:
        """A team's offers in id order; with `eligible`, those offered to that person."""
        query = (
            select(overtime_offers)
            .where(overtime_offers.c.org_unit_id == org_unit_id)
            .order_by(overtime_offers.c.id)
            .limit(limit)
        )
        if state is not None:
            query = query.where(overtime_offers.c.state == state.value)
        if eligible is not None:
            # `eligible` holds a JSON list of ids: the quoted id matches one element exactly.
            query = query.where(overtime_offers.c.eligible.contains(json.dumps(eligible), autoescape=True))
        if after:
            query = query.where(overtime_offers.c.id > after)
        return [_offer(r) for r in self._c.execute(query)]
