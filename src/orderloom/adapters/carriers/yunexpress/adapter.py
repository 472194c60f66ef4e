"""YunExpress (JSON): ``ResultCode`` ``0000`` = success. Tracking answers (``Item`` with ``OrderTrackingDetails``)
give events in China local time; a waybill answer (``Items`` with numbers only) means nothing scanned yet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orderloom.adapters.carriers.base import chronological, clean, looks_like_attempt, no_tracking
from orderloom.adapters.carriers.carrier_time import stamp
from orderloom.adapters.carriers.payload import decode, iter_dicts, parse_datetime
from orderloom.domain.tracking import Location, TrackingEvent, TrackingOutcome, TrackingParseError, TrackingResult

__all__ = ["ADAPTER", "YunExpressAdapter"]

NAME = "yunexpress"
HOME = "Asia/Shanghai"


class YunExpressAdapter:
    """Reads YunExpress tracking and waybill responses."""

    name = NAME
    formats = ("rest",)
    home_zone: str | None = HOME

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """One outcome per waybill."""
        doc = decode(NAME, payload)
        if not isinstance(doc, Mapping) or "ResultCode" not in doc:
            raise TrackingParseError(NAME, "expected a JSON object with ResultCode")
        code = clean(doc.get("ResultCode"))
        items = list(iter_dicts(doc.get("Item"))) + list(iter_dicts(doc.get("Items")))
        if code != "0000" or not items:
            message = clean(doc.get("ResultDesc")) or "no result"
            return [
                no_tracking(NAME, "rest", None, code, message, kind=None if items or code != "0000" else "not_found")
            ]
        return [_item(i) for i in items]


def _item(item: Mapping[str, Any]) -> TrackingOutcome:
    number = clean(item.get("TrackingNumber")) or clean(item.get("WaybillNumber")) or clean(item.get("WayBillNumber"))
    if not number:
        raise TrackingParseError(NAME, "item without TrackingNumber or WaybillNumber")
    details = list(iter_dicts(item.get("OrderTrackingDetails")))
    if not details:
        return no_tracking(NAME, "rest", number, None, "waybill registered; no tracking events yet", kind="no_events")
    return TrackingResult(
        carrier=NAME,
        api_format="rest",
        tracking_number=number,
        events=chronological(_event(d) for d in details),
        carrier_status_code=clean(item.get("PackageState")),
    )


def _event(detail: Mapping[str, Any]) -> TrackingEvent:
    raw = clean(detail.get("ProcessDate"))
    if not raw:
        raise TrackingParseError(NAME, "tracking detail without ProcessDate")
    place = clean(detail.get("ProcessLocation"))
    when = stamp(parse_datetime(NAME, raw, "%Y-%m-%d %H:%M:%S"), carrier_zone=HOME)
    description = clean(detail.get("ProcessContent"))
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=clean(detail.get("TrackCodeDescription")) or clean(detail.get("TrackingStatus")),
        raw_description=description,
        location=Location(text=place) if place else None,
        delivery_attempt=looks_like_attempt(description),
        local_time=when.local,
        time_basis=when.basis,
    )


ADAPTER = YunExpressAdapter()
