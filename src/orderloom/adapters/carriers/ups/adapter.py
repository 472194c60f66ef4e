"""UPS Track API (JSON): ``trackResponse.shipment[].package[].activity[]``; errors in ``response.errors``.

Activity times are local wall-clock (``date`` YYYYMMDD, ``time`` HHMMSS); ``gmtDate``/``gmtTime`` win when given,
else the zone of the scan's state or country. ``status.type`` (I, D, X, P, M, ...) is UPS's own status class."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from orderloom.adapters.carriers.base import chronological, clean, looks_like_attempt, no_tracking
from orderloom.adapters.carriers.carrier_time import StampedTime, parse_date, stamp
from orderloom.adapters.carriers.payload import decode, dig, iter_dicts
from orderloom.domain.tracking import Location, TrackingEvent, TrackingOutcome, TrackingParseError, TrackingResult

__all__ = ["ADAPTER", "UpsAdapter"]

NAME = "ups"


class UpsAdapter:
    """Reads UPS Track API v1 responses."""

    name = NAME
    formats = ("rest",)
    home_zone: str | None = None

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """Every package in the response (one outcome each); an error envelope gives one no-tracking per error."""
        doc = decode(NAME, payload)
        if not isinstance(doc, Mapping):
            raise TrackingParseError(NAME, "expected a JSON object")
        errors = dig(doc, "response", "errors")
        if isinstance(errors, list) and errors:
            return [
                no_tracking(NAME, "rest", None, clean(e.get("code")), clean(e.get("message")) or "")
                for e in iter_dicts(errors)
            ]
        shipments = dig(doc, "trackResponse", "shipment")
        if not isinstance(shipments, list):
            raise TrackingParseError(NAME, "no trackResponse.shipment list")
        out: list[TrackingOutcome] = []
        for shipment in iter_dicts(shipments):
            out.extend(_shipment(shipment))
        return out


def _shipment(shipment: Mapping[str, Any]) -> list[TrackingOutcome]:
    inquiry = clean(shipment.get("inquiryNumber"))
    packages = list(iter_dicts(shipment.get("package")))
    if not packages:
        warnings = list(iter_dicts(shipment.get("warnings")))
        first = warnings[0] if warnings else {}
        message = clean(first.get("message")) or "no package information for this number"
        return [no_tracking(NAME, "rest", inquiry, clean(first.get("code")), message, kind="not_found")]
    single = len(packages) == 1
    return [_package(p, inquiry if single and inquiry else clean(p.get("trackingNumber")) or inquiry) for p in packages]


def _package(package: Mapping[str, Any], number: str | None) -> TrackingOutcome:
    if not number:
        raise TrackingParseError(NAME, "package without a tracking number")
    receiver = clean(dig(package, "deliveryInformation", "receivedBy"))
    events = chronological(_event(a, receiver) for a in iter_dicts(package.get("activity")))
    current = package.get("currentStatus") or {}
    return TrackingResult(
        carrier=NAME,
        api_format="rest",
        tracking_number=number,
        events=events,
        estimated_delivery=_eta(package),
        service=clean(dig(package, "service", "description")),
        signed_by=receiver,
        carrier_status_code=clean(current.get("code")),
        carrier_status_text=clean(current.get("description")),
    )


def _eta(package: Mapping[str, Any]) -> Any:
    for item in iter_dicts(package.get("deliveryDate")):
        if item.get("type") in ("SDD", "RDD", "EDD"):
            return _ymd(clean(item.get("date")))
    return None


def _ymd(text: str | None) -> Any:
    if text and len(text) == 8 and text.isdigit():
        return parse_date(f"{text[:4]}-{text[4:6]}-{text[6:]}")
    return parse_date(text)


def _when(activity: Mapping[str, Any], location: Location) -> StampedTime:
    gmt_date, gmt_time = clean(activity.get("gmtDate")), clean(activity.get("gmtTime"))
    date_s, time_s = clean(activity.get("date")), clean(activity.get("time")) or "000000"
    try:
        if gmt_date and gmt_time:
            return stamp(datetime.fromisoformat(f"{gmt_date}T{gmt_time}"), offset="+00:00")
        moment = datetime.strptime(f"{date_s}{time_s.replace(':', '')[:6]:0<6}", "%Y%m%d%H%M%S")  # noqa: DTZ007
    except (TypeError, ValueError):
        raise TrackingParseError(NAME, f"unreadable activity time {date_s!r} {time_s!r}") from None
    return stamp(moment, location=location, offset=clean(activity.get("gmtOffset")))


def _event(activity: Mapping[str, Any], receiver: str | None) -> TrackingEvent:
    status = activity.get("status") or {}
    address = dig(activity, "location", "address") or {}
    location = Location(
        text=", ".join(
            x for x in (clean(address.get(k)) for k in ("city", "stateProvince", "postalCode", "country")) if x
        )
        or None,
        city=clean(address.get("city")),
        region=clean(address.get("stateProvince")),
        postal_code=clean(address.get("postalCode")),
        country=clean(address.get("countryCode")) or clean(address.get("country")),
        facility=clean(dig(activity, "location", "slic")),
    )
    when = _when(activity, location)
    kind = clean(status.get("type"))
    description = clean(status.get("description"))
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=clean(status.get("code")),
        raw_description=description,
        location=location,
        signatory=receiver if kind == "D" else None,
        delivery_attempt=looks_like_attempt(description),
        exception_reason=description if kind == "X" else None,
        raw_category=kind,
        local_time=when.local,
        time_basis=when.basis,
    )


ADAPTER = UpsAdapter()
