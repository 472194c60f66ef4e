"""FedEx: Track API (JSON, ``output.completeTrackResults``) and legacy Web Services TrackReply (SOAP XML).

REST scan times carry their offset. A number may come back with several ``trackResults`` (a reused number): the
one with the most recent scan is taken. ``derivedStatusCode`` is FedEx's own status class for a scan."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orderloom.adapters.carriers.base import chronological, clean, looks_like_attempt, no_tracking
from orderloom.adapters.carriers.carrier_time import parse_date, stamp
from orderloom.adapters.carriers.payload import (
    Element,
    child,
    children,
    decode,
    dig,
    first_text,
    iter_dicts,
    parse_datetime,
    text_of,
)
from orderloom.domain.tracking import Location, TrackingEvent, TrackingOutcome, TrackingParseError, TrackingResult

__all__ = ["ADAPTER", "FedexAdapter"]

NAME = "fedex"
_ETA_TYPES = ("ESTIMATED_DELIVERY", "ANTICIPATED_DELIVERY", "APPOINTMENT_DELIVERY", "COMMITMENT")


class FedexAdapter:
    """Reads FedEx Track API (REST) and Web Services (SOAP) responses."""

    name = NAME
    formats = ("rest", "ws")
    home_zone: str | None = None

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """One outcome per tracking number."""
        doc = decode(NAME, payload)
        if isinstance(doc, Element):
            return _ws(doc)
        if not isinstance(doc, Mapping):
            raise TrackingParseError(NAME, "expected a JSON object")
        return _rest(doc)


# --- REST -----------------------------------------------------------------------------------------------------


def _rest(doc: Mapping[str, Any]) -> list[TrackingOutcome]:
    errors = doc.get("errors")
    if isinstance(errors, list) and errors:
        return [
            no_tracking(NAME, "rest", None, clean(e.get("code")), clean(e.get("message")) or "")
            for e in iter_dicts(errors)
        ]
    output = doc.get("output")
    if isinstance(output, Mapping) and "documents" in output:
        raise TrackingParseError(NAME, "this is a proof-of-delivery document, not a tracking response")
    complete = dig(doc, "output", "completeTrackResults")
    if not isinstance(complete, list):
        raise TrackingParseError(NAME, "no output.completeTrackResults list")
    return [_complete(c) for c in iter_dicts(complete)]


def _complete(item: Mapping[str, Any]) -> TrackingOutcome:
    number = clean(item.get("trackingNumber"))
    results = list(iter_dicts(item.get("trackResults")))
    with_scans = [r for r in results if r.get("scanEvents")]
    if not with_scans:
        first = results[0] if results else {}
        error = first.get("error") or {}
        number = number or clean(dig(first, "trackingNumberInfo", "trackingNumber"))
        if error:
            return no_tracking(NAME, "rest", number, clean(error.get("code")), clean(error.get("message")) or "")
        if clean(dig(first, "latestStatusDetail", "code")):
            return _track_result(first, number)  # a status without scans yet (e.g. label created)
        return no_tracking(NAME, "rest", number, None, "no scans yet", kind="no_events")
    parsed = [_track_result(r, number) for r in with_scans]
    return max(parsed, key=lambda r: r.events[-1].occurred_at)


def _track_result(result: Mapping[str, Any], number: str | None) -> TrackingResult:
    number = number or clean(dig(result, "trackingNumberInfo", "trackingNumber"))
    if not number:
        raise TrackingParseError(NAME, "track result without a tracking number")
    details = result.get("deliveryDetails") or {}
    signer = clean(details.get("receivedByName")) or clean(details.get("signedByName"))
    latest = result.get("latestStatusDetail") or {}
    return TrackingResult(
        carrier=NAME,
        api_format="rest",
        tracking_number=number,
        events=chronological(_rest_event(e, signer) for e in iter_dicts(result.get("scanEvents"))),
        estimated_delivery=_rest_eta(result),
        service=clean(dig(result, "serviceDetail", "description")),
        signed_by=signer,
        carrier_status_code=clean(latest.get("code")),
        carrier_status_text=clean(latest.get("description")),
    )


def _rest_eta(result: Mapping[str, Any]) -> Any:
    for item in iter_dicts(result.get("dateAndTimes")):
        if item.get("type") in _ETA_TYPES:
            return parse_date(clean(item.get("dateTime")))
    window = dig(result, "estimatedDeliveryTimeWindow", "window") or {}
    return parse_date(clean(window.get("begins"))) or parse_date(clean(window.get("ends")))


def _address(addr: Mapping[str, Any] | None) -> Location:
    a = addr or {}
    parts = [clean(a.get(k)) for k in ("city", "stateOrProvinceCode", "postalCode", "countryCode")]
    return Location(
        text=", ".join(p for p in parts if p) or None,
        city=clean(a.get("city")),
        region=clean(a.get("stateOrProvinceCode")),
        postal_code=clean(a.get("postalCode")),
        country=clean(a.get("countryCode")),
    )


def _rest_event(event: Mapping[str, Any], signer: str | None) -> TrackingEvent:
    raw_date = clean(event.get("date"))
    if not raw_date:
        raise TrackingParseError(NAME, "scan event without a date")
    location = _address(event.get("scanLocation"))
    when = stamp(parse_datetime(NAME, raw_date), location=location)
    code = clean(event.get("eventType"))
    exception = clean(event.get("exceptionDescription"))
    description = clean(event.get("eventDescription"))
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=code,
        raw_description=description,
        location=location if location.text else None,
        signatory=signer if code == "DL" else None,
        delivery_attempt=looks_like_attempt(exception),
        exception_reason=exception if clean(event.get("exceptionCode")) else None,
        raw_category=clean(event.get("derivedStatusCode")),
        local_time=when.local,
        time_basis=when.basis,
    )


# --- Web Services (SOAP XML) ------------------------------------------------------------------------------------


def _ws(root: Element) -> list[TrackingOutcome]:
    reply = root if root.tag == "TrackReply" else root.find(".//TrackReply")
    if reply is None:
        raise TrackingParseError(NAME, "no TrackReply element")
    details = reply.findall(".//CompletedTrackDetails/TrackDetails")
    severity = text_of(reply, "HighestSeverity")
    if not details and severity in ("ERROR", "FAILURE"):
        notes = children(reply, "Notifications") or [reply]
        return [no_tracking(NAME, "ws", None, text_of(n, "Code"), text_of(n, "Message") or severity) for n in notes]
    return [_ws_detail(d) for d in details]


def _ws_detail(detail: Element) -> TrackingOutcome:
    number = text_of(detail, "TrackingNumber")
    note = child(detail, "Notification")
    events = children(detail, "Events")
    if not events and text_of(note, "Severity") in ("ERROR", "FAILURE"):
        return no_tracking(NAME, "ws", number, text_of(note, "Code"), text_of(note, "Message") or "error")
    if not number:
        raise TrackingParseError(NAME, "TrackDetails without TrackingNumber")
    signer = text_of(detail, "DeliverySignatureName")
    eta = None
    for item in children(detail, "DatesOrTimes"):
        if text_of(item, "Type") in _ETA_TYPES:
            eta = parse_date(text_of(item, "DateOrTimestamp"))
    return TrackingResult(
        carrier=NAME,
        api_format="ws",
        tracking_number=number,
        events=chronological(_ws_event(e, signer) for e in events),
        estimated_delivery=eta,
        service=first_text(detail, "Service/Description", "ServiceInfo"),
        signed_by=signer,
        carrier_status_code=text_of(detail, "StatusDetail/Code"),
        carrier_status_text=text_of(detail, "StatusDetail/Description"),
    )


def _ws_event(event: Element, signer: str | None) -> TrackingEvent:
    stamp_text = text_of(event, "Timestamp")
    if not stamp_text:
        raise TrackingParseError(NAME, "Events without Timestamp")
    addr = child(event, "Address")
    location = Location(
        text=", ".join(
            x for x in (text_of(addr, k) for k in ("City", "StateOrProvinceCode", "PostalCode", "CountryCode")) if x
        )
        or text_of(event, "ArrivalLocation"),
        city=text_of(addr, "City"),
        region=text_of(addr, "StateOrProvinceCode"),
        postal_code=text_of(addr, "PostalCode"),
        country=text_of(addr, "CountryCode"),
    )
    when = stamp(parse_datetime(NAME, stamp_text), location=location)
    code = text_of(event, "EventType")
    exception = text_of(event, "StatusExceptionDescription")
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=code,
        raw_description=text_of(event, "EventDescription"),
        location=location if location.text else None,
        signatory=signer if code == "DL" else None,
        delivery_attempt=looks_like_attempt(exception),
        exception_reason=exception,
        local_time=when.local,
        time_basis=when.basis,
    )


ADAPTER = FedexAdapter()
