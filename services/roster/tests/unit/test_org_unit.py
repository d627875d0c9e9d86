from datetime import UTC, datetime

import pytest

from cadre.chassis.errors import DomainError
from cadre.roster.domain.org_unit import OrgUnitKind, new_org_unit

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def unit(kind: OrgUnitKind, parent=None, unit_id: str = "u", **overrides):
    fields = {"display_name": "Unit", "time_zone": "", "site": ""} | overrides
    if kind is OrgUnitKind.CENTER and not fields["time_zone"]:
        fields["time_zone"] = "America/Sao_Paulo"
    return new_org_unit(unit_id=unit_id, kind=kind, parent=parent, now=NOW, **fields)


def test_tree_paths_and_inherited_zone_and_site() -> None:
    center = unit(OrgUnitKind.CENTER, unit_id="c", site="Campinas")
    department = unit(OrgUnitKind.DEPARTMENT, center, "d")
    team = unit(OrgUnitKind.TEAM, department, "t", time_zone="America/Manaus")
    assert team.path == ("c", "d", "t")
    assert department.time_zone == "America/Sao_Paulo" and team.time_zone == "America/Manaus"
    assert team.site == "Campinas"
    assert center.contains(team) and department.contains(team)
    assert not team.contains(department)


@pytest.mark.parametrize(
    ("kind", "parent_kind", "reason"),
    [
        (OrgUnitKind.TEAM, OrgUnitKind.CENTER, "WRONG_PARENT_KIND"),
        (OrgUnitKind.DEPARTMENT, OrgUnitKind.DEPARTMENT, "WRONG_PARENT_KIND"),
        (OrgUnitKind.CENTER, OrgUnitKind.CENTER, "CENTER_HAS_NO_PARENT"),
        (OrgUnitKind.TEAM, None, "REQUIRED_FIELD_MISSING"),
    ],
)
def test_units_sit_only_where_their_kind_belongs(kind, parent_kind, reason) -> None:
    center = unit(OrgUnitKind.CENTER, unit_id="c")
    parents = {
        OrgUnitKind.CENTER: center,
        OrgUnitKind.DEPARTMENT: unit(OrgUnitKind.DEPARTMENT, center, "d"),
        None: None,
    }
    with pytest.raises(DomainError) as raised:
        unit(kind, parents[parent_kind], "x")
    assert raised.value.reason == reason
    assert raised.value.violations[0].field == "org_unit.parent"


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(DomainError) as raised:
        new_org_unit(
            unit_id="x",
            display_name=" ",
            kind=None,
            parent=None,
            time_zone="Mars/Olympus",
            site="s" * 300,
            now=NOW,
        )
    assert {v.field for v in raised.value.violations} == {
        "org_unit.display_name",
        "org_unit.kind",
        "org_unit.time_zone",
        "org_unit.site",
    }


def test_a_center_needs_a_time_zone() -> None:
    with pytest.raises(DomainError) as raised:
        new_org_unit(
            unit_id="c",
            display_name="C",
            kind=OrgUnitKind.CENTER,
            parent=None,
            time_zone="",
            site="",
            now=NOW,
        )
    assert raised.value.violations[0].field == "org_unit.time_zone"
