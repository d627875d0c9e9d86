"""Schedule generation (rostering) with OR-Tools CP-SAT: plain Python, no I/O.

Entry points (see ``problem.py`` for the data they take and give):

* ``generate_schedule(problem, params) -> ScheduleResult`` — shifts, breaks, coverage,
  objective, proven lower bound, and the rules that could not be met;
* ``reoptimize(problem, previous, params) -> ScheduleResult`` — the same, changing as few
  (employee, day) assignments of ``previous`` as it can;
* ``validate(problem, result) -> list[Violation]`` — an independent check of every hard rule;
* ``plan_shift_counts(problem, params) -> ShiftCountPlan`` — how many shifts of each
  (queue, day, template, start) best cover the requirement, ignoring who works them.
"""

from cadre.scheduling.domain.rostering.coverage import coverage_report
from cadre.scheduling.domain.rostering.shift_count import ShiftCountPlan, plan_shift_counts
from cadre.scheduling.domain.rostering.solver import generate_schedule, reoptimize
from cadre.scheduling.domain.rostering.validator import validate

__all__ = [
    "ShiftCountPlan",
    "coverage_report",
    "generate_schedule",
    "plan_shift_counts",
    "reoptimize",
    "validate",
]
