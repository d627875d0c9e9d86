"""Shift template use cases: a team's templates, managed by who leads the team."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from cadre.chassis.errors import aborted
from cadre.scheduling.app.workforce_ports import Workforce
from cadre.scheduling.domain import shift_templates as rules
from cadre.scheduling.domain.access import Caller
from cadre.scheduling.domain.shift_templates import ShiftTemplate, TemplateSettings

CREATED = "scheduling.shift_template.created"
UPDATED = "scheduling.shift_template.updated"
DELETED = "scheduling.shift_template.deleted"


def require_team_in_scope(w: Workforce, caller: Caller, org_unit_id: str, *, field: str = "parent") -> None:
    team = w.team(org_unit_id)
    caller.require_team(team.path if team else None)
    if team is None:
        raise caller.missing("ORG_UNIT_NOT_FOUND", f"{field}: no such org unit")


def visible_in_team(w: Workforce, caller: Caller, org_unit_id: str) -> str | None:
    """For listing a team's swaps or offers: None when the caller sees all of them, else the
    employee whose own entries are all they see (`Caller.own_entries`)."""
    team = w.team(org_unit_id)
    own = caller.own_entries(team.path if team else None)
    if own is None and team is None:
        raise caller.missing("ORG_UNIT_NOT_FOUND", "parent: no such org unit")
    return own


def _view(t: ShiftTemplate) -> dict[str, object]:
    return {
        "display_name": t.settings.display_name,
        "length_minutes": t.settings.length_minutes,
        "version": t.version,
    }


def _entity(t: ShiftTemplate) -> str:
    return f"orgUnits/{t.org_unit_id}/shiftTemplates/{t.id}"


def create_template(
    w: Workforce, *, org_unit_id: str, template_id: str, settings: TemplateSettings, now: datetime
) -> ShiftTemplate:
    caller = w.caller(now)
    require_team_in_scope(w, caller, org_unit_id)
    template = rules.new_template(
        template_id=template_id, org_unit_id=org_unit_id, settings=settings, now=now
    )
    w.templates.add(template)
    w.audit(action=CREATED, entity=_entity(template), before=None, after=_view(template))
    return template


def _load(w: Workforce, caller: Caller, org_unit_id: str, template_id: str) -> ShiftTemplate:
    require_team_in_scope(w, caller, org_unit_id, field="name")
    template: ShiftTemplate | None = w.templates.get(org_unit_id, template_id)
    if template is None:
        raise caller.missing("SHIFT_TEMPLATE_NOT_FOUND", "name: no such shift template")
    return template


def get_template(w: Workforce, *, org_unit_id: str, template_id: str, now: datetime) -> ShiftTemplate:
    return _load(w, w.caller(now), org_unit_id, template_id)


def list_templates(
    w: Workforce, *, org_unit_id: str, after: str | None, limit: int, now: datetime
) -> Sequence[ShiftTemplate]:
    require_team_in_scope(w, w.caller(now), org_unit_id)
    found: Sequence[ShiftTemplate] = w.templates.list(org_unit_id, after=after, limit=limit)
    return found


def update_template(
    w: Workforce,
    *,
    org_unit_id: str,
    template_id: str,
    changes: Mapping[str, object],
    expected_version: int | None,
    now: datetime,
) -> ShiftTemplate:
    current = _load(w, w.caller(now), org_unit_id, template_id)
    rules.check_version(current, expected_version)
    updated = rules.update_template(current, changes=changes)
    if not w.templates.replace(updated, previous_version=current.version):
        raise aborted("ETAG_MISMATCH", "etag: the shift template changed while this update ran; retry")
    w.audit(action=UPDATED, entity=_entity(updated), before=_view(current), after=_view(updated))
    return updated


def delete_template(
    w: Workforce, *, org_unit_id: str, template_id: str, expected_version: int | None, now: datetime
) -> None:
    current = _load(w, w.caller(now), org_unit_id, template_id)
    rules.check_version(current, expected_version)
    w.templates.delete(template_id)
    w.audit(action=DELETED, entity=_entity(current), before=_view(current), after=None)
