"""The error model shared by every service's domain code.

Domain and application code raise these; the gRPC adapter turns them into a
`google.rpc.Status` with an `ErrorInfo` reason and `BadRequest` field violations
(see `grpc_errors.py`). Nothing here imports grpc: the domain stays free of I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class ErrorKind(enum.Enum):
    """What went wrong, in the terms of the canonical gRPC codes."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    ABORTED = "ABORTED"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    UNAVAILABLE = "UNAVAILABLE"
    DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request, named by its path (e.g. `employee.contract.max_weekly_minutes`)."""

    field: str
    description: str
    reason: str = ""


@dataclass
class DomainError(Exception):
    """A failure that the caller can act on, with a machine-readable UPPER_SNAKE reason."""

    kind: ErrorKind
    reason: str
    message: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    violations: tuple[FieldViolation, ...] = ()

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.kind.value} {self.reason}: {self.message}"


def invalid_argument(
    reason: str, message: str, violations: Iterable[FieldViolation] = (), **metadata: str
) -> DomainError:
    return DomainError(ErrorKind.INVALID_ARGUMENT, reason, message, metadata, tuple(violations))


def invalid_field(field_path: str, reason: str, description: str) -> DomainError:
    """The common case: one field is wrong."""
    return invalid_argument(
        reason,
        f"{field_path}: {description}",
        [FieldViolation(field_path, description, reason)],
        field=field_path,
    )


def not_found(reason: str, message: str, **metadata: str) -> DomainError:
    return DomainError(ErrorKind.NOT_FOUND, reason, message, metadata)


def already_exists(reason: str, message: str, **metadata: str) -> DomainError:
    return DomainError(ErrorKind.ALREADY_EXISTS, reason, message, metadata)


def failed_precondition(reason: str, message: str, **metadata: str) -> DomainError:
    return DomainError(ErrorKind.FAILED_PRECONDITION, reason, message, metadata)


def permission_denied(reason: str, message: str, **metadata: str) -> DomainError:
    return DomainError(ErrorKind.PERMISSION_DENIED, reason, message, metadata)


def aborted(reason: str, message: str, **metadata: str) -> DomainError:
    return DomainError(ErrorKind.ABORTED, reason, message, metadata)


class Violations:
    """Collects every bad field of a request so the caller hears about all of them at once."""

    def __init__(self) -> None:
        self._items: list[FieldViolation] = []

    def add(self, field_path: str, reason: str, description: str) -> None:
        self._items.append(FieldViolation(field_path, description, reason))

    def __bool__(self) -> bool:
        return bool(self._items)

    def raise_if_any(self) -> None:
        if not self._items:
            return
        first = self._items[0]
        if len(self._items) == 1:
            message = f"{first.field}: {first.description}"
        else:
            message = f"{len(self._items)} invalid fields, first {first.field}: {first.description}"
        raise invalid_argument(first.reason, message, self._items, field=first.field)
