"""Reading carrier tracking responses: parse with the carrier's adapter, then map every raw code to our status."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from orderloom.application.tracking_ports import CarrierParsers, CodeMaps
from orderloom.domain.tracking import NoTracking, TrackingEvent, TrackingOutcome

__all__ = ["TrackingSetup", "event_document", "outcome_document", "read_tracking"]


@dataclass(frozen=True, slots=True)
class TrackingSetup:
    """What the tracking use cases need, wired by the composition root."""

    parsers: CarrierParsers
    maps: CodeMaps
    actions: Mapping[str, str]
    refresh_maps: Callable[[], bool]
    reload_maps: Callable[[], list[str]]


def read_tracking(*, carrier: str, payload: bytes, parsers: CarrierParsers, maps: CodeMaps) -> list[TrackingOutcome]:
    """Parse one carrier response and give each event our status (unknown codes stay ``unmapped``)."""
    outcomes = parsers.get(carrier).parse(payload)
    code_map = maps.code_map(carrier)
    if code_map is None:
        return outcomes
    return [code_map.apply(o) for o in outcomes]


def _status(status: Any) -> dict[str, str] | None:
    return None if status is None else {"main": status.main, "sub": status.sub}


def event_document(event: TrackingEvent) -> dict[str, Any]:
    """One event as JSON-ready data (newest-first lists are built by the caller)."""
    return {
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "raw_code": event.raw_code,
        "raw_description": event.raw_description,
        "location": event.location.as_dict() if event.location else None,
        "status": _status(event.status),
        "mapping": event.mapping,
        "signatory": event.signatory,
        "delivery_attempt": event.delivery_attempt,
        "exception_reason": event.exception_reason,
        "local_time": event.local_time,
        "time_basis": event.time_basis,
    }


def outcome_document(outcome: TrackingOutcome) -> dict[str, Any]:
    """The public normalized tracking JSON (``orderloom tracking parse`` prints one per tracking number)."""
    if isinstance(outcome, NoTracking):
        return {
            "carrier": outcome.carrier,
            "format": outcome.api_format,
            "tracking_number": outcome.tracking_number,
            "status": None,
            "events": [],
            "estimated_delivery": None,
            "error": {"kind": outcome.error.kind, "code": outcome.error.code, "message": outcome.error.message},
        }
    return {
        "carrier": outcome.carrier,
        "format": outcome.api_format,
        "tracking_number": outcome.tracking_number,
        "status": _status(outcome.status),
        "events": [event_document(e) for e in reversed(outcome.events)],
        "estimated_delivery": outcome.estimated_delivery.isoformat() if outcome.estimated_delivery else None,
        "service": outcome.service,
        "signed_by": outcome.signed_by,
        "carrier_status": {"code": outcome.carrier_status_code, "text": outcome.carrier_status_text},
    }
