"""Roster's domain events as the protobuf payloads published on the bus."""

from __future__ import annotations

from google.protobuf import json_format
from google.protobuf.message import Message

from cadre.chassis.resource_names import format_name
from cadre.roster.adapters import proto_mapping as m
from cadre.roster.domain.events import EmployeeHired, OrgUnitCreated, RosterEvent
from cadre.roster.v1 import events_pb2

ORG_UNIT_CREATED = "cadre.roster.v1.org_unit.created"
EMPLOYEE_HIRED = "cadre.roster.v1.employee.hired"


def to_message(event: RosterEvent) -> tuple[str, str, Message]:
    """(event type, entity resource name, payload)."""
    match event:
        case OrgUnitCreated(unit=unit):
            return (
                ORG_UNIT_CREATED,
                format_name(m.ORG_UNITS, unit.id),
                events_pb2.OrgUnitCreatedEvent(org_unit=m.org_unit_to_proto(unit)),
            )
        case EmployeeHired(employee=e):
            return (
                EMPLOYEE_HIRED,
                format_name(m.EMPLOYEES, e.id),
                events_pb2.EmployeeHiredEvent(
                    employee=format_name(m.EMPLOYEES, e.id),
                    org_unit=format_name(m.ORG_UNITS, e.org_unit_id),
                    role=m.role_to_proto(e.role),  # type: ignore[arg-type]
                    employment_type=m.employment_type_to_proto(e.employment_type),  # type: ignore[arg-type]
                    contract=m.contract_to_proto(e.contract),
                    skills=m.skills_to_proto(e.skills),
                    hire_date=m.date_to_proto(e.hire_date),
                ),
            )
    raise TypeError(f"unmapped event {event!r}")


def audit_view(event: RosterEvent) -> dict[str, object]:
    """The record as it stands after the change, for the audit log."""
    match event:
        case OrgUnitCreated(unit=unit):
            return json_format.MessageToDict(m.org_unit_to_proto(unit))
        case EmployeeHired(employee=e):
            return json_format.MessageToDict(m.employee_to_proto(e))
    raise TypeError(f"unmapped event {event!r}")
