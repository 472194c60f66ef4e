"""USPS: Tracking API v3 (JSON, ``trackingEvents``) and legacy Web Tools TrackResponse (XML).

v3 events carry ``GMTTimestamp`` (UTC) beside the local time. Web Tools times are local (``January 6, 2016`` +
``10:45 pm``) and take the zone of the scan's state."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from orderloom.adapters.carriers.base import chronological, clean, looks_like_attempt, no_tracking
from orderloom.adapters.carriers.carrier_time import StampedTime, parse_date, stamp
from orderloom.adapters.carriers.payload import Element, children, decode, dig, first_text, iter_dicts, text_of
from orderloom.domain.tracking import Location, TrackingEvent, TrackingOutcome, TrackingParseError, TrackingResult

__all__ = ["ADAPTER", "UspsAdapter"]

NAME = "usps"
_DELIVERED_CODES = ("01", "1")


class UspsAdapter:
    """Reads USPS v3 JSON and Web Tools XML tracking responses."""

    name = NAME
    formats = ("rest", "wt")
    home_zone: str | None = None

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """One outcome per tracking number."""
        doc = decode(NAME, payload)
        if isinstance(doc, Element):
            return _wt(doc)
        if isinstance(doc, list):
            return [o for item in iter_dicts(doc) for o in _rest(item)]
        if not isinstance(doc, Mapping):
            raise TrackingParseError(NAME, "expected a JSON object")
        return _rest(doc)


# --- v3 JSON --------------------------------------------------------------------------------------------------


def _rest(doc: Mapping[str, Any]) -> list[TrackingOutcome]:
    error = doc.get("error")
    if isinstance(error, Mapping):
        inner = next(iter_dicts(error.get("errors")), {})
        status = clean(inner.get("status"))
        message = clean(error.get("message")) or clean(inner.get("detail")) or clean(inner.get("title")) or ""
        return [
            no_tracking(
                NAME,
                "rest",
                None,
                clean(error.get("code")) or clean(inner.get("code")),
                message or "USPS error (no message)",
                status=int(status) if status and status.isdigit() else None,
            )
        ]
    number = clean(doc.get("trackingNumber"))
    if not number or not ("trackingEvents" in doc or "statusCategory" in doc):
        raise TrackingParseError(NAME, "no trackingNumber with trackingEvents or statusCategory")
    events = [_rest_event(e) for e in iter_dicts(doc.get("trackingEvents"))]
    return [
        TrackingResult(
            carrier=NAME,
            api_format="rest",
            tracking_number=number,
            events=chronological(events),
            estimated_delivery=parse_date(clean(doc.get("expectedDeliveryDate")))
            or parse_date(clean(dig(doc, "expectedDeliveryTimeStamp"))),
            service=_plain(clean(doc.get("mailClass"))),
            signed_by=next((e.signatory for e in events if e.signatory), None),
            carrier_status_code=clean(doc.get("statusCategory")),
            carrier_status_text=clean(doc.get("status")),
        )
    ]


def _plain(text: str | None) -> str | None:
    if text is None:
        return None
    cut = text.split("<", 1)[0].strip()
    return cut or text


def _rest_event(event: Mapping[str, Any]) -> TrackingEvent:
    location = Location(
        text=", ".join(x for x in (clean(event.get(k)) for k in ("eventCity", "eventState", "eventZIP")) if x) or None,
        city=clean(event.get("eventCity")),
        region=clean(event.get("eventState")),
        postal_code=clean(event.get("eventZIP")),
        country=clean(event.get("eventCountry")) or ("US" if clean(event.get("eventState")) else None),
    )
    gmt, local = clean(event.get("GMTTimestamp")), clean(event.get("eventTimestamp"))
    when = _rest_when(gmt, local, clean(event.get("GMTOffset")), location)
    code = clean(event.get("eventCode"))
    description = clean(event.get("eventType"))
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=code,
        raw_description=description,
        location=location if location.text else None,
        signatory=(clean(event.get("name")) or clean(event.get("firm"))) if code in _DELIVERED_CODES else None,
        delivery_attempt=looks_like_attempt(description),
        local_time=local,
        time_basis=when.basis,
    )


def _rest_when(gmt: str | None, local: str | None, offset: str | None, location: Location) -> StampedTime:
    try:
        if gmt:
            return stamp(datetime.fromisoformat(gmt.replace("Z", "+00:00")))
        if local:
            return stamp(datetime.fromisoformat(local), offset=offset, location=location)
    except ValueError:
        pass
    raise TrackingParseError(NAME, f"unreadable event time {gmt or local!r}")


# --- Web Tools XML --------------------------------------------------------------------------------------------


def _wt(root: Element) -> list[TrackingOutcome]:
    if root.tag == "Error":
        return [no_tracking(NAME, "wt", None, text_of(root, "Number"), text_of(root, "Description") or "error")]
    if root.tag != "TrackResponse":
        raise TrackingParseError(NAME, f"unexpected XML root <{root.tag}>")
    return [_wt_info(info) for info in children(root, "TrackInfo")]


def _wt_info(info: Element) -> TrackingOutcome:
    number = info.get("ID")
    error = info.find("Error")
    if error is not None:
        return no_tracking(NAME, "wt", number, text_of(error, "Number"), text_of(error, "Description") or "error")
    if not number:
        raise TrackingParseError(NAME, "TrackInfo without ID")
    nodes = children(info, "TrackSummary") + children(info, "TrackDetail")
    events = [_wt_event(n) for n in nodes]
    return TrackingResult(
        carrier=NAME,
        api_format="wt",
        tracking_number=number,
        events=chronological(events),
        estimated_delivery=_wt_date(first_text(info, "ExpectedDeliveryDate", "PredictedDeliveryDate")),
        service=_plain(text_of(info, "Class")),
        signed_by=next((e.signatory for e in events if e.signatory), None),
        carrier_status_code=text_of(info, "StatusCategory"),
        carrier_status_text=text_of(info, "Status"),
    )


def _wt_date(text: str | None) -> Any:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%B %d, %Y").date()  # noqa: DTZ007 (a calendar date)
    except ValueError:
        return parse_date(text)


def _wt_event(node: Element) -> TrackingEvent:
    day, clock = text_of(node, "EventDate"), text_of(node, "EventTime")
    try:
        moment = datetime.strptime(f"{day} {clock or '12:00 am'}", "%B %d, %Y %I:%M %p")  # noqa: DTZ007
    except ValueError:
        raise TrackingParseError(NAME, f"unreadable event time {day!r} {clock!r}") from None
    state = text_of(node, "EventState")
    location = Location(
        text=", ".join(x for x in (text_of(node, k) for k in ("EventCity", "EventState", "EventZIPCode")) if x) or None,
        city=text_of(node, "EventCity"),
        region=state,
        postal_code=text_of(node, "EventZIPCode"),
        country=text_of(node, "EventCountry") or ("US" if state else None),
    )
    when = stamp(moment, location=location)
    code = text_of(node, "EventCode")
    description = text_of(node, "Event")
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=code,
        raw_description=description,
        location=location if location.text else None,
        signatory=first_text(node, "Name", "FirmName") if code in _DELIVERED_CODES else None,
        delivery_attempt=looks_like_attempt(description),
        local_time=when.local,
        time_basis=when.basis,
    )


ADAPTER = UspsAdapter()
