"""Shift templates: when a shift may start, how long it lasts, where breaks and lunch go."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from cadre.chassis.errors import Violations, aborted, invalid_field

STEPS = (15, 30, 60)
MIN_LENGTH, MAX_LENGTH = 60, 16 * 60


class BreakKind(enum.Enum):
    BREAK = "BREAK"
    LUNCH = "LUNCH"


@dataclass(frozen=True)
class BreakRule:
    kind: BreakKind
    length_minutes: int
    earliest_offset_minutes: int
    latest_offset_minutes: int
    paid: bool


@dataclass(frozen=True)
class TemplateSettings:
    display_name: str
    earliest_start_minute: int
    latest_start_minute: int
    start_step_minutes: int
    length_minutes: int
    breaks: tuple[BreakRule, ...]
    employment_types: tuple[int, ...]  # roster's numbers; empty = any

    def starts(self) -> list[int]:
        """Allowed start minutes after local midnight."""
        return list(range(self.earliest_start_minute, self.latest_start_minute + 1, self.start_step_minutes))

    @property
    def paid_minutes(self) -> int:
        return self.length_minutes - sum(b.length_minutes for b in self.breaks if not b.paid)


@dataclass(frozen=True)
class ShiftTemplate:
    id: str
    org_unit_id: str
    settings: TemplateSettings
    created_at: datetime
    version: int


FIELDS = (
    "display_name",
    "earliest_start_minute",
    "latest_start_minute",
    "start_step_minutes",
    "length_minutes",
    "breaks",
    "employment_types",
)


def check_settings(s: TemplateSettings, prefix: str = "shift_template") -> None:
    v = Violations()
    if not 1 <= len(s.display_name.strip()) <= 200:
        v.add(f"{prefix}.display_name", "DISPLAY_NAME_INVALID", "must be 1–200 characters")
    if s.start_step_minutes not in STEPS:
        v.add(f"{prefix}.start_step_minutes", "STEP_INVALID", "must be 15, 30 or 60")
    if not 0 <= s.earliest_start_minute < 1440:
        v.add(f"{prefix}.earliest_start_minute", "OUT_OF_RANGE", "must be 0–1439")
    if not s.earliest_start_minute <= s.latest_start_minute < 1440:
        v.add(f"{prefix}.latest_start_minute", "OUT_OF_RANGE", "must be from earliest_start_minute to 1439")
    if not MIN_LENGTH <= s.length_minutes <= MAX_LENGTH:
        v.add(f"{prefix}.length_minutes", "OUT_OF_RANGE", f"must be {MIN_LENGTH}–{MAX_LENGTH}")
    elif s.length_minutes % 15:
        v.add(f"{prefix}.length_minutes", "OFF_GRID", "must be a multiple of 15")
    lunches = 0
    for i, b in enumerate(s.breaks):
        field = f"{prefix}.breaks[{i}]"
        lunches += b.kind is BreakKind.LUNCH
        if not 5 <= b.length_minutes <= 120:
            v.add(f"{field}.length_minutes", "OUT_OF_RANGE", "must be 5–120")
        if b.earliest_offset_minutes < 0 or b.latest_offset_minutes < b.earliest_offset_minutes:
            v.add(
                f"{field}.latest_offset_minutes", "OUT_OF_RANGE", "must not be before earliest_offset_minutes"
            )
        elif b.latest_offset_minutes + b.length_minutes > s.length_minutes:
            v.add(f"{field}.latest_offset_minutes", "OUTSIDE_SHIFT", "the break would end after the shift")
    if lunches > 1:
        v.add(f"{prefix}.breaks", "TOO_MANY_LUNCHES", "at most one lunch per shift")
    for i, kind in enumerate(s.employment_types):
        if kind not in (1, 2, 3):
            v.add(
                f"{prefix}.employment_types[{i}]",
                "EMPLOYMENT_TYPE_INVALID",
                "must be a known employment type",
            )
    v.raise_if_any()


def new_template(
    *, template_id: str, org_unit_id: str, settings: TemplateSettings, now: datetime
) -> ShiftTemplate:
    check_settings(settings)
    return ShiftTemplate(template_id, org_unit_id, settings, now, 1)


def check_version(template: ShiftTemplate, expected: int | None) -> None:
    if expected is not None and expected != template.version:
        raise aborted("ETAG_MISMATCH", "etag: the shift template changed since it was read; read it again")


def update_template(template: ShiftTemplate, *, changes: Mapping[str, object]) -> ShiftTemplate:
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise invalid_field("update_mask", "UNKNOWN_FIELD", f"cannot update {sorted(unknown)[0]}")
    settings = replace(template.settings, **changes)  # type: ignore[arg-type]
    check_settings(settings)
    return replace(template, settings=settings, version=template.version + 1)
