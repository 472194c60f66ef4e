"""Canada Post tracking-detail (XML): ``significant-events/occurrence`` with a zone name per event (EST, PDT, ...);
``messages/message`` is an error (E002 authentication, 004 no pin history, ...)."""

from __future__ import annotations

from datetime import datetime

from orderloom.adapters.carriers.base import chronological, looks_like_attempt, no_tracking
from orderloom.adapters.carriers.carrier_time import parse_date, stamp
from orderloom.adapters.carriers.payload import Element, children, decode, first_text, text_of
from orderloom.domain.tracking import Location, TrackingEvent, TrackingOutcome, TrackingParseError, TrackingResult

__all__ = ["ADAPTER", "CanadaPostAdapter"]

NAME = "canadapost"
HOME = "America/Toronto"


class CanadaPostAdapter:
    """Reads Canada Post tracking-detail responses."""

    name = NAME
    formats = ("xml",)
    home_zone: str | None = HOME

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """One outcome per tracking-detail; messages become no-tracking outcomes."""
        root = decode(NAME, payload)
        if not isinstance(root, Element):
            raise TrackingParseError(NAME, "expected XML")
        details = [root] if root.tag == "tracking-detail" else root.findall(".//tracking-detail")
        messages = [] if details else root.findall(".//messages/message")
        if root.tag == "messages":
            messages = children(root, "message")
        out: list[TrackingOutcome] = [
            no_tracking(NAME, "xml", None, text_of(m, "code"), text_of(m, "description") or "error") for m in messages
        ]
        out.extend(_detail(d) for d in details)
        if not out:
            raise TrackingParseError(NAME, "no tracking-detail or messages element")
        return out


def _detail(detail: Element) -> TrackingOutcome:
    number = text_of(detail, "pin")
    if not number:
        raise TrackingParseError(NAME, "tracking-detail without pin")
    events = chronological(_event(o) for o in children(detail, "significant-events/occurrence"))
    if not events:
        return no_tracking(NAME, "xml", number, None, "no tracking events yet", kind="no_events")
    signers = [e.signatory for e in events if e.signatory]
    return TrackingResult(
        carrier=NAME,
        api_format="xml",
        tracking_number=number,
        events=events,
        estimated_delivery=parse_date(first_text(detail, "changed-expected-date", "expected-delivery-date")),
        service=text_of(detail, "service-name"),
        signed_by=signers[-1] if signers else None,
    )


def _event(node: Element) -> TrackingEvent:
    day, clock = text_of(node, "event-date"), text_of(node, "event-time") or "00:00:00"
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}")
    except (TypeError, ValueError):
        raise TrackingParseError(NAME, f"unreadable event time {day!r} {clock!r}") from None
    site, province = text_of(node, "event-site"), text_of(node, "event-province")
    location = Location(
        text=", ".join(x for x in (site, province) if x) or None,
        city=site,
        region=province,
        country="CA",
        facility=text_of(node, "event-retail-name"),
    )
    when = stamp(moment, location=location, offset=text_of(node, "event-time-zone"), carrier_zone=HOME)
    description = text_of(node, "event-description")
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=text_of(node, "event-identifier"),
        raw_description=description,
        location=location if location.text else None,
        signatory=text_of(node, "signatory-name"),
        delivery_attempt=looks_like_attempt(description),
        local_time=when.local,
        time_basis=when.basis,
    )


ADAPTER = CanadaPostAdapter()
