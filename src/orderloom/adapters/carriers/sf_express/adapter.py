"""SF Express route query (EXP_RECE_SEARCH_ROUTES, JSON): ``msgData.routeResps[].routes[]`` with ``opCode``,
``remark`` and China local ``acceptTime``. Accepts the bare service body or the gateway envelope
(``apiResultCode`` + ``apiResultData`` as a JSON string)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from orderloom.adapters.carriers.base import chronological, clean, looks_like_attempt, no_tracking
from orderloom.adapters.carriers.carrier_time import stamp
from orderloom.adapters.carriers.payload import decode, dig, iter_dicts
from orderloom.domain.tracking import Location, TrackingEvent, TrackingOutcome, TrackingParseError, TrackingResult

__all__ = ["ADAPTER", "SfExpressAdapter"]

NAME = "sf_express"
HOME = "Asia/Shanghai"


class SfExpressAdapter:
    """Reads SF Express route responses."""

    name = NAME
    formats = ("rest",)
    home_zone: str | None = HOME

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """One outcome per waybill (mailNo)."""
        doc = _unwrap(decode(NAME, payload))
        if isinstance(doc, list):
            return doc
        if doc.get("success") is False or clean(doc.get("errorCode")) not in (None, "S0000"):
            return [no_tracking(NAME, "rest", None, clean(doc.get("errorCode")), clean(doc.get("errorMsg")) or "")]
        routes = dig(doc, "msgData", "routeResps")
        if not isinstance(routes, list):
            raise TrackingParseError(NAME, "no msgData.routeResps list")
        return [_waybill(r) for r in iter_dicts(routes)]


def _unwrap(doc: Any) -> Any:
    if not isinstance(doc, Mapping):
        raise TrackingParseError(NAME, "expected a JSON object")
    if "apiResultCode" not in doc:
        return doc
    code = clean(doc.get("apiResultCode"))
    if code != "A1000":
        return [no_tracking(NAME, "rest", None, code, clean(doc.get("apiErrorMsg")) or "gateway error")]
    data = doc.get("apiResultData")
    try:
        inner = json.loads(data) if isinstance(data, str) else data
    except ValueError:
        raise TrackingParseError(NAME, "apiResultData is not JSON") from None
    if not isinstance(inner, Mapping):
        raise TrackingParseError(NAME, "apiResultData is not an object")
    return inner


def _waybill(item: Mapping[str, Any]) -> TrackingOutcome:
    number = clean(item.get("mailNo"))
    if not number:
        raise TrackingParseError(NAME, "route response without mailNo")
    routes = list(iter_dicts(item.get("routes")))
    if not routes:
        return no_tracking(NAME, "rest", number, None, "no routes yet", kind="no_events")
    return TrackingResult(
        carrier=NAME,
        api_format="rest",
        tracking_number=number,
        events=chronological(_event(r) for r in routes),
    )


def _event(route: Mapping[str, Any]) -> TrackingEvent:
    text = clean(route.get("acceptTime"))
    try:
        moment = datetime.fromisoformat(text or "")
    except ValueError:
        raise TrackingParseError(NAME, f"unreadable acceptTime {text!r}") from None
    place = clean(route.get("acceptAddress"))
    when = stamp(moment, carrier_zone=HOME)
    remark = clean(route.get("remark"))
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=clean(route.get("opCode")),
        raw_description=remark,
        location=Location(text=place, city=place, country="CN") if place else None,
        delivery_attempt=looks_like_attempt(remark),
        local_time=when.local,
        time_basis=when.basis,
    )


ADAPTER = SfExpressAdapter()
