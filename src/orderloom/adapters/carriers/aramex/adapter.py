"""Aramex Shipping API ShipmentTrackingResponse (SOAP XML): ``TrackingResults`` key/value pairs of waybill →
``TrackingResult`` updates; ``NonExistingWaybills`` and ``Notifications`` (with ``HasErrors``) become no-tracking."""

from __future__ import annotations

from datetime import datetime

from orderloom.adapters.carriers.base import chronological, looks_like_attempt, no_tracking
from orderloom.adapters.carriers.carrier_time import stamp, zone_book
from orderloom.adapters.carriers.payload import Element, child, children, decode, text_of
from orderloom.domain.tracking import Location, TrackingEvent, TrackingOutcome, TrackingParseError, TrackingResult

__all__ = ["ADAPTER", "AramexAdapter"]

NAME = "aramex"
HOME = "Asia/Dubai"


class AramexAdapter:
    """Reads Aramex shipment tracking responses."""

    name = NAME
    formats = ("soap",)
    home_zone: str | None = HOME

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """One outcome per waybill."""
        root = decode(NAME, payload)
        if not isinstance(root, Element):
            raise TrackingParseError(NAME, "expected XML")
        response = root if root.tag == "ShipmentTrackingResponse" else root.find(".//ShipmentTrackingResponse")
        if response is None:
            raise TrackingParseError(NAME, "no ShipmentTrackingResponse element")
        out: list[TrackingOutcome] = []
        if (text_of(response, "HasErrors") or "").lower() == "true":
            out.extend(
                no_tracking(NAME, "soap", None, text_of(n, "Code"), text_of(n, "Message") or "error")
                for n in children(response, "Notifications/Notification")
            )
        out.extend(
            no_tracking(NAME, "soap", s.text.strip(), None, "waybill does not exist", kind="not_found")
            for s in children(response, "NonExistingWaybills/string")
            if s.text and s.text.strip()
        )
        for pair in children(response, "TrackingResults/*"):
            out.append(_waybill(pair))
        if not out:
            raise TrackingParseError(NAME, "no tracking results, unknown waybills or errors")
        return out


def _waybill(pair: Element) -> TrackingOutcome:
    number = text_of(pair, "Key")
    if not number:
        raise TrackingParseError(NAME, "tracking result without Key")
    updates = children(child(pair, "Value"), "TrackingResult")
    if not updates:
        return no_tracking(NAME, "soap", number, None, "no tracking updates yet", kind="no_events")
    return TrackingResult(
        carrier=NAME,
        api_format="soap",
        tracking_number=number,
        events=chronological(_event(u) for u in updates),
    )


def _event(update: Element) -> TrackingEvent:
    text = text_of(update, "UpdateDateTime")
    try:
        moment = datetime.fromisoformat(text or "")
    except ValueError:
        raise TrackingParseError(NAME, f"unreadable UpdateDateTime {text!r}") from None
    place = text_of(update, "UpdateLocation")
    city, _, country = (place or "").rpartition(",")
    location = (
        Location(text=place, city=city.strip() or None, country=zone_book().country_code(country.strip()))
        if place
        else None
    )
    when = stamp(moment, location=location, carrier_zone=HOME)
    description = text_of(update, "UpdateDescription")
    problem = text_of(update, "ProblemCode")
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=text_of(update, "UpdateCode"),
        raw_description=description,
        location=location,
        delivery_attempt=looks_like_attempt(description, text_of(update, "Comments")),
        exception_reason=problem,
        local_time=when.local,
        time_basis=when.basis,
    )


ADAPTER = AramexAdapter()
