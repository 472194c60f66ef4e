"""The shipment aggregate: dedupe, time order, flags, and what status an order should follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orderloom.domain.shipments import Shipment, order_target
from orderloom.domain.tracking import ShipmentStatus, TrackingEvent

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
S = ShipmentStatus
TRANSIT, OFD, DELIVERED = S("in_transit", "in_transit"), S("out_for_delivery", "with_courier"), S("delivered", "signed")
ISSUE, RETURN = S("delivery_issue", "failed_attempt"), S("returning", "return_to_sender")


def shipment() -> Shipment:
    return Shipment.create(tenant_id="t", order_id="o", carrier="usps", tracking_numbers=["A", " A ", "B"], now=NOW)


def ev(hours: float, code: str, status: ShipmentStatus | None) -> TrackingEvent:
    mapping = "mapped" if status else "unmapped"
    return TrackingEvent(NOW - timedelta(hours=hours), code, code, status=status, mapping=mapping)


def test_create_dedupes_numbers_and_records_an_event() -> None:
    s = shipment()
    assert s.tracking_numbers == ("A", "B")
    assert [e.type for e in s.pull_events()] == ["orderloom.shipment.created"]


def test_late_older_scans_do_not_override_newer_ones_and_duplicates_are_skipped() -> None:
    s = shipment()
    s.pull_events()
    first = s.apply_scans(tracking_number="A", incoming=[ev(1, "01", DELIVERED)], known=set(), now=NOW)
    assert first.status_after == DELIVERED and first.status_changed
    history = list(first.recorded)
    second = s.apply_scans(
        tracking_number="A",
        incoming=[ev(5, "TL", TRANSIT), ev(1, "01", DELIVERED), ev(3, "ZZ", None)],
        known={x.key for x in history},
        now=NOW,
    )
    assert (len(second.recorded), second.duplicates, second.unmapped) == (2, 1, 1)
    assert s.status == DELIVERED and not second.status_changed
    assert s.last_event_at == NOW - timedelta(hours=1)
    types = [e.type for e in s.pull_events()]
    assert types.count("orderloom.shipment.status_changed") == 1
    assert types.count("orderloom.shipment.scan_recorded") == 3


def test_future_and_too_early_scans_are_flagged_and_do_not_move_the_status() -> None:
    s = shipment()
    batch = s.apply_scans(
        tracking_number="A",
        incoming=[ev(-48, "01", DELIVERED), ev(24 * 30, "TL", TRANSIT), ev(2, "OF", OFD)],
        known=set(),
        now=NOW,
    )
    assert sorted(str(r.flag) for r in batch.recorded) == ["None", "before_shipment", "future"]
    assert s.status == OFD and batch.flagged == 2


def test_order_target_rules() -> None:
    assert order_target([]) is None
    assert order_target([DELIVERED, DELIVERED]) == DELIVERED
    assert order_target([DELIVERED, TRANSIT]) == TRANSIT
    assert order_target([DELIVERED, ISSUE, TRANSIT]) == ISSUE
    assert order_target([DELIVERED, RETURN]) == RETURN
    assert order_target([DELIVERED, None]) is None  # a parcel with no scan yet is not delivered
    assert order_target([TRANSIT, None]) == TRANSIT
