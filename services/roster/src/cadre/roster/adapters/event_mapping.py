"""Roster's domain events as what goes on the bus and into the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf import json_format
from google.protobuf.message import Message

from cadre.chassis.resource_names import format_name
from cadre.roster.adapters import proto_mapping as m
from cadre.roster.domain.employee import Employee
from cadre.roster.domain.events import (
    EmployeeHired,
    EmployeeStateChanged,
    EmployeeTransferred,
    EmployeeUpdated,
    GrantCreated,
    GrantRevoked,
    OrgUnitCreated,
    OrgUnitMoved,
    OrgUnitUpdated,
    RosterEvent,
    TransferRecorded,
)
from cadre.roster.v1 import events_pb2

ORG_UNIT_CREATED = "cadre.roster.v1.org_unit.created"
ORG_UNIT_UPDATED = "cadre.roster.v1.org_unit.updated"
ORG_UNIT_MOVED = "cadre.roster.v1.org_unit.moved"
EMPLOYEE_HIRED = "cadre.roster.v1.employee.hired"
EMPLOYEE_UPDATED = "cadre.roster.v1.employee.updated"
EMPLOYEE_STATE_CHANGED = "cadre.roster.v1.employee.state_changed"
EMPLOYEE_TRANSFERRED = "cadre.roster.v1.employee.transferred"
GRANT_CREATED = "cadre.roster.v1.grant.created"
GRANT_REVOKED = "cadre.roster.v1.grant.revoked"


@dataclass(frozen=True)
class Publication:
    event_type: str
    entity: str
    payload: Message


@dataclass(frozen=True)
class AuditEntry:
    action: str
    entity: str
    before: dict[str, object] | None
    after: dict[str, object] | None


def _view(message: Message) -> dict[str, object]:
    return json_format.MessageToDict(message)


def _employee_name(employee: Employee) -> str:
    return format_name(m.EMPLOYEES, employee.id)


def _updated(employee: Employee) -> events_pb2.EmployeeUpdatedEvent:
    full = m.employee_to_proto(employee)
    return events_pb2.EmployeeUpdatedEvent(
        employee=full.name,
        role=full.role,
        employment_type=full.employment_type,
        contract=full.contract,
        skills=full.skills,
        availability=full.availability,
        availability_exceptions=full.availability_exceptions,
        virtual_positions=full.virtual_positions,
        version=employee.version,
    )


def publications(event: RosterEvent) -> list[Publication]:
    match event:
        case OrgUnitCreated(unit=unit):
            return [
                Publication(
                    ORG_UNIT_CREATED,
                    format_name(m.ORG_UNITS, unit.id),
                    events_pb2.OrgUnitCreatedEvent(org_unit=m.org_unit_to_proto(unit)),
                )
            ]
        case OrgUnitUpdated(unit=unit):
            return [
                Publication(
                    ORG_UNIT_UPDATED,
                    format_name(m.ORG_UNITS, unit.id),
                    events_pb2.OrgUnitUpdatedEvent(org_unit=m.org_unit_to_proto(unit)),
                )
            ]
        case OrgUnitMoved(before=before, unit=unit):
            return [
                Publication(
                    ORG_UNIT_MOVED,
                    format_name(m.ORG_UNITS, unit.id),
                    events_pb2.OrgUnitMovedEvent(
                        org_unit=m.org_unit_to_proto(unit),
                        old_path=[format_name(m.ORG_UNITS, p) for p in before.path],
                        new_path=[format_name(m.ORG_UNITS, p) for p in unit.path],
                    ),
                )
            ]
        case EmployeeHired(employee=e):
            full = m.employee_to_proto(e)
            return [
                Publication(
                    EMPLOYEE_HIRED,
                    full.name,
                    events_pb2.EmployeeHiredEvent(
                        employee=full.name,
                        org_unit=full.org_unit,
                        role=full.role,
                        employment_type=full.employment_type,
                        contract=full.contract,
                        skills=full.skills,
                        hire_date=full.hire_date,
                    ),
                )
            ]
        case EmployeeUpdated(employee=e):
            return [Publication(EMPLOYEE_UPDATED, _employee_name(e), _updated(e))]
        case EmployeeStateChanged(employee=e, effective_date=day):
            return [
                Publication(
                    EMPLOYEE_STATE_CHANGED,
                    _employee_name(e),
                    events_pb2.EmployeeStateChangedEvent(
                        employee=_employee_name(e),
                        state=m.employee_to_proto(e).state,
                        effective_date=m.date_to_proto(day),
                    ),
                )
            ]
        case EmployeeTransferred(transfer=t, employee=e):
            return [
                Publication(
                    EMPLOYEE_TRANSFERRED,
                    _employee_name(e),
                    events_pb2.EmployeeTransferredEvent(
                        employee=_employee_name(e),
                        from_org_unit=format_name(m.ORG_UNITS, t.from_org_unit_id),
                        to_org_unit=format_name(m.ORG_UNITS, t.to_org_unit_id),
                        effective_date=m.date_to_proto(t.effective_date),
                        transfer=format_name(m.TRANSFERS, t.id),
                    ),
                )
            ]
        case GrantCreated(grant=g):
            return [
                Publication(
                    GRANT_CREATED,
                    format_name(m.GRANTS, g.id),
                    events_pb2.GrantCreatedEvent(
                        grant=m.grant_to_proto(g),
                        scope_path=[format_name(m.ORG_UNITS, p) for p in g.scope_path],
                    ),
                )
            ]
        case GrantRevoked(grant=g, revoked_at=moment):
            payload = events_pb2.GrantRevokedEvent(grant=format_name(m.GRANTS, g.id))
            payload.revoke_time.FromDatetime(moment)
            return [Publication(GRANT_REVOKED, format_name(m.GRANTS, g.id), payload)]
        case TransferRecorded():
            return []  # nothing moved yet: employee.transferred is published when it takes effect
    raise TypeError(f"unmapped event {event!r}")


def audit_entries(event: RosterEvent) -> list[AuditEntry]:
    match event:
        case OrgUnitCreated(unit=unit):
            return [
                AuditEntry(
                    ORG_UNIT_CREATED,
                    format_name(m.ORG_UNITS, unit.id),
                    None,
                    _view(m.org_unit_to_proto(unit)),
                )
            ]
        case OrgUnitUpdated(before=b, unit=unit):
            name = format_name(m.ORG_UNITS, unit.id)
            return [
                AuditEntry(
                    ORG_UNIT_UPDATED, name, _view(m.org_unit_to_proto(b)), _view(m.org_unit_to_proto(unit))
                )
            ]
        case OrgUnitMoved(before=b, unit=unit):
            name = format_name(m.ORG_UNITS, unit.id)
            return [
                AuditEntry(
                    ORG_UNIT_MOVED, name, _view(m.org_unit_to_proto(b)), _view(m.org_unit_to_proto(unit))
                )
            ]
        case EmployeeHired(employee=e):
            return [AuditEntry(EMPLOYEE_HIRED, _employee_name(e), None, _view(m.employee_to_proto(e)))]
        case EmployeeUpdated(before=b, employee=e):
            return [
                AuditEntry(
                    EMPLOYEE_UPDATED,
                    _employee_name(e),
                    _view(m.employee_to_proto(b)),
                    _view(m.employee_to_proto(e)),
                )
            ]
        case EmployeeStateChanged(before=b, employee=e):
            return [
                AuditEntry(
                    EMPLOYEE_STATE_CHANGED,
                    _employee_name(e),
                    _view(m.employee_to_proto(b)),
                    _view(m.employee_to_proto(e)),
                )
            ]
        case EmployeeTransferred(transfer=t, before=b, employee=e):
            return [
                AuditEntry(
                    EMPLOYEE_TRANSFERRED,
                    _employee_name(e),
                    _view(m.employee_to_proto(b)),
                    _view(m.employee_to_proto(e)),
                ),
                AuditEntry(
                    "cadre.roster.v1.transfer.completed",
                    format_name(m.TRANSFERS, t.id),
                    None,
                    _view(m.transfer_to_proto(t)),
                ),
            ]
        case TransferRecorded(before=b, transfer=t):
            return [
                AuditEntry(
                    f"cadre.roster.v1.transfer.{t.state.value.lower()}",
                    format_name(m.TRANSFERS, t.id),
                    _view(m.transfer_to_proto(b)) if b else None,
                    _view(m.transfer_to_proto(t)),
                )
            ]
        case GrantCreated(grant=g):
            return [AuditEntry(GRANT_CREATED, format_name(m.GRANTS, g.id), None, _view(m.grant_to_proto(g)))]
        case GrantRevoked(before=b, grant=g):
            return [
                AuditEntry(
                    GRANT_REVOKED,
                    format_name(m.GRANTS, g.id),
                    _view(m.grant_to_proto(b)),
                    _view(m.grant_to_proto(g)),
                )
            ]
    raise TypeError(f"unmapped event {event!r}")
