"""The org tree: center → department → team, each with a time zone and a site."""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cadre.chassis.errors import Violations, invalid_field

MAX_NAME_LENGTH = 200


class OrgUnitKind(enum.Enum):
    CENTER = "CENTER"
    DEPARTMENT = "DEPARTMENT"
    TEAM = "TEAM"


# Where each kind may sit: a department under a center, a team under a department.
PARENT_KIND: dict[OrgUnitKind, OrgUnitKind | None] = {
    OrgUnitKind.CENTER: None,
    OrgUnitKind.DEPARTMENT: OrgUnitKind.CENTER,
    OrgUnitKind.TEAM: OrgUnitKind.DEPARTMENT,
}


@dataclass(frozen=True)
class OrgUnit:
    id: str
    display_name: str
    kind: OrgUnitKind
    parent_id: str | None
    time_zone: str
    site: str
    # Ids from the root down to this unit, this unit last: "is X in Y's subtree" is
    # one prefix check.
    path: tuple[str, ...]
    created_at: datetime
    version: int = 1

    def contains(self, other: OrgUnit) -> bool:
        return other.path[: len(self.path)] == self.path

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def check_display_name(name: str, field_path: str, violations: Violations) -> None:
    if not name.strip():
        violations.add(field_path, "REQUIRED_FIELD_MISSING", "must not be empty")
    elif len(name) > MAX_NAME_LENGTH:
        violations.add(field_path, "FIELD_TOO_LONG", f"must be at most {MAX_NAME_LENGTH} characters")


def _valid_time_zone(name: str) -> bool:
    if name not in available_timezones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def new_org_unit(
    *,
    unit_id: str,
    display_name: str,
    kind: OrgUnitKind | None,
    parent: OrgUnit | None,
    time_zone: str,
    site: str,
    now: datetime,
) -> OrgUnit:
    """Validates a new unit against its parent; time zone and site are inherited when empty."""
    violations = Violations()
    check_display_name(display_name, "org_unit.display_name", violations)
    if kind is None:
        violations.add("org_unit.kind", "REQUIRED_FIELD_MISSING", "must be CENTER, DEPARTMENT or TEAM")
    if time_zone and not _valid_time_zone(time_zone):
        violations.add(
            "org_unit.time_zone", "UNKNOWN_TIME_ZONE", "must be an IANA time zone, e.g. Europe/Berlin"
        )
    if len(site) > MAX_NAME_LENGTH:
        violations.add("org_unit.site", "FIELD_TOO_LONG", f"must be at most {MAX_NAME_LENGTH} characters")
    violations.raise_if_any()
    assert kind is not None
    expected_parent = PARENT_KIND[kind]
    if expected_parent is None and parent is not None:
        raise invalid_field("org_unit.parent", "CENTER_HAS_NO_PARENT", "a center is the root of its tree")
    if expected_parent is not None:
        if parent is None:
            raise invalid_field(
                "org_unit.parent",
                "REQUIRED_FIELD_MISSING",
                f"a {kind.value.lower()} needs a parent {expected_parent.value.lower()}",
            )
        if parent.kind is not expected_parent:
            raise invalid_field(
                "org_unit.parent",
                "WRONG_PARENT_KIND",
                f"a {kind.value.lower()} sits under a {expected_parent.value.lower()}, "
                f"not a {parent.kind.value.lower()}",
            )
    if not time_zone:
        if parent is None:
            raise invalid_field("org_unit.time_zone", "REQUIRED_FIELD_MISSING", "a center needs a time zone")
        time_zone = parent.time_zone
    return OrgUnit(
        id=unit_id,
        display_name=display_name.strip(),
        kind=kind,
        parent_id=parent.id if parent else None,
        time_zone=time_zone,
        site=site.strip() or (parent.site if parent else ""),
        path=(*parent.path, unit_id) if parent else (unit_id,),
        created_at=now,
    )


UPDATABLE = frozenset({"display_name", "time_zone", "site"})


def update(
    current: OrgUnit, *, fields: frozenset[str], display_name: str, time_zone: str, site: str
) -> OrgUnit:
    """A renamed unit, or one with another time zone or site; version bumped."""
    for field in sorted(fields - UPDATABLE):
        reason = "PARENT_CHANGES_BY_MOVE" if field == "parent" else "NOT_UPDATABLE"
        raise invalid_field(
            f"update_mask.{field}", reason, "UpdateOrgUnit changes display_name, time_zone and site"
        )
    violations = Violations()
    if "display_name" in fields:
        check_display_name(display_name, "org_unit.display_name", violations)
    if "time_zone" in fields and not _valid_time_zone(time_zone):
        violations.add(
            "org_unit.time_zone", "UNKNOWN_TIME_ZONE", "must be an IANA time zone, e.g. Europe/Berlin"
        )
    if "site" in fields and len(site) > MAX_NAME_LENGTH:
        violations.add("org_unit.site", "FIELD_TOO_LONG", f"must be at most {MAX_NAME_LENGTH} characters")
    violations.raise_if_any()
    return replace(
        current,
        display_name=display_name.strip() if "display_name" in fields else current.display_name,
        time_zone=time_zone if "time_zone" in fields else current.time_zone,
        site=site.strip() if "site" in fields else current.site,
        version=current.version + 1,
    )


def move(unit: OrgUnit, new_parent: OrgUnit) -> OrgUnit:
    """The unit under `new_parent`; its subtree's paths follow (the caller rewrites them)."""
    expected = PARENT_KIND[unit.kind]
    if expected is None:
        raise invalid_field("name", "CENTER_HAS_NO_PARENT", "a center is the root of its tree")
    if new_parent.kind is not expected:
        raise invalid_field(
            "new_parent",
            "WRONG_PARENT_KIND",
            f"a {unit.kind.value.lower()} sits under a {expected.value.lower()}, "
            f"not a {new_parent.kind.value.lower()}",
        )
    if unit.contains(new_parent):
        raise invalid_field("new_parent", "MOVE_INTO_OWN_SUBTREE", "a unit cannot move under itself")
    if new_parent.id == unit.parent_id:
        raise invalid_field("new_parent", "ALREADY_THERE", "the unit already sits under this parent")
    return replace(unit, parent_id=new_parent.id, path=(*new_parent.path, unit.id), version=unit.version + 1)
