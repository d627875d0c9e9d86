"""Org unit use cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cadre.chassis.errors import not_found
from cadre.roster.app.ports import OrgUnitRepository, RosterUnit
from cadre.roster.domain.events import OrgUnitCreated
from cadre.roster.domain.org_unit import OrgUnit, OrgUnitKind, new_org_unit


def require_unit(units: OrgUnitRepository, unit_id: str, *, field: str) -> OrgUnit:
    unit = units.get(unit_id)
    if unit is None:
        raise not_found("ORG_UNIT_NOT_FOUND", f"{field}: no such org unit", field=field, org_unit=unit_id)
    return unit


def create_org_unit(
    unit: RosterUnit,
    *,
    unit_id: str,
    display_name: str,
    kind: OrgUnitKind | None,
    parent_id: str | None,
    time_zone: str,
    site: str,
    now: datetime,
) -> OrgUnit:
    parent = require_unit(unit.org_units, parent_id, field="org_unit.parent") if parent_id else None
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
    unit.record(OrgUnitCreated(created))
    return created


def get_org_unit(units: OrgUnitRepository, *, unit_id: str) -> OrgUnit:
    return require_unit(units, unit_id, field="name")


def list_org_units(
    units: OrgUnitRepository, *, parent_id: str | None, after: str | None, limit: int
) -> Sequence[OrgUnit]:
    if parent_id:
        require_unit(units, parent_id, field="parent")
    return units.list(parent_id=parent_id, after=after, limit=limit)
