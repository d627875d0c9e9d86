"""Reconciliation: scheduled vs worked vs paid minutes of one person on one day.

Every difference is flagged with what it means, so a team leader sees why a day pays what
it pays before disputing it. Minutes, not money: money follows from the statement.

- `scheduled`: paid time the published schedule planned.
- `worked`: logged-in time recorded by attendance, `overtime` of it inside accepted overtime.
- `paid`: what the statement pays for that day — regular work up to the schedule (a monthly
  wage pays the scheduled time, an hourly wage the regular worked time), the recorded
  overtime, paid leave and paid training.
"""

from __future__ import annotations

from dataclasses import dataclass

WORKED_LESS_THAN_SCHEDULED = "WORKED_LESS_THAN_SCHEDULED"
WORKED_BEYOND_SCHEDULE_UNPAID = "WORKED_BEYOND_SCHEDULE_UNPAID"
NO_ATTENDANCE = "NO_ATTENDANCE"
OVERTIME_NOT_ACCEPTED = "OVERTIME_NOT_ACCEPTED"
ACCEPTED_OVERTIME_NOT_WORKED = "ACCEPTED_OVERTIME_NOT_WORKED"
NOT_EMPLOYED = "NOT_EMPLOYED"


@dataclass(frozen=True)
class DayFacts:
    scheduled: int = 0
    worked: int = 0
    overtime: int = 0  # of `worked`, inside accepted overtime (attendance)
    accepted_overtime: int = 0  # overtime accepted for the day (scheduling's offers)
    paid_leave: int = 0
    unpaid_leave: int = 0
    training: int = 0  # paid training time
    has_attendance: bool = False
    employed: bool = True
    hourly: bool = False


@dataclass(frozen=True)
class Discrepancy:
    code: str
    minutes: int
    explanation: str


@dataclass(frozen=True)
class ReconciledDay:
    scheduled: int
    worked: int
    paid: int
    discrepancies: tuple[Discrepancy, ...]


def reconcile_day(facts: DayFacts) -> ReconciledDay:
    found: list[Discrepancy] = []
    regular = max(0, facts.worked - facts.overtime)
    if not facts.employed:
        paid = 0
        if facts.worked or facts.scheduled:
            found.append(
                Discrepancy(
                    NOT_EMPLOYED,
                    facts.worked,
                    "time recorded on a day the person was not employed; nothing is paid for it",
                )
            )
        return ReconciledDay(facts.scheduled, facts.worked, paid, tuple(found))
    base = regular if facts.hourly else facts.scheduled
    paid = base + facts.overtime + facts.paid_leave + facts.training
    if facts.scheduled and not facts.has_attendance:
        found.append(
            Discrepancy(
                NO_ATTENDANCE,
                facts.scheduled,
                "scheduled but no attendance was recorded; check the agent's log-in or record leave",
            )
        )
    covered = regular + facts.paid_leave + facts.unpaid_leave + facts.training
    if facts.has_attendance and covered < facts.scheduled:
        found.append(
            Discrepancy(
                WORKED_LESS_THAN_SCHEDULED,
                facts.scheduled - covered,
                "fewer minutes worked than scheduled and no approved leave or training covers the gap"
                + ("; the hourly wage pays only the worked time" if facts.hourly else ""),
            )
        )
    if regular > facts.scheduled:
        found.append(
            Discrepancy(
                WORKED_BEYOND_SCHEDULE_UNPAID,
                regular - facts.scheduled,
                "worked beyond the schedule outside accepted overtime"
                + ("" if facts.hourly else "; a monthly wage does not pay it")
                + " — accept overtime for it or dispute the day",
            )
        )
    if facts.overtime > facts.accepted_overtime:
        found.append(
            Discrepancy(
                OVERTIME_NOT_ACCEPTED,
                facts.overtime - facts.accepted_overtime,
                "attendance records more overtime than was accepted for the day; it is paid as recorded",
            )
        )
    elif facts.accepted_overtime > facts.overtime:
        found.append(
            Discrepancy(
                ACCEPTED_OVERTIME_NOT_WORKED,
                facts.accepted_overtime - facts.overtime,
                "overtime was accepted but not worked; only worked overtime is paid",
            )
        )
    return ReconciledDay(facts.scheduled, facts.worked, paid, tuple(found))
