"""Certifications: granted on passing, renewed by passing again, lapsing after their validity."""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass, replace
from datetime import date, timedelta

from cadre.training.domain.course import Course


class CertificationState(enum.Enum):
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class Certification:
    id: str
    employee_id: str
    course_id: str
    skill: str
    level: int
    grant_date: date
    expire_date: date | None
    state: CertificationState
    enrollment_id: str  # the passing enrollment's resource name
    version: int = 1

    def current_on(self, day: date) -> bool:
        return self.state is CertificationState.ACTIVE and (
            self.expire_date is None or day <= self.expire_date
        )


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it has fewer days."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def last_valid_day(course: Course, granted: date) -> date | None:
    """Valid for `validity_months` from the day of passing: the day before the same date then."""
    if course.spec.validity_months == 0:
        return None
    return add_months(granted, course.spec.validity_months) - timedelta(days=1)


def grant_or_renew(
    existing: Certification | None,
    *,
    certification_id: str,
    employee_id: str,
    course: Course,
    enrollment_id: str,
    today: date,
) -> Certification:
    """A new certification, or the person's one for this course renewed from today."""
    expire = last_valid_day(course, today)
    if existing is not None:
        return replace(
            existing,
            level=course.spec.level,
            grant_date=today,
            expire_date=expire,
            state=CertificationState.ACTIVE,
            enrollment_id=enrollment_id,
            version=existing.version + 1,
        )
    return Certification(
        id=certification_id,
        employee_id=employee_id,
        course_id=course.id,
        skill=course.spec.skill,
        level=course.spec.level,
        grant_date=today,
        expire_date=expire,
        state=CertificationState.ACTIVE,
        enrollment_id=enrollment_id,
    )


def lapse(certification: Certification, *, today: date) -> Certification | None:
    """Expired once its last valid day is behind `today` (in the person's team time zone)."""
    if certification.state is not CertificationState.ACTIVE or certification.expire_date is None:
        return None
    if today <= certification.expire_date:
        return None
    return replace(certification, state=CertificationState.EXPIRED, version=certification.version + 1)


def prerequisites_missing(
    course: Course,
    *,
    certified_courses: set[str],
    skills: dict[str, tuple[int, date | None]],
    on: date,
) -> list[str]:
    """What the person lacks, as readable items; empty when they may take the course."""
    missing = [f"courses/{c}" for c in course.spec.prerequisite_courses if c not in certified_courses]
    for requirement in course.spec.prerequisite_skills:
        held = skills.get(requirement.skill)
        if held is None or held[0] < requirement.min_level or (held[1] is not None and held[1] < on):
            missing.append(f"skill {requirement.skill} at level {requirement.min_level}")
    return missing
