"""Org unit use cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cadre.authority.policy import Action
from cadre.chassis.errors import aborted, permission_denied
from cadre.roster.app.access import Access, out_of_scope
from cadre.roster.app.ports import OrgUnitRepository, RosterUnit
from cadre.roster.domain import org_unit as rules
from cadre.roster.domain.events import OrgUnitCreated, OrgUnitMoved, OrgUnitUpdated
from cadre.roster.domain.org_unit import OrgUnit, OrgUnitKind, new_org_unit


def require_unit(units: OrgUnitRepository, access: Access, unit_id: str, *, field: str) -> OrgUnit:
    """The unit, if the caller may know of it."""
    unit = units.get(unit_id)
    if unit is None:
        raise access.missing(
            "ORG_UNIT_NOT_FOUND", f"{field}: no such org unit", field=field, org_unit=unit_id
        )
    return unit


def create_org_unit(
    unit: RosterUnit,
    access: Access,
    *,
    unit_id: str,
    display_name: str,
    kind: OrgUnitKind | None,
    parent_id: str | None,
    time_zone: str,
    site: str,
    now: datetime,
) -> OrgUnit:
    parent = require_unit(unit.org_units, access, parent_id, field="org_unit.parent") if parent_id else None
    if parent is None and not access.is_administrator:
        raise permission_denied("ADMINISTRATOR_ONLY", "only an administrator creates a center")
    acting_under = access.require(Action.MANAGE_ORG, parent.path) if parent else "ALLOWED_AS_ADMINISTRATOR"
    created = new_org_unit(
        unit_id=unit_id,
        display_name=display_name,
        kind=kind,
        parent=parent,
        time_zone=time_zone,
        site=site,
        now=now,
    )
    unit.org_units.add(created)
    unit.record(OrgUnitCreated(created), acting_under=acting_under)
    return created


def get_org_unit(units: OrgUnitRepository, access: Access, *, unit_id: str) -> OrgUnit:
    found = require_unit(units, access, unit_id, field="name")
    if not access.can_see_unit(found.path):
        raise out_of_scope()
    return found


def list_org_units(
    units: OrgUnitRepository, access: Access, *, parent_id: str | None, after: str | None, limit: int
) -> Sequence[OrgUnit]:
    if parent_id:
        get_org_unit(units, access, unit_id=parent_id)
    # Scoped callers see few units: filter here rather than teach SQL the scope rule.
    listed = units.list(parent_id=parent_id, after=after, limit=limit)
    return [u for u in listed if access.can_see_unit(u.path)]


def _check_version(unit: OrgUnit, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != unit.version:
        raise aborted("ETAG_MISMATCH", "the unit changed since it was read; read it again", org_unit=unit.id)


def update_org_unit(
    unit: RosterUnit,
    access: Access,
    *,
    unit_id: str,
    fields: frozenset[str],
    display_name: str,
    time_zone: str,
    site: str,
    expected_version: int | None,
) -> OrgUnit:
    current = get_org_unit(unit.org_units, access, unit_id=unit_id)
    acting_under = access.require(Action.MANAGE_ORG, current.path)
    _check_version(current, expected_version)
    changed = rules.update(current, fields=fields, display_name=display_name, time_zone=time_zone, site=site)
    unit.org_units.save(changed, expected_version=current.version)
    unit.record(OrgUnitUpdated(current, changed), acting_under=acting_under)
    return changed


def move_org_unit(
    unit: RosterUnit, access: Access, *, unit_id: str, new_parent_id: str, expected_version: int | None
) -> OrgUnit:
    current = get_org_unit(unit.org_units, access, unit_id=unit_id)
    new_parent = require_unit(unit.org_units, access, new_parent_id, field="new_parent")
    # Authority over the unit where it is and over where it goes.
    chains = [
        access.require(Action.MANAGE_ORG, current.path),
        access.require(Action.MANAGE_ORG, new_parent.path),
    ]
    _check_version(current, expected_version)
    moved = rules.move(current, new_parent)
    unit.org_units.save(moved, expected_version=current.version)
    unit.org_units.move_subtree(old_path=current.path, new_path=moved.path)
    unit.record(OrgUnitMoved(current, moved), acting_under=" + ".join(dict.fromkeys(chains)))
    return moved
