"""Shipment tracking as the domain sees it: normalized carrier events and the result of reading one tracking response.

Carrier adapters turn a raw carrier response into these objects (times already in UTC); the code map
(``tracking_mapping``) then gives every event our main/sub status, or marks it ``unmapped``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

__all__ = [
    "ErrorKind",
    "Location",
    "MappingOutcome",
    "NoTracking",
    "ShipmentStatus",
    "TimeBasis",
    "TrackingError",
    "TrackingEvent",
    "TrackingOutcome",
    "TrackingParseError",
    "TrackingResult",
]

ErrorKind = Literal["not_found", "auth", "invalid_request", "rate_limited", "carrier_error", "no_events"]
"""Why a response holds no tracking: unknown number, credentials refused, bad request, throttled, other, none yet."""

MappingOutcome = Literal["mapped", "informational", "unmapped"]
"""``mapped``: the raw code gives a status; ``informational``: known code that changes nothing; else ``unmapped``."""

TimeBasis = Literal["utc", "offset", "zone", "carrier_zone", "assumed_utc"]
"""How an event's UTC time was found: given in UTC, with an offset, from the location's zone, from the carrier's
home zone, or (no zone known) the local wall-clock time read as UTC."""


class TrackingParseError(Exception):
    """A payload that is not a well-formed tracking response of the named carrier (the one parse error class)."""

    def __init__(self, carrier: str, reason: str) -> None:
        super().__init__(f"can't read this as a {carrier} tracking response: {reason}")
        self.carrier = carrier
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ShipmentStatus:
    """A shipment's semantic status: an order main status and one of its sub-statuses."""

    main: str
    sub: str

    def __str__(self) -> str:
        return f"{self.main}.{self.sub}"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a scan happened, as far as the carrier says."""

    text: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    facility: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    def as_dict(self) -> dict[str, object]:
        """Plain mapping with the fields that are set."""
        fields = {
            "text": self.text,
            "city": self.city,
            "region": self.region,
            "postal_code": self.postal_code,
            "country": self.country,
            "facility": self.facility,
            "latitude": self.latitude,
            "longitude": self.longitude,
        }
        return {k: v for k, v in fields.items() if v is not None}


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    """One carrier scan, normalized: UTC time, the carrier's own code and words, and (after mapping) our status."""

    occurred_at: datetime
    raw_code: str | None
    raw_description: str | None
    location: Location | None = None
    signatory: str | None = None
    delivery_attempt: bool = False
    exception_reason: str | None = None
    raw_category: str | None = None
    local_time: str | None = None
    time_basis: TimeBasis = "utc"
    status: ShipmentStatus | None = None
    mapping: MappingOutcome = "unmapped"

    @property
    def code_key(self) -> str:
        """The raw code, or the description for carriers that send words instead of codes (dedupe key part)."""
        return (self.raw_code or (self.raw_description or "").strip().lower())[:200]


@dataclass(frozen=True, slots=True)
class TrackingError:
    """Why there is no tracking: a kind we act on, plus the carrier's own code and message."""

    kind: ErrorKind
    code: str | None
    message: str


@dataclass(frozen=True, slots=True)
class TrackingResult:
    """The tracking of one number: events oldest first, the shipment-level status the carrier reports, an ETA."""

    carrier: str
    api_format: str
    tracking_number: str
    events: tuple[TrackingEvent, ...]
    estimated_delivery: date | None = None
    service: str | None = None
    signed_by: str | None = None
    carrier_status_code: str | None = None
    carrier_status_text: str | None = None
    status: ShipmentStatus | None = None


@dataclass(frozen=True, slots=True)
class NoTracking:
    """A response that holds no tracking for a number (unknown number, auth failure, nothing scanned yet, ...)."""

    carrier: str
    api_format: str
    tracking_number: str | None
    error: TrackingError


TrackingOutcome = TrackingResult | NoTracking
