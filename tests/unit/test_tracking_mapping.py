"""The raw-code → status mapping as domain logic: lookup order, unknown codes, informational codes, shipment status."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from orderloom.domain.tracking import NoTracking, ShipmentStatus, TrackingError, TrackingEvent, TrackingResult
from orderloom.domain.tracking_mapping import CarrierCodeMap, DescriptionRule, FormatCodeMap

T0 = datetime(2024, 1, 1, 12, tzinfo=UTC)
TRANSIT = ShipmentStatus("in_transit", "in_transit")
DELIVERED = ShipmentStatus("delivered", "signed")
SAFE = ShipmentStatus("delivered", "left_at_safe_place")
ISSUE = ShipmentStatus("delivery_issue", "exception")

FMT = FormatCodeMap(
    codes={"DL": DELIVERED, "IT": TRANSIT, "INFO": None, "7": TRANSIT},
    categories={"X": ISSUE},
    rules=(DescriptionRule(re.compile(r"(?i)front door"), SAFE, code="DL"),),
    strip_leading_zeros=True,
)
MAP = CarrierCodeMap("acme", {"rest": FMT})


def ev(code: str | None, minutes: int, description: str = "", category: str | None = None) -> TrackingEvent:
    return TrackingEvent(T0 + timedelta(minutes=minutes), code, description, raw_category=category)


def test_code_table_maps_and_rules_refine_an_ambiguous_code() -> None:
    assert FMT.classify("DL", "Delivered") == (DELIVERED, "mapped")
    assert FMT.classify("DL", "Delivered at front door") == (SAFE, "mapped")
    assert FMT.classify("IT", "front door") == (TRANSIT, "mapped")  # the rule is limited to DL


def test_unknown_code_is_unmapped_never_guessed() -> None:
    assert FMT.classify("ZZ", "Delivered") == (None, "unmapped")
    assert FMT.classify(None, None) == (None, "unmapped")


def test_informational_code_is_known_but_gives_no_status() -> None:
    assert FMT.classify("INFO", "signature image recorded") == (None, "informational")


def test_category_is_the_fallback_after_codes_and_leading_zeros_are_ignored() -> None:
    assert FMT.classify("SR", "released", "X") == (ISSUE, "mapped")
    assert FMT.classify("IT", "moving", "X") == (TRANSIT, "mapped")
    assert FMT.classify("0007", "arrived") == (TRANSIT, "mapped")


def test_shipment_status_is_the_latest_mapped_event_and_unknown_codes_keep_it() -> None:
    result = TrackingResult("acme", "rest", "1Z", (ev("IT", 0), ev("DL", 10), ev("ZZ", 20), ev("INFO", 30)))
    mapped = MAP.apply(result)
    assert isinstance(mapped, TrackingResult)
    assert mapped.status == DELIVERED
    assert [e.mapping for e in mapped.events] == ["mapped", "mapped", "unmapped", "informational"]
    assert mapped.events[2].status is None


def test_without_mapped_events_the_carrier_shipment_status_is_used() -> None:
    result = TrackingResult("acme", "rest", "1Z", (ev("ZZ", 0),), carrier_status_code="IT")
    assert MAP.apply(result).status == TRANSIT  # type: ignore[union-attr]
    assert MAP.apply(TrackingResult("acme", "rest", "1Z", (ev("ZZ", 0),))).status is None  # type: ignore[union-attr]


def test_no_tracking_passes_through_untouched() -> None:
    nothing = NoTracking("acme", "rest", "1Z", TrackingError("not_found", "404", "unknown number"))
    assert MAP.apply(nothing) is nothing


def test_unknown_format_uses_the_first_table() -> None:
    assert MAP.format("legacy") is FMT
