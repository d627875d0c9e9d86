"""Resource names (`employees/{id}`) and the ids inside them."""

from __future__ import annotations

import uuid

from cadre.chassis.errors import DomainError, invalid_field


def new_id() -> str:
    return str(uuid.uuid4())


def format_name(collection: str, resource_id: str) -> str:
    return f"{collection}/{resource_id}"


def parse_name(name: str, collection: str, field_path: str) -> str:
    """Returns the id inside `collection/{id}`, or raises INVALID_ARGUMENT naming the field."""
    prefix = f"{collection}/"
    if not name:
        raise invalid_field(field_path, "REQUIRED_FIELD_MISSING", f"must be set ({prefix}{{id}})")
    if not name.startswith(prefix):
        raise invalid_field(field_path, "MALFORMED_RESOURCE_NAME", f"must look like {prefix}{{id}}")
    candidate = name[len(prefix) :]
    try:
        parsed = uuid.UUID(candidate)
    except ValueError:
        raise invalid_field(
            field_path, "MALFORMED_RESOURCE_NAME", f"must look like {prefix}{{id}} with a UUID id"
        ) from None
    if str(parsed) != candidate:
        raise invalid_field(field_path, "MALFORMED_RESOURCE_NAME", "id must be a lower-case UUID")
    return candidate


def parse_optional_name(name: str, collection: str, field_path: str) -> str | None:
    return parse_name(name, collection, field_path) if name else None


__all__ = ["DomainError", "format_name", "new_id", "parse_name", "parse_optional_name"]
