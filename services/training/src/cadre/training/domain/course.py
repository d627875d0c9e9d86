"""Courses: what passing certifies, how long it takes, what it needs first."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from datetime import datetime

from cadre.chassis.errors import Violations, invalid_field

COURSE_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
SKILL_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")  # roster's skill codes
MAX_DURATION_MINUTES = 80 * 60
MAX_VALIDITY_MONTHS = 120


class Delivery(enum.Enum):
    CLASSROOM = "CLASSROOM"
    VIRTUAL = "VIRTUAL"
    SELF_PACED = "SELF_PACED"


@dataclass(frozen=True)
class SkillRequirement:
    skill: str
    min_level: int


@dataclass(frozen=True)
class CourseSpec:
    """What a caller says about a course; `Course` adds identity and version."""

    code: str
    title: str
    skill: str
    level: int
    duration_minutes: int
    pass_mark: int
    validity_months: int
    prerequisite_courses: tuple[str, ...]
    prerequisite_skills: tuple[SkillRequirement, ...]
    delivery: Delivery | None
    required_for_queues: tuple[str, ...]


@dataclass(frozen=True)
class Course:
    id: str
    spec: CourseSpec
    created_at: datetime
    version: int = 1


def check_spec(spec: CourseSpec, *, course_id: str = "") -> None:
    v = Violations()
    if not COURSE_CODE.match(spec.code):
        v.add("course.code", "MALFORMED_COURSE_CODE", "1–32 upper-case letters, digits, - and _")
    if not spec.title.strip() or len(spec.title) > 200:
        v.add("course.title", "OUT_OF_RANGE", "must be 1–200 characters")
    if not SKILL_CODE.match(spec.skill):
        v.add("course.skill", "MALFORMED_SKILL_CODE", "lower-case letters, digits, - and _")
    if not 1 <= spec.level <= 5:
        v.add("course.level", "OUT_OF_RANGE", "must be 1–5")
    if not 15 <= spec.duration_minutes <= MAX_DURATION_MINUTES:
        v.add("course.duration_minutes", "OUT_OF_RANGE", f"must be 15–{MAX_DURATION_MINUTES}")
    if not 0 <= spec.pass_mark <= 100:
        v.add("course.pass_mark", "OUT_OF_RANGE", "must be 0–100")
    if not 0 <= spec.validity_months <= MAX_VALIDITY_MONTHS:
        v.add("course.validity_months", "OUT_OF_RANGE", f"must be 0–{MAX_VALIDITY_MONTHS}")
    if spec.delivery is None:
        v.add("course.delivery", "REQUIRED_FIELD_MISSING", "must be set")
    if course_id and course_id in spec.prerequisite_courses:
        v.add("course.prerequisite_courses", "SELF_PREREQUISITE", "a course cannot require itself")
    if len(set(spec.prerequisite_courses)) != len(spec.prerequisite_courses):
        v.add("course.prerequisite_courses", "DUPLICATE", "a course is listed twice")
    for index, requirement in enumerate(spec.prerequisite_skills):
        if not SKILL_CODE.match(requirement.skill):
            v.add(f"course.prerequisite_skills[{index}].skill", "MALFORMED_SKILL_CODE", "not a skill code")
        if not 1 <= requirement.min_level <= 5:
            v.add(f"course.prerequisite_skills[{index}].min_level", "OUT_OF_RANGE", "must be 1–5")
    if len(spec.prerequisite_courses) > 20 or len(spec.prerequisite_skills) > 20:
        v.add("course.prerequisite_courses", "TOO_MANY", "at most 20 prerequisites of each kind")
    if len(spec.required_for_queues) > 200:
        v.add("course.required_for_queues", "TOO_MANY", "at most 200 queues")
    v.raise_if_any()


UPDATABLE = frozenset(
    {
        "title",
        "pass_mark",
        "validity_months",
        "prerequisite_courses",
        "prerequisite_skills",
        "delivery",
        "required_for_queues",
    }
)
FIXED = {
    "code": "a course keeps its code; create a new course",
    "skill": "what a course certifies is fixed: certifications already granted name it",
    "level": "what a course certifies is fixed: certifications already granted name it",
    "duration_minutes": "sessions already scheduled are as long as the course",
}


def update(current: Course, proposed: CourseSpec, fields: frozenset[str]) -> Course:
    for name in sorted(fields):
        if name in FIXED:
            raise invalid_field(f"update_mask.{name}", "FIELD_FIXED", FIXED[name])
        if name not in UPDATABLE:
            raise invalid_field("update_mask", "UNKNOWN_FIELD", f"{name} is not a field UpdateCourse changes")
    if not fields:
        raise invalid_field("update_mask", "REQUIRED_FIELD_MISSING", "name the fields to change")
    spec = replace(current.spec, **{name: getattr(proposed, name) for name in fields})
    check_spec(spec, course_id=current.id)
    return replace(current, spec=spec, version=current.version + 1)
