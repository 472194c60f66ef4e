"""Yanwen tracking (JSON): ``code`` 0 = success; ``result[]`` with ``tracking_status`` and ``checkpoints[]``, each
with a local ``time_stamp`` and its ``time_zone`` offset (``+8``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orderloom.adapters.carriers.base import chronological, clean, looks_like_attempt, no_tracking
from orderloom.adapters.carriers.carrier_time import stamp
from orderloom.adapters.carriers.payload import decode, iter_dicts, parse_datetime
from orderloom.domain.tracking import Location, TrackingEvent, TrackingOutcome, TrackingParseError, TrackingResult

__all__ = ["ADAPTER", "YanwenAdapter"]

NAME = "yanwen"
HOME = "Asia/Shanghai"


class YanwenAdapter:
    """Reads Yanwen tracking responses."""

    name = NAME
    formats = ("rest",)
    home_zone: str | None = HOME

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """One outcome per tracking number."""
        doc = decode(NAME, payload)
        if not isinstance(doc, Mapping) or "code" not in doc:
            raise TrackingParseError(NAME, "expected a JSON object with code")
        if str(doc.get("code")) != "0":
            return [no_tracking(NAME, "rest", None, str(doc.get("code")), clean(doc.get("message")) or "")]
        results = doc.get("result")
        if not isinstance(results, list):
            raise TrackingParseError(NAME, "no result list")
        return [_result(r) for r in iter_dicts(results)]


def _result(result: Mapping[str, Any]) -> TrackingOutcome:
    number = clean(result.get("tracking_number"))
    if not number:
        raise TrackingParseError(NAME, "result without tracking_number")
    checkpoints = list(iter_dicts(result.get("checkpoints")))
    status = clean(result.get("tracking_status"))
    if not checkpoints and not status:
        return no_tracking(NAME, "rest", number, None, "no checkpoints yet", kind="no_events")
    return TrackingResult(
        carrier=NAME,
        api_format="rest",
        tracking_number=number,
        events=chronological(_event(c) for c in checkpoints),
        carrier_status_code=status,
    )


def _event(checkpoint: Mapping[str, Any]) -> TrackingEvent:
    raw = clean(checkpoint.get("time_stamp"))
    if not raw:
        raise TrackingParseError(NAME, "checkpoint without time_stamp")
    place = clean(checkpoint.get("location"))
    when = stamp(
        parse_datetime(NAME, raw, "%Y-%m-%d %H:%M:%S"),
        offset=clean(checkpoint.get("time_zone")),
        carrier_zone=HOME,
    )
    message = clean(checkpoint.get("message"))
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=clean(checkpoint.get("tracking_status")),
        raw_description=message,
        location=Location(text=place) if place else None,
        delivery_attempt=looks_like_attempt(message),
        local_time=when.local,
        time_basis=when.basis,
    )


ADAPTER = YanwenAdapter()
