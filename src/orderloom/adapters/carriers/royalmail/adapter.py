"""Royal Mail Tracking API v2 (JSON): ``mailPieces`` (one or a list) with ``summary``, ``events[]`` (times with
offset), ``signature`` and ``estimatedDelivery``; errors as ``httpCode``/``errors[]``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orderloom.adapters.carriers.base import chronological, clean, looks_like_attempt, no_tracking
from orderloom.adapters.carriers.carrier_time import parse_date, stamp
from orderloom.adapters.carriers.payload import decode, dig, iter_dicts, parse_datetime
from orderloom.domain.tracking import Location, TrackingEvent, TrackingOutcome, TrackingParseError, TrackingResult

__all__ = ["ADAPTER", "RoyalMailAdapter"]

NAME = "royalmail"
HOME = "Europe/London"


class RoyalMailAdapter:
    """Reads Royal Mail tracking v2 responses."""

    name = NAME
    formats = ("rest",)
    home_zone: str | None = HOME

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """One outcome per mail piece."""
        doc = decode(NAME, payload)
        if not isinstance(doc, Mapping):
            raise TrackingParseError(NAME, "expected a JSON object")
        if "mailPieces" not in doc:
            return _errors(doc)
        return [_piece(p) for p in iter_dicts(doc.get("mailPieces"))]


def _errors(doc: Mapping[str, Any]) -> list[TrackingOutcome]:
    http = clean(doc.get("httpCode"))
    status = int(http) if http and http.isdigit() else None
    errors = list(iter_dicts(doc.get("errors")))
    if errors:
        return [
            no_tracking(
                NAME,
                "rest",
                None,
                clean(e.get("errorCode")),
                clean(e.get("errorDescription")) or clean(e.get("errorCause")) or "",
                status=status,
            )
            for e in errors
        ]
    if http:
        message = clean(doc.get("moreInformation")) or clean(doc.get("httpMessage")) or ""
        return [no_tracking(NAME, "rest", None, http, message, status=status)]
    raise TrackingParseError(NAME, "no mailPieces and no error")


def _piece(piece: Mapping[str, Any]) -> TrackingOutcome:
    summary = piece.get("summary") or {}
    number = clean(summary.get("oneDBarcode")) or clean(piece.get("mailPieceId"))
    if not number:
        raise TrackingParseError(NAME, "mail piece without an id")
    error = piece.get("error")
    if isinstance(error, Mapping):
        return no_tracking(
            NAME, "rest", number, clean(error.get("errorCode")), clean(error.get("errorDescription")) or ""
        )
    return TrackingResult(
        carrier=NAME,
        api_format="rest",
        tracking_number=number,
        events=chronological(_event(e) for e in iter_dicts(piece.get("events"))),
        estimated_delivery=parse_date(clean(dig(piece, "estimatedDelivery", "date"))),
        service=clean(summary.get("productName")),
        signed_by=clean(dig(piece, "signature", "recipientName")),
        carrier_status_code=clean(summary.get("lastEventCode")),
        carrier_status_text=clean(summary.get("lastEventName")),
    )


def _event(event: Mapping[str, Any]) -> TrackingEvent:
    raw = clean(event.get("eventDateTime"))
    if not raw:
        raise TrackingParseError(NAME, "event without eventDateTime")
    place = clean(event.get("locationName"))
    location = Location(text=place, facility=place, country="GB") if place else None
    when = stamp(parse_datetime(NAME, raw), location=location, carrier_zone=HOME)
    description = clean(event.get("eventName"))
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=clean(event.get("eventCode")),
        raw_description=description,
        location=location,
        delivery_attempt=looks_like_attempt(description),
        local_time=when.local,
        time_basis=when.basis,
    )


ADAPTER = RoyalMailAdapter()
