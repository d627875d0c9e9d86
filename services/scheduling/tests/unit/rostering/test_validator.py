"""The independent validator finds every kind of broken rule in schedules written by hand."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

from cadre.scheduling.domain.rostering import coverage_report, validate
from cadre.scheduling.domain.rostering.problem import (
    ActivityKind,
    Assignment,
    AvailabilityWindow,
    BlockedTime,
    BlockKind,
    Contract,
    Method,
    PlacedActivity,
    PreviousShift,
    RosteringProblem,
    Rule,
    ScheduleResult,
    SolveStatus,
)


def shift(
    kit: SimpleNamespace, employee_id: str, day: date, hour: int, *, break_after: int = 60
) -> Assignment:
    start = kit.at(day, hour)
    pause = start + timedelta(minutes=break_after)
    return Assignment(
        employee_id=employee_id,
        day=day,
        template_id="day",
        queue_id="q1",
        start_minute=hour * 60,
        start=start,
        end=start + timedelta(minutes=480),
        paid_minutes=480,
        activities=(PlacedActivity(ActivityKind.BREAK, pause, pause + timedelta(minutes=15), True),),
    )


def result_of(problem: RosteringProblem, assignments: list[Assignment]) -> ScheduleResult:
    coverage, short = coverage_report(problem, assignments)
    return ScheduleResult(
        status=SolveStatus.FEASIBLE,
        method=Method.FULL,
        assignments=tuple(assignments),
        coverage=coverage,
        objective=0.0,
        lower_bound=0.0,
        short_intervals=short,
    )


def rules(problem: RosteringProblem, assignments: list[Assignment]) -> set[tuple[Rule, str | None]]:
    return {(v.rule, v.employee_id) for v in validate(problem, result_of(problem, assignments))}


def test_a_schedule_that_keeps_every_rule_passes(kit: SimpleNamespace) -> None:
    problem = kit.make_problem([kit.person("ann"), kit.person("bob")])
    schedule = [shift(kit, "ann", kit.day_after(d), 8) for d in range(3)] + [shift(kit, "bob", kit.MONDAY, 9)]
    assert validate(problem, result_of(problem, schedule)) == []


def test_rest_after_the_previous_weeks_late_shift_is_checked(kit: SimpleNamespace) -> None:
    sunday = kit.MONDAY - timedelta(days=1)
    late = PreviousShift(kit.at(sunday, 15), kit.at(sunday, 23))
    wide = (kit.template("day", 7 * 60, 12 * 60, 480, with_break=True),)
    problem = kit.make_problem([kit.person("ann", previous_shifts=(late,))], templates=wide)
    # 23:00 -> 07:00 is 8 h of rest, the contract wants 11 h
    assert (Rule.MIN_REST, "ann") in rules(problem, [shift(kit, "ann", kit.MONDAY, 7)])
    assert rules(problem, [shift(kit, "ann", kit.MONDAY, 10)]) == set()


def test_consecutive_days_count_the_previous_week(kit: SimpleNamespace) -> None:
    previous = tuple(
        PreviousShift(kit.at(kit.MONDAY - timedelta(days=k), 8), kit.at(kit.MONDAY - timedelta(days=k), 16))
        for k in range(1, 6)
    )
    contract = Contract(0, 2400, 5, 6, 660, 600)
    problem = kit.make_problem([kit.person("ann", previous_shifts=previous, contract=contract)])
    two_days = [shift(kit, "ann", kit.day_after(d), 8) for d in range(2)]  # 5 + 2 = 7 in a row
    assert (Rule.MAX_CONSECUTIVE_DAYS, "ann") in rules(problem, two_days)
    assert rules(problem, two_days[:1]) == set()


def test_contract_skill_availability_blocked_and_breaks(kit: SimpleNamespace) -> None:
    leave = BlockedTime(kit.at(kit.day_after(1), 0), kit.at(kit.day_after(2), 0), BlockKind.LEAVE)
    problem = kit.make_problem(
        [
            kit.person("ann", contract=Contract(0, 900, 1, 6, 660, 600)),
            kit.person("bob", queues=frozenset({"other"})),
            kit.person("cid", availability=(AvailabilityWindow(0, 12 * 60, 20 * 60),)),
            kit.person("dee", blocked=(leave,)),
            kit.person("eve"),
            kit.person("fay", contract=Contract(2000, 2400, 5, 6, 660, 600)),
        ]
    )
    found = rules(
        problem,
        [
            shift(kit, "ann", kit.MONDAY, 8),
            shift(kit, "ann", kit.day_after(1), 8),  # 2 days > 1, 960 min > 900
            shift(kit, "bob", kit.MONDAY, 8),  # not skilled for q1
            shift(kit, "cid", kit.MONDAY, 8),  # available from 12:00 only
            shift(kit, "dee", kit.day_after(1), 8),  # on leave
            shift(kit, "eve", kit.MONDAY, 8, break_after=200),  # break window is 60-120 min
            shift(kit, "fay", kit.MONDAY, 8),  # 480 paid minutes < 2000
        ],
    )
    assert found >= {
        (Rule.MAX_WORKING_DAYS, "ann"),
        (Rule.MAX_WEEKLY_MINUTES, "ann"),
        (Rule.SKILL, "bob"),
        (Rule.AVAILABILITY, "cid"),
        (Rule.BLOCKED_TIME, "dee"),
        (Rule.BREAK_PLACEMENT, "eve"),
        (Rule.MIN_WEEKLY_MINUTES, "fay"),
    }


def test_two_shifts_a_day_and_a_start_outside_the_window(kit: SimpleNamespace) -> None:
    problem = kit.make_problem([kit.person("ann")])
    found = rules(problem, [shift(kit, "ann", kit.MONDAY, 8), shift(kit, "ann", kit.MONDAY, 9)])
    assert (Rule.ONE_SHIFT_PER_DAY, "ann") in found and (Rule.OVERLAP, "ann") in found
    assert (Rule.START_WINDOW, "ann") in rules(problem, [shift(kit, "ann", kit.MONDAY, 12)])


def test_misreported_coverage_is_caught(kit: SimpleNamespace) -> None:
    problem = kit.make_problem([kit.person("ann")])
    honest = result_of(problem, [shift(kit, "ann", kit.MONDAY, 8)])
    inflated = ScheduleResult(
        status=honest.status,
        method=honest.method,
        assignments=honest.assignments,
        coverage=tuple(
            type(c)(c.queue_id, c.required, tuple(v + 1 for v in c.scheduled)) for c in honest.coverage
        ),
        objective=0.0,
        lower_bound=0.0,
    )
    assert validate(problem, honest) == []
    assert {v.rule for v in validate(problem, inflated)} == {Rule.COVERAGE_REPORT}
