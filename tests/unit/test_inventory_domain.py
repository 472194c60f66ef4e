"""Inventory domain: movement arithmetic, guards with errors that name the figures, locations, sourcing."""

from __future__ import annotations

import pytest

from orderloom.domain.errors import ValidationFailed
from orderloom.domain.inventory import (
    Balance,
    Capability,
    InsufficientStock,
    InvalidMovement,
    Location,
    LocationType,
    MovementKind,
    StockView,
    check_quantity,
    check_sku,
    validate_location,
)
from orderloom.domain.sourcing import Demand, ShipTo, haversine_km, rank_single_locations

K = MovementKind


def test_available_is_on_hand_minus_reserved_minus_safety_stock() -> None:
    b = Balance("SKU-1", "WH1", on_hand=10, reserved=3, safety_stock=2)
    assert b.available == 5
    assert Balance("SKU-1", "WH1", on_hand=2, reserved=0, safety_stock=5).available == 0


def test_each_movement_kind_moves_the_right_figures() -> None:
    b = Balance("S", "L")
    b = b.apply(K.RECEIPT, 10)
    assert (b.on_hand, b.reserved) == (10, 0)
    b = b.apply(K.RESERVATION, 4)
    assert (b.on_hand, b.reserved, b.available) == (10, 4, 6)
    b = b.apply(K.RELEASE, 1)
    assert (b.on_hand, b.reserved) == (10, 3)
    b = b.apply(K.FULFILMENT, 3)
    assert (b.on_hand, b.reserved) == (7, 0)
    b = b.apply(K.RETURN, 1)
    assert b.on_hand == 8
    b = b.apply(K.ADJUSTMENT, -2)
    assert b.on_hand == 6
    b = b.apply(K.TRANSFER, -6)
    assert b.on_hand == 0


def test_reservation_beyond_available_names_the_figures() -> None:
    b = Balance("TSHIRT", "SH-WH", on_hand=5, reserved=2, safety_stock=1)
    with pytest.raises(InsufficientStock) as exc:
        b.apply(K.RESERVATION, 3)
    assert str(exc.value) == (
        "cannot reserve 3 of SKU TSHIRT at SH-WH: on hand 5, reserved 2, safety stock 1, available 2"
    )
    assert b.apply(K.RESERVATION, 2).reserved == 4


def test_adjustment_below_zero_names_current_on_hand_and_change() -> None:
    with pytest.raises(
        InsufficientStock, match=r"cannot adjust SKU X at L: on hand 3, reserved 0, safety stock 0, change -5"
    ):
        Balance("X", "L", on_hand=3).apply(K.ADJUSTMENT, -5)


def test_adjustment_may_not_undercut_reservations() -> None:
    with pytest.raises(InsufficientStock, match="on hand 5, reserved 4"):
        Balance("X", "L", on_hand=5, reserved=4).apply(K.ADJUSTMENT, -2)


def test_release_and_fulfil_need_that_much_reserved() -> None:
    b = Balance("X", "L", on_hand=5, reserved=1)
    with pytest.raises(InsufficientStock, match="cannot release 2 of SKU X at L"):
        b.apply(K.RELEASE, 2)
    with pytest.raises(InsufficientStock, match="cannot fulfil 2"):
        b.apply(K.FULFILMENT, 2)


@pytest.mark.parametrize("kind", [K.RECEIPT, K.RESERVATION, K.RELEASE, K.FULFILMENT, K.RETURN])
def test_non_positive_quantities_are_invalid(kind: MovementKind) -> None:
    with pytest.raises(InvalidMovement):
        Balance("X", "L", on_hand=5).apply(kind, 0)
    with pytest.raises(InvalidMovement):
        Balance("X", "L", on_hand=5).apply(kind, -1)


def test_quantity_and_sku_checks() -> None:
    assert check_quantity(0) == 0
    with pytest.raises(ValidationFailed, match="quantity"):
        check_quantity(-1)
    with pytest.raises(ValidationFailed):
        check_quantity(True)  # type: ignore[arg-type]
    assert check_quantity(-3, "change", allow_negative=True) == -3
    with pytest.raises(ValidationFailed, match="sku"):
        check_sku("")


def _loc(loc_id: str, **kw: object) -> Location:
    return Location(id=loc_id, tenant_id="t", name=loc_id, type=LocationType.WAREHOUSE, **kw)  # type: ignore[arg-type]


def test_location_validation_lists_every_problem() -> None:
    bad = _loc("bad id!", latitude=91.0, longitude=None, cutoff_time="25:00", country="china", time_zone="Mars/Base")
    with pytest.raises(ValidationFailed) as exc:
        validate_location(bad, known_zones=frozenset({"Asia/Shanghai"}))
    fields = [e.field for e in exc.value.errors]
    assert fields == ["id", "country", "latitude", "latitude", "cutoff_time", "time_zone"]
    good = _loc("SH-WH", latitude=31.23, longitude=121.47, cutoff_time="16:00", time_zone="Asia/Shanghai")
    assert validate_location(good, known_zones=frozenset({"Asia/Shanghai"})) is good


