"""What every carrier adapter is: a name, the API formats it reads, and ``parse(payload)`` → tracking outcomes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from orderloom.domain.tracking import ErrorKind, NoTracking, TrackingError, TrackingEvent, TrackingOutcome

__all__ = ["CarrierAdapter", "chronological", "classify_error", "clean", "looks_like_attempt", "no_tracking"]


@runtime_checkable
class CarrierAdapter(Protocol):
    """Reads one carrier's tracking responses (all of its API formats, told apart from the payload)."""

    name: str
    formats: tuple[str, ...]
    home_zone: str | None

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """Every tracking number in the response; raises TrackingParseError for a malformed payload."""
        ...


def chronological(events: Iterable[TrackingEvent]) -> tuple[TrackingEvent, ...]:
    """Oldest first. Carriers list newest or oldest first; same-time scans keep the carrier's own sequence."""
    items = list(events)
    if len(items) > 1 and items[0].occurred_at > items[-1].occurred_at:
        items.reverse()
    return tuple(sorted(items, key=lambda e: e.occurred_at))


_AUTH = ("auth", "credential", "licen", "password", "unauthori", "forbidden", "access key", "api key")
_NOT_FOUND = (
    "not found",
    "notfound",
    "no shipment",
    "invalid inquiry",
    "non existing",
    "nonexist",
    "unknown tracking",
    "could not locate",
    "no pin history",
    "not recognised",
    "no result",
    "invalid tracking",
)
_INVALID = ("error parsing", "datatype error", "invalid request", "must contain", "please provide", "missing")
_THROTTLE = ("too many request", "rate limit", "throttl")


def classify_error(code: str | None, message: str, *, status: int | None = None) -> ErrorKind:
    """Our error kind from an HTTP-ish status or the carrier's words."""
    text = f"{code or ''} {message}".lower()
    if status in (401, 403) or any(w in text for w in _AUTH):
        return "auth"
    if status == 404 or any(w in text for w in _NOT_FOUND):
        return "not_found"
    if status == 429 or any(w in text for w in _THROTTLE):
        return "rate_limited"
    if any(w in text for w in _INVALID):
        return "invalid_request"
    if status is not None and 400 <= status < 500:
        return "invalid_request"
    return "carrier_error"


def no_tracking(
    carrier: str,
    api_format: str,
    tracking_number: str | None,
    code: str | None,
    message: str,
    *,
    kind: ErrorKind | None = None,
    status: int | None = None,
) -> NoTracking:
    """A no-tracking outcome with the error classified."""
    text = " ".join(message.split()) or "no message"
    return NoTracking(
        carrier,
        api_format,
        tracking_number or None,
        TrackingError(kind or classify_error(code, text, status=status), code or None, text),
    )


_ATTEMPT = re.compile(
    r"attempt|not available|not home|nobody|no one|business closed|card left|notice left|unsuccessful deliver"
    r"|could not be delivered|customer not available",
    re.IGNORECASE,
)


def looks_like_attempt(*texts: str | None) -> bool:
    """True if the carrier's words say a delivery was tried and failed."""
    return any(t and _ATTEMPT.search(t) for t in texts)


def clean(value: object) -> str | None:
    """A stripped string, or None for empty values and the OpenAPI placeholder ``"string"``."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = " ".join(str(value).split())
    return None if not text or text == "string" else text
