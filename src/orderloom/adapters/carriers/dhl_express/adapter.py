"""DHL Express: XML-PI TrackingResponse (``AWBInfo`` per waybill) and the MyDHL API (JSON, ``shipments[]``).

Both give local wall-clock times without an offset; the zone comes from the service area ("Barcelona - Spain")
when its country is known, else the time is kept as UTC and marked ``assumed_utc``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from orderloom.adapters.carriers.base import chronological, clean, looks_like_attempt, no_tracking
from orderloom.adapters.carriers.carrier_time import parse_date, stamp, zone_book
from orderloom.adapters.carriers.payload import Element, child, children, decode, first_text, iter_dicts, text_of
from orderloom.domain.tracking import Location, TrackingEvent, TrackingOutcome, TrackingParseError, TrackingResult

__all__ = ["ADAPTER", "DhlExpressAdapter"]

NAME = "dhl_express"
_NUMBER_IN_URL = re.compile(r"shipmentTrackingNumber=([A-Za-z0-9]+)")


class DhlExpressAdapter:
    """Reads DHL Express XML-PI and MyDHL API tracking responses."""

    name = NAME
    formats = ("xml", "mydhl")
    home_zone: str | None = None

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """One outcome per waybill."""
        doc = decode(NAME, payload)
        if isinstance(doc, Element):
            return _xml(doc)
        if not isinstance(doc, Mapping):
            raise TrackingParseError(NAME, "expected a JSON object")
        return _mydhl(doc)


def _service_area(code: str | None, description: str | None) -> Location:
    """ "Barcelona - Spain" → city + country; "New York, NY" → city + region."""
    city = region = country = None
    if description:
        if " - " in description:
            city, _, tail = description.partition(" - ")
            country = zone_book().country_code(tail.strip())
        elif ", " in description:
            city, _, region = description.partition(", ")
        else:
            city = description
    return Location(
        text=description,
        city=clean(city),
        region=clean(region),
        country=country,
        facility=code,
    )


# --- XML-PI ---------------------------------------------------------------------------------------------------


def _xml(root: Element) -> list[TrackingOutcome]:
    if root.tag.endswith("ErrorResponse"):
        cond = root.find(".//Condition")
        return [no_tracking(NAME, "xml", None, text_of(cond, "ConditionCode"), text_of(cond, "ConditionData") or "")]
    if root.tag != "TrackingResponse":
        raise TrackingParseError(NAME, f"unexpected XML root <{root.tag}>")
    return [_awb(info) for info in children(root, "AWBInfo")]


def _awb(info: Element) -> TrackingOutcome:
    number = text_of(info, "AWBNumber")
    action = text_of(info, "Status/ActionStatus") or ""
    shipment = child(info, "ShipmentInfo")
    if action.lower() != "success" or shipment is None:
        cond = info.find("Status/Condition")
        code = text_of(cond, "ConditionCode")
        message = text_of(cond, "ConditionData") or action or "no shipment information"
        if code == "103" or "no shipments" in message.lower():
            return no_tracking(NAME, "xml", number, code, message, kind="not_found")
        return no_tracking(NAME, "xml", number, code, message)
    if not number:
        raise TrackingParseError(NAME, "AWBInfo without AWBNumber")
    events = chronological(_xml_event(e) for e in children(shipment, "ShipmentEvent"))
    delivered = [e for e in events if e.signatory]
    return TrackingResult(
        carrier=NAME,
        api_format="xml",
        tracking_number=number,
        events=events,
        estimated_delivery=parse_date(text_of(shipment, "EstDlvyDate")),
        service=first_text(shipment, "GlobalProductCode", "ProductCode"),
        signed_by=delivered[-1].signatory if delivered else None,
    )


def _xml_event(node: Element) -> TrackingEvent:
    day, clock = text_of(node, "Date"), text_of(node, "Time") or "00:00:00"
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}")
    except (TypeError, ValueError):
        raise TrackingParseError(NAME, f"unreadable event time {day!r} {clock!r}") from None
    location = _service_area(text_of(node, "ServiceArea/ServiceAreaCode"), text_of(node, "ServiceArea/Description"))
    when = stamp(moment, location=location)
    code = text_of(node, "ServiceEvent/EventCode")
    description = text_of(node, "ServiceEvent/Description")
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=code,
        raw_description=description,
        location=location,
        signatory=text_of(node, "Signatory") if code == "OK" else None,
        delivery_attempt=looks_like_attempt(description),
        local_time=when.local,
        time_basis=when.basis,
    )


# --- MyDHL API ------------------------------------------------------------------------------------------------


def _mydhl(doc: Mapping[str, Any]) -> list[TrackingOutcome]:
    if "documents" in doc:
        raise TrackingParseError(NAME, "this is a proof-of-delivery document, not a tracking response")
    if "shipments" not in doc:
        if "status" in doc and ("detail" in doc or "title" in doc):
            found = _NUMBER_IN_URL.search(str(doc.get("instance") or ""))
            status = doc.get("status")
            return [
                no_tracking(
                    NAME,
                    "mydhl",
                    found.group(1) if found else None,
                    str(status) if status is not None else None,
                    clean(doc.get("detail")) or clean(doc.get("title")) or "",
                    status=status if isinstance(status, int) else None,
                )
            ]
        raise TrackingParseError(NAME, "no shipments list")
    return [_mydhl_shipment(s) for s in iter_dicts(doc.get("shipments"))]


def _mydhl_shipment(shipment: Mapping[str, Any]) -> TrackingOutcome:
    number = clean(shipment.get("shipmentTrackingNumber"))
    if not number:
        raise TrackingParseError(NAME, "shipment without shipmentTrackingNumber")
    events = chronological(_mydhl_event(e) for e in iter_dicts(shipment.get("events")))
    if not events and not clean(shipment.get("status")):
        return no_tracking(NAME, "mydhl", number, None, "no tracking events yet", kind="no_events")
    delivered = [e for e in events if e.signatory]
    return TrackingResult(
        carrier=NAME,
        api_format="mydhl",
        tracking_number=number,
        events=events,
        estimated_delivery=parse_date(clean(shipment.get("estimatedTimeOfDelivery"))),
        service=clean(shipment.get("description")),
        signed_by=delivered[-1].signatory if delivered else None,
        carrier_status_code=clean(shipment.get("status")),
    )


def _mydhl_event(event: Mapping[str, Any]) -> TrackingEvent:
    day, clock = clean(event.get("date")), clean(event.get("time")) or "00:00:00"
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}")
    except (TypeError, ValueError):
        raise TrackingParseError(NAME, f"unreadable event time {day!r} {clock!r}") from None
    area = next(iter_dicts(event.get("serviceArea")), {})
    location = _service_area(clean(area.get("code")), clean(area.get("description")))
    when = stamp(moment, location=location, offset=clean(event.get("GMTOffset")))
    code = clean(event.get("typeCode"))
    description = clean(event.get("description"))
    signed = event.get("signedBy")
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=code,
        raw_description=description,
        location=location if location.text else None,
        signatory=clean(signed) if code == "OK" and isinstance(signed, str) else None,
        delivery_attempt=looks_like_attempt(description),
        local_time=when.local,
        time_basis=when.basis,
    )


ADAPTER = DhlExpressAdapter()