def test_haversine_shanghai_to_beijing() -> None:
    assert 1060 < haversine_km(31.2304, 121.4737, 39.9042, 116.4074) < 1075


def test_sourcing_single_location_with_full_stock_nearest_first() -> None:
    sh = _loc("SH", latitude=31.2304, longitude=121.4737, country="CN")
    hz = _loc("HZ", latitude=30.2741, longitude=120.1551, country="CN")
    bj = _loc("BJ", latitude=39.9042, longitude=116.4074, country="CN")
    off = _loc("OFF", latitude=30.2, longitude=120.1, country="CN", active=False)
    pickup_only = _loc("POS", latitude=30.2, longitude=120.1, capabilities=frozenset({Capability.PICKUP}))
    demand = [Demand(1, "A", 2), Demand(2, "B", 1)]
    avail = {("A", loc): 5 for loc in ("SH", "HZ", "BJ", "OFF", "POS")} | {("B", "SH"): 1, ("B", "BJ"): 3}
    avail |= {("B", "OFF"): 9, ("B", "POS"): 9}
    hangzhou = ShipTo(country="CN", latitude=30.25, longitude=120.17)
    assert rank_single_locations(demand, hangzhou, [sh, hz, bj, off, pickup_only], avail) == ["SH", "BJ"]
    beijing = ShipTo(country="CN", latitude=39.9, longitude=116.4)
    assert rank_single_locations(demand, beijing, [sh, hz, bj], avail) == ["BJ", "SH"]


def test_sourcing_without_coordinates_prefers_the_ship_to_country_then_id() -> None:
    us = _loc("US-NJ", country="US")
    cn = _loc("CN-SH", country="CN")
    avail = {("A", "US-NJ"): 1, ("A", "CN-SH"): 1}
    assert rank_single_locations([Demand(1, "A", 1)], ShipTo(country="US"), [cn, us], avail) == ["US-NJ", "CN-SH"]
    assert rank_single_locations([Demand(1, "A", 1)], ShipTo(), [us, cn], avail) == ["CN-SH", "US-NJ"]


def test_sourcing_sums_lines_of_the_same_sku() -> None:
    avail = {("A", "L1"): 3}
    assert rank_single_locations([Demand(1, "A", 2), Demand(2, "A", 2)], ShipTo(), [_loc("L1")], avail) == []


def test_stock_view_atp_counts_active_locations_only() -> None:
    view = StockView(
        "A",
        (
            (Balance("A", "L1", on_hand=10, reserved=2, safety_stock=1), True),
            (Balance("A", "L2", on_hand=5), False),
            (Balance("A", "L3", on_hand=1, reserved=1), True),
        ),
    )
    assert (view.atp, view.on_hand, view.reserved) == (7, 16, 3)


def test_capacity_day_rolls_over_at_the_local_cut_off() -> None:
    from datetime import UTC, date, datetime

    from orderloom.domain.inventory import capacity_day

    sh = _loc("SH", cutoff_time="16:00", time_zone="Asia/Shanghai")
    # 07:59 UTC is 15:59 in Shanghai: today; 08:00 UTC is 16:00: the next day
    assert capacity_day(sh, datetime(2026, 11, 25, 7, 59, tzinfo=UTC)) == date(2026, 11, 25)
    assert capacity_day(sh, datetime(2026, 11, 25, 8, 0, tzinfo=UTC)) == date(2026, 11, 26)
    # 20:00 UTC is 04:00 the next morning in Shanghai, before that day's cut-off
    assert capacity_day(sh, datetime(2026, 11, 25, 20, 0, tzinfo=UTC)) == date(2026, 11, 26)
    la = _loc("LA", time_zone="America/Los_Angeles")
    assert capacity_day(la, datetime(2026, 11, 25, 3, 0, tzinfo=UTC)) == date(2026, 11, 24)


def test_split_places_each_whole_line_at_the_nearest_location_that_still_has_it() -> None:
    from orderloom.domain.sourcing import split_lines

    sh = _loc("SH", latitude=31.2304, longitude=121.4737)
    bj = _loc("BJ", latitude=39.9042, longitude=116.4074)
    avail = {("A", "SH"): 3, ("A", "BJ"): 5, ("B", "BJ"): 1}
    demand = [Demand(1, "A", 2), Demand(2, "A", 2), Demand(3, "B", 1), Demand(4, "C", 1)]
    near_shanghai = ShipTo(latitude=31.0, longitude=121.0)
    assert split_lines(demand, near_shanghai, [bj, sh], avail) == {1: "SH", 2: "BJ", 3: "BJ"}
