"""List paging: page sizes and opaque page tokens bound to the query's filters."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from cadre.chassis.errors import invalid_field

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def page_size(requested: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    """0 means the default, more than the maximum is capped, negative is INVALID_ARGUMENT."""
    if requested < 0:
        raise invalid_field("page_size", "PAGE_SIZE_NEGATIVE", "must not be negative")
    if requested == 0:
        return default
    return min(requested, maximum)


def _filter_digest(filters: Mapping[str, object]) -> str:
    canonical = json.dumps(filters, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PageCursor:
    """Where the next page starts: the sort key of the last item returned."""

    after: tuple[str, ...]


def encode_page_token(last_key: tuple[str, ...], filters: Mapping[str, object]) -> str:
    body = json.dumps({"a": list(last_key), "f": _filter_digest(filters)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_page_token(token: str, filters: Mapping[str, object]) -> PageCursor | None:
    """None for the first page. A token from another query is INVALID_ARGUMENT."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = tuple(str(part) for part in body["a"])
        digest = body["f"]
    except (ValueError, KeyError, TypeError):
        raise invalid_field("page_token", "PAGE_TOKEN_MALFORMED", "is not a token this API issued") from None
    if digest != _filter_digest(filters):
        raise invalid_field("page_token", "PAGE_TOKEN_MISMATCH", "was issued for a query with other filters")
    return PageCursor(after)


T = TypeVar("T")


def trim_page(
    items: Sequence[T], limit: int, key: Callable[[T], tuple[str, ...]], filters: Mapping[str, object]
) -> tuple[Sequence[T], str]:
    """A page from `limit + 1` items fetched in key order: the extra one only says that
    another page follows, and the token resumes after the last item kept."""
    if len(items) <= limit:
        return items, ""
    kept = items[:limit]
    return kept, encode_page_token(key(kept[-1]), filters)
