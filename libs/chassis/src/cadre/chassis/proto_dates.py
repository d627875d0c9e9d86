"""`google.type.Date` to and from `datetime.date`, the same way in every service."""

from __future__ import annotations

from datetime import date
from typing import overload

from google.type import date_pb2

from cadre.chassis.errors import Violations


def date_from_proto(value: date_pb2.Date, field_path: str, violations: Violations) -> date | None:
    """None for an unset date; a violation (INVALID_DATE) for one that is not on the calendar."""
    if value.year == 0 and value.month == 0 and value.day == 0:
        return None
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        violations.add(field_path, "INVALID_DATE", "is not a calendar date")
        return None


@overload
def date_to_proto(value: date) -> date_pb2.Date: ...
@overload
def date_to_proto(value: None) -> None: ...
def date_to_proto(value: date | None) -> date_pb2.Date | None:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day) if value else None
