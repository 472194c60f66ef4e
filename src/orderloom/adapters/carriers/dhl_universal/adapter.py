"""DHL Shipment Tracking - Unified API (JSON): ``shipments[]`` with ``status`` and ``events[]``.

``statusCode`` is one of pre-transit, transit, delivered, failure, unknown. Event times without an offset take the
zone of the event's country."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orderloom.adapters.carriers.base import chronological, clean, looks_like_attempt, no_tracking
from orderloom.adapters.carriers.carrier_time import parse_date, stamp
from orderloom.adapters.carriers.payload import decode, dig, iter_dicts, parse_datetime
from orderloom.domain.tracking import Location, TrackingEvent, TrackingOutcome, TrackingParseError, TrackingResult

__all__ = ["ADAPTER", "DhlUniversalAdapter"]

NAME = "dhl_universal"


class DhlUniversalAdapter:
    """Reads DHL Unified tracking API responses."""

    name = NAME
    formats = ("rest",)
    home_zone: str | None = None

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """One outcome per shipment; an RFC 7807 error body gives one no-tracking."""
        doc = decode(NAME, payload)
        if not isinstance(doc, Mapping):
            raise TrackingParseError(NAME, "expected a JSON object")
        if "shipments" not in doc:
            if "status" in doc and ("detail" in doc or "title" in doc):
                status = doc.get("status")
                return [
                    no_tracking(
                        NAME,
                        "rest",
                        None,
                        str(status),
                        clean(doc.get("detail")) or clean(doc.get("title")) or "",
                        status=status if isinstance(status, int) else None,
                    )
                ]
            raise TrackingParseError(NAME, "no shipments list")
        return [_shipment(s) for s in iter_dicts(doc.get("shipments"))]


def _location(raw: Any) -> Location | None:
    address = dig(raw, "address") or {}
    text = clean(address.get("addressLocality"))
    country = clean(address.get("countryCode"))
    if not (text or country):
        return None
    return Location(text=text, postal_code=clean(address.get("postalCode")), country=country)


def _shipment(shipment: Mapping[str, Any]) -> TrackingOutcome:
    number = clean(shipment.get("id"))
    if not number:
        raise TrackingParseError(NAME, "shipment without id")
    status = shipment.get("status") or {}
    signed = dig(shipment, "details", "proofOfDelivery", "signed") or {}
    return TrackingResult(
        carrier=NAME,
        api_format="rest",
        tracking_number=number,
        events=chronological(_event(e) for e in iter_dicts(shipment.get("events"))),
        estimated_delivery=parse_date(clean(shipment.get("estimatedTimeOfDelivery"))),
        service=clean(dig(shipment, "details", "product", "productName")) or clean(shipment.get("service")),
        signed_by=clean(signed.get("name")) if isinstance(signed, Mapping) else None,
        carrier_status_code=clean(status.get("statusCode")),
        carrier_status_text=clean(status.get("description")) or clean(status.get("status")),
    )


def _event(event: Mapping[str, Any]) -> TrackingEvent:
    raw = clean(event.get("timestamp"))
    if not raw:
        raise TrackingParseError(NAME, "event without timestamp")
    location = _location(event.get("location"))
    when = stamp(parse_datetime(NAME, raw), location=location)
    description = clean(event.get("description")) or clean(event.get("status"))
    remark = clean(event.get("remark"))
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=clean(event.get("statusCode")),
        raw_description=description,
        location=location,
        delivery_attempt=looks_like_attempt(description, remark),
        exception_reason=remark if clean(event.get("statusCode")) == "failure" else None,
        local_time=when.local,
        time_basis=when.basis,
    )


ADAPTER = DhlUniversalAdapter()
