"""Grant use cases: delegate, revoke (with everything below), authorize, read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from cadre.authority.policy import Action, Amount, Decision, Grant, GrantBook, Limits, check_delegation
from cadre.chassis.errors import Violations, failed_precondition, permission_denied
from cadre.roster.app.access import Access, out_of_scope
from cadre.roster.app.employees import visible_employee
from cadre.roster.app.org_units import require_unit
from cadre.roster.app.ports import RosterUnit
from cadre.roster.domain.events import GrantCreated, GrantRevoked
from cadre.roster.domain.transfer import check_reason

MAX_DEPTH = 3


def create_grant(
    unit: RosterUnit,
    access: Access,
    *,
    grant_id: str,
    grantee_id: str,
    action: Action | None,
    scope_id: str,
    limits: Limits,
    valid_from: datetime | None,
    valid_until: datetime | None,
    parent_id: str | None,
    reason: str,
    now: datetime,
) -> Grant:
    violations = Violations()
    if action is None:
        violations.add("grant.action", "REQUIRED_FIELD_MISSING", "must name an action")
    check_reason(reason, "grant.reason", violations)
    for name, value in (
        ("max_days", limits.max_days),
        ("max_minutes", limits.max_minutes),
        ("max_amount_minor", limits.max_amount_minor),
    ):
        if value is not None and value < 0:
            violations.add(f"grant.limits.{name}", "OUT_OF_RANGE", "must not be negative")
    violations.raise_if_any()
    assert action is not None
    scope = require_unit(unit.org_units, access, scope_id, field="grant.scope")
    visible_employee(unit.employees, unit.org_units, access, employee_id=grantee_id)
    parent = None
    if parent_id:
        parent = unit.grants.get(parent_id)
        if parent is None:
            raise access.missing(
                "GRANT_NOT_FOUND", "grant.parent_grant: no such grant", field="grant.parent_grant"
            )
    proposed = Grant(
        id=grant_id,
        grantee=f"employees/{grantee_id}",
        action=action,
        scope_path=scope.path,
        limits=limits,
        valid_from=valid_from or now,
        valid_until=valid_until,
        parent_id=parent.id if parent else None,
        depth=parent.depth + 1 if parent else 1,
        granted_by=access.principal,
        reason=reason.strip(),
    )
    # Only the parent's chain matters to a delegation: not the whole book, which a root
    # grant (no parent) does not need at all.
    chain = GrantBook(unit.grants.chain_of(parent.id)) if parent else GrantBook()
    check_delegation(
        chain,
        grantor=access.principal,
        grantor_is_administrator=access.is_administrator,
        parent=parent,
        proposed=proposed,
        moment=now,
        max_depth=MAX_DEPTH,
    )
    unit.grants.add(proposed)
    unit.record(
        GrantCreated(proposed), acting_under=f"grants/{parent.id}" if parent else "ALLOWED_AS_ADMINISTRATOR"
    )
    return proposed


def _may_manage(access: Access, grant: Grant) -> bool:
    """Its grantor, anyone holding a grant above it, or an administrator."""
    if access.is_administrator or grant.granted_by == access.principal:
        return True
    return any(link.grantee == access.principal for link in access.book.chain(grant)[:-1])


def revoke_grant(unit: RosterUnit, access: Access, *, grant_id: str, now: datetime) -> Grant:
    grant = unit.grants.get(grant_id)
    if grant is None:
        raise access.missing("GRANT_NOT_FOUND", "no such grant", grant=grant_id)
    if not _may_manage(access, grant):
        raise permission_denied(
            "NOT_GRANTOR", "only the grantor, a grant above it or an administrator revokes it"
        )
    if grant.revoked_at is not None:
        raise failed_precondition("ALREADY_REVOKED", "this grant is already revoked")
    for affected in [grant, *access.book.descendants(grant.id)]:
        if affected.revoked_at is None:
            revoked = replace(affected, revoked_at=now)
            unit.grants.save(revoked)
            unit.record(GrantRevoked(affected, revoked, now), acting_under=f"revocation of grants/{grant.id}")
    revoked_grant = unit.grants.get(grant.id)
    assert revoked_grant is not None
    return revoked_grant


def get_grant(unit: RosterUnit, access: Access, *, grant_id: str) -> Grant:
    grant = unit.grants.get(grant_id)
    if grant is None:
        raise access.missing("GRANT_NOT_FOUND", "no such grant", grant=grant_id)
    if not (access.sees_everything or grant.grantee == access.principal or _may_manage(access, grant)):
        raise out_of_scope()
    return grant


def list_grants(
    unit: RosterUnit, access: Access, *, grantee_id: str | None, after: str | None, limit: int
) -> Sequence[Grant]:
    grantee = f"employees/{grantee_id}" if grantee_id else None
    related = None if access.sees_everything else access.principal
    return unit.grants.list(grantee=grantee, related_to=related, after=after, limit=limit)


def authorize(
    unit: RosterUnit,
    access: Access,
    *,
    actor: str,
    actor_is_administrator: bool,
    action: Action,
    target_path: Sequence[str],
    amount: Amount,
    moment: datetime,
) -> Decision:
    if actor != access.principal and not access.sees_everything:
        raise permission_denied(
            "OTHERS_DECISIONS", "only administrators, HR and services ask about someone else"
        )
    return access.book.authorize(
        actor=actor,
        action=action,
        target_path=target_path,
        amount=amount,
        moment=moment,
        is_administrator=actor_is_administrator,
    )
