"""DHL Parcel Germany (Sendungsverfolgung XML): ``data[name=piece-shipment]`` with ``piece-event`` children.

Codes are the ICE event codes (``SHRCU``, ``DLVRD``, ...); times are ``dd.mm.YYYY HH:MM`` German local time."""

from __future__ import annotations

from datetime import datetime

from orderloom.adapters.carriers.base import chronological, clean, looks_like_attempt, no_tracking
from orderloom.adapters.carriers.carrier_time import stamp, zone_book
from orderloom.adapters.carriers.payload import Element, decode
from orderloom.domain.tracking import Location, TrackingEvent, TrackingOutcome, TrackingParseError, TrackingResult

__all__ = ["ADAPTER", "DhlParcelDeAdapter"]

NAME = "dhl_parcel_de"
HOME = "Europe/Berlin"


class DhlParcelDeAdapter:
    """Reads DHL Parcel DE piece tracking (XML)."""

    name = NAME
    formats = ("xml",)
    home_zone: str | None = HOME

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """One outcome per piece."""
        root = decode(NAME, payload)
        if not isinstance(root, Element) or root.tag != "data":
            raise TrackingParseError(NAME, "expected an XML <data> document")
        if root.get("code") not in (None, "0"):
            message = root.get("error") or root.get("name") or "request failed"
            return [no_tracking(NAME, "xml", None, root.get("code"), message)]
        pieces = [d for d in root.iter("data") if d.get("name") == "piece-shipment"]
        return [_piece(p) for p in pieces]


def _piece(piece: Element) -> TrackingOutcome:
    number = clean(piece.get("piece-code")) or clean(piece.get("searched-piece-code"))
    if piece.get("error-status") not in (None, "0"):
        message = clean(piece.get("status")) or "piece not found"
        return no_tracking(NAME, "xml", number, piece.get("error-status"), message, kind="not_found")
    if not number:
        raise TrackingParseError(NAME, "piece-shipment without piece-code")
    nodes = [d for d in piece.iter("data") if d.get("name") == "piece-event"]
    return TrackingResult(
        carrier=NAME,
        api_format="xml",
        tracking_number=number,
        events=chronological(_event(n) for n in nodes),
        service=clean(piece.get("product-name")),
        signed_by=clean(piece.get("recipient-name")) if piece.get("delivery-event-flag") == "1" else None,
        carrier_status_code=clean(piece.get("ice")),
        carrier_status_text=clean(piece.get("status")),
    )


def _event(node: Element) -> TrackingEvent:
    text = clean(node.get("event-timestamp"))
    try:
        moment = datetime.strptime(text or "", "%d.%m.%Y %H:%M")  # noqa: DTZ007 (German local time)
    except ValueError:
        raise TrackingParseError(NAME, f"unreadable event-timestamp {text!r}") from None
    city, country = clean(node.get("event-location")), clean(node.get("event-country"))
    location = Location(
        text=", ".join(x for x in (city, country) if x) or None,
        city=city,
        country=zone_book().country_code(country) or country,
    )
    when = stamp(moment, location=location, carrier_zone=HOME)
    description = clean(node.get("event-text")) or clean(node.get("event-status"))
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=clean(node.get("ice")),
        raw_description=description,
        location=location if location.text else None,
        delivery_attempt=looks_like_attempt(description),
        raw_category=clean(node.get("standard-event-code")),
        local_time=when.local,
        time_basis=when.basis,
    )


ADAPTER = DhlParcelDeAdapter()
