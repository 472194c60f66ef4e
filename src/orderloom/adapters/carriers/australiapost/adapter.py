"""Australia Post Shipping & Tracking API (JSON): ``tracking_results[]`` → ``trackable_items[]`` (and their nested
``items[]``) → ``events[]`` with words but no codes; times carry their offset. ``errors[]`` are errors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from orderloom.adapters.carriers.base import chronological, clean, looks_like_attempt, no_tracking
from orderloom.adapters.carriers.carrier_time import stamp, zone_book
from orderloom.adapters.carriers.payload import decode, iter_dicts, parse_datetime
from orderloom.domain.tracking import Location, TrackingEvent, TrackingOutcome, TrackingParseError, TrackingResult

__all__ = ["ADAPTER", "AustraliaPostAdapter"]

NAME = "australiapost"
HOME = "Australia/Sydney"


class AustraliaPostAdapter:
    """Reads Australia Post tracking responses."""

    name = NAME
    formats = ("rest",)
    home_zone: str | None = HOME

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """One outcome per tracking id."""
        doc = decode(NAME, payload)
        if not isinstance(doc, Mapping):
            raise TrackingParseError(NAME, "expected a JSON object")
        if "tracking_results" not in doc:
            errors = list(iter_dicts(doc.get("errors")))
            if not errors:
                raise TrackingParseError(NAME, "no tracking_results and no errors")
            return [_error(None, e) for e in errors]
        return [_result(r) for r in iter_dicts(doc.get("tracking_results"))]


def _error(number: str | None, error: Mapping[str, Any]) -> TrackingOutcome:
    message = clean(error.get("message")) or clean(error.get("name")) or ""
    return no_tracking(NAME, "rest", number, clean(error.get("code")), message)


def _items(result: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for item in iter_dicts(result.get("trackable_items")):
        yield item
        yield from iter_dicts(item.get("items"))


def _result(result: Mapping[str, Any]) -> TrackingOutcome:
    number = clean(result.get("tracking_id"))
    errors = list(iter_dicts(result.get("errors")))
    if errors:
        return _error(number, errors[0])
    if not number:
        raise TrackingParseError(NAME, "tracking result without tracking_id")
    items = list(_items(result))
    events = [_event(e) for item in items for e in iter_dicts(item.get("events"))]
    unique = {(e.occurred_at, e.raw_description): e for e in events}
    status = clean(result.get("status")) or next((clean(i.get("status")) for i in items if i.get("status")), None)
    return TrackingResult(
        carrier=NAME,
        api_format="rest",
        tracking_number=number,
        events=chronological(sorted(unique.values(), key=lambda e: e.occurred_at)),
        service=next((clean(i.get("product_type")) for i in items if i.get("product_type")), None),
        carrier_status_text=status,
    )


def _location(text: str | None) -> Location | None:
    if not text:
        return None
    words = text.split()
    region = words[-1] if len(words) > 1 and words[-1] in zone_book().regions["AU"] else None
    return Location(
        text=text, city=" ".join(words[:-1]) if region else None, region=region, country="AU" if region else None
    )


def _event(event: Mapping[str, Any]) -> TrackingEvent:
    raw = clean(event.get("date"))
    if not raw:
        raise TrackingParseError(NAME, "event without date")
    location = _location(clean(event.get("location")))
    when = stamp(parse_datetime(NAME, raw), location=location, carrier_zone=HOME)
    description = clean(event.get("description"))
    return TrackingEvent(
        occurred_at=when.utc,
        raw_code=None,
        raw_description=description,
        location=location,
        delivery_attempt=looks_like_attempt(description),
        local_time=when.local,
        time_basis=when.basis,
    )


ADAPTER = AustraliaPostAdapter()
