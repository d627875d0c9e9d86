"""Org unit use cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cadre.authority.policy import Action
from cadre.chassis.errors import permission_denied
from cadre.roster.app.access import Access, out_of_scope
from cadre.roster.app.ports import OrgUnitRepository, RosterUnit
from cadre.roster.domain.events import OrgUnitCreated
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
