"""Fulfilment orders without I/O: the state machine data, confirmations and their figures, waves, cut-offs, the
order status derived from fulfilment orders, and the invariant shipped <= released <= ordered (property test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderloom.adapters.carriers.fake_booking import FakeCarrier
from orderloom.application.fulfilment_ports import Shipment
from orderloom.bootstrap import load_fulfilment_machine, load_lifecycle
from orderloom.domain.errors import DomainError, ValidationFailed
from orderloom.domain.fulfilment import (
    Confirmation,
    FoKind,
    FoLine,
    FulfilmentMachine,
    FulfilmentMachineError,
    FulfilmentOrder,
    FulfilmentOrderClosed,
    IllegalFoTransition,
    OverConfirmation,
    Package,
    next_cutoff,
    order_path,
    order_target,
    plan_wave,
)
from orderloom.domain.lifecycle import Status

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MACHINE = load_fulfilment_machine()
LIFECYCLE = load_lifecycle()
PKG = (Package(1.0, None, "ups", "ground", "1Z1"),)


def fo(status: str = "released", kind: FoKind = FoKind.SHIP, lines: tuple[int, ...] = (2, 1)) -> FulfilmentOrder:
    return FulfilmentOrder(
        id="fo_1",
        tenant_id="t",
        order_id="ord_1",
        location_id="WH",
        kind=kind,
        status=status,
        lines=[FoLine(i + 1, f"SKU-{i + 1}", q) for i, q in enumerate(lines)],
        created_at=NOW,
        updated_at=NOW,
    )


def conf(kind: str, *lines: tuple[int, int], event: str = "e") -> Confirmation:
    return Confirmation(event, kind, tuple(lines), PKG if kind == "shipped" else ())


def test_machine_data_is_checked() -> None:
    assert {"open", "released", "accepted", "picking", "packed", "shipped", "cancelled", "rejected"} <= set(
        MACHINE.states
    )
    assert MACHINE.terminal("shipped") and not MACHINE.terminal("picking")
    bad = {"states": [{"name": "open", "meaning": "x"}, {"name": "done", "meaning": "y", "terminal": True}]}
    with pytest.raises(FulfilmentMachineError, match="unknown state 'nowhere'"):
        FulfilmentMachine.from_definition({**bad, "actions": [{"name": "go", "from": ["open"], "to": "nowhere"}]})
    with pytest.raises(FulfilmentMachineError, match="leaves terminal state done"):
        FulfilmentMachine.from_definition({**bad, "actions": [{"name": "undo", "from": ["done"], "to": "open"}]})
    with pytest.raises(FulfilmentMachineError, match="malformed"):
        FulfilmentMachine.from_definition({"states": [{}]})
    with pytest.raises(IllegalFoTransition, match="can't accept fulfilment order fo_1: it is open"):
        fo("open").move(MACHINE, "accept", NOW)


def test_confirmations_count_units_and_move_the_state() -> None:
    f = fo()
    assert f.confirm(MACHINE, conf("picked", (1, 1)), NOW) == "picking"
    assert f.confirm(MACHINE, conf("picked", (1, 1), (2, 1)), NOW) == "picking"
    assert f.confirm(MACHINE, conf("packed", (1, 2), (2, 1)), NOW) == "packed"
    assert f.confirm(MACHINE, conf("shipped", (1, 1)), NOW) == "partially_shipped"
    assert f.confirm(MACHINE, conf("shipped", (1, 1), (2, 1)), NOW) == "shipped"
    assert [(ln.picked, ln.packed, ln.shipped) for ln in f.lines] == [(2, 2, 2), (1, 1, 1)]
    with pytest.raises(FulfilmentOrderClosed):
        f.confirm(MACHINE, conf("picked", (1, 1)), NOW)


def test_over_confirmation_names_the_figures_and_changes_nothing() -> None:
    f = fo()
    f.confirm(MACHINE, conf("shipped", (1, 1)), NOW)
    with pytest.raises(OverConfirmation) as err:
        f.confirm(MACHINE, conf("shipped", (2, 1), (1, 1), (1, 1)), NOW)
    assert (err.value.line_no, err.value.requested, err.value.already, err.value.released) == (1, 2, 1, 2)
    assert "shipped 2 more but 1 already shipped of 2 released" in str(err.value)
    assert [ln.shipped for ln in f.lines] == [1, 0]  # line 2 was not counted either
    with pytest.raises(ValidationFailed):
        f.confirm(MACHINE, conf("picked", (7, 1)), NOW)


def test_confirmation_shape_is_checked() -> None:
    for bad in (
        Confirmation("", "picked", ((1, 1),)),
        Confirmation("e", "teleported", ((1, 1),)),
        Confirmation("e", "picked", ()),
        Confirmation("e", "picked", ((1, 0),)),
        Confirmation("e", "shipped", ((1, 1),)),
    ):
        with pytest.raises(ValidationFailed):
            bad.check()
    assert conf("picked", (1, 1)).digest() != conf("picked", (1, 2)).digest()


def test_pickup_orders_become_ready_for_pickup_when_packed() -> None:
    f = fo(kind=FoKind.BOPIS)
    assert f.confirm(MACHINE, conf("packed", (1, 2), (2, 1)), NOW) == "ready_for_pickup"


def test_next_cutoff_in_the_location_zone() -> None:
    # 12:00 UTC is 04:00 in Los Angeles (PST): today's 15:00 cut-off is 23:00 UTC
    assert next_cutoff("15:00", "America/Los_Angeles", NOW) == datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
    # 12:00 UTC is 20:00 in Shanghai: past the 16:00 cut-off, so tomorrow's (08:00 UTC)
    assert next_cutoff("16:00", "Asia/Shanghai", NOW) == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert next_cutoff(None, "UTC", NOW) is None


def test_waves_take_ship_by_first_within_horizon_and_batch() -> None:
    cands = [("a", NOW + timedelta(hours=5)), ("b", NOW + timedelta(hours=1)), ("c", None), ("d", NOW)]
    assert plan_wave(cands, max_batch=10, horizon=None) == ["d", "b", "a", "c"]
    assert plan_wave(cands, max_batch=2, horizon=None) == ["d", "b"]
    assert plan_wave(cands, max_batch=10, horizon=NOW + timedelta(hours=2)) == ["d", "b"]


def test_order_status_follows_its_fulfilment_orders() -> None:
    a, b = fo("open"), fo("open")
    assert order_target([a, b]) is None
    a.status = "released"
    assert order_target([a, b]) == "fulfilling.released_to_warehouse"
    a.status = "packed"  # picking and packing stay on the fulfilment orders: no order write per pick
    assert order_target([a, b]) == "fulfilling.released_to_warehouse"
    a.lines[0].shipped, a.status = 1, "partially_shipped"
    assert order_target([a, b]) == "fulfilling.partially_shipped"
    a.status, b.status = "shipped", "cancelled"
    assert order_target([a, b]) == "shipped.handed_to_carrier"
    pickup = fo("shipped", kind=FoKind.BOPIS)
    assert order_target([pickup]) == "delivered.collected"


def test_order_path_walks_the_lifecycle() -> None:
    reserved = Status("allocated", "reserved")
    assert order_path(LIFECYCLE, reserved, "fulfilling.released_to_warehouse") == ["start_fulfilment"]
    assert order_path(LIFECYCLE, reserved, "fulfilling.partially_shipped") == [
        "start_fulfilment",
        "pick",
        "pack",
        "ship_partial",
    ]
    assert order_path(LIFECYCLE, Status("fulfilling", "packed"), "delivered.collected") == [
        "ship",
        "ready_for_pickup",
        "collect",
    ]
    # never backwards
    assert order_path(LIFECYCLE, Status("fulfilling", "partially_shipped"), "fulfilling.picking") == []


def test_fake_carrier_quotes_buys_and_voids() -> None:
    carrier = FakeCarrier()
    rates = carrier.rates(Shipment("US", "US", "94105", 1.2, (30, 20, 10)))
    assert [r.service for r in rates] == ["ground", "express", "overnight"]
    assert rates[0].amount == Decimal("4.90") + Decimal("1.10") * 2  # 1.2 kg starts a second kilogram
    abroad = carrier.rates(Shipment("US", "CA", None, 1.0))
    assert abroad[0].amount == (Decimal("4.90") + Decimal("1.10")) * 2
    label = carrier.buy(rates[1].id)
    assert (label.service, label.status, len(label.tracking_number)) == ("express", "purchased", 12)
    with pytest.raises(LookupError):
        carrier.buy(rates[1].id)
    assert carrier.void(label.id).status == "voided"
    with pytest.raises(ValueError, match="already voided"):
        carrier.void(label.id)
    with pytest.raises(LookupError):
        carrier.void("lbl_nope")
    with pytest.raises(ValueError):
        carrier.rates(Shipment("US", "US", None, 0))


_steps = st.lists(
    st.tuples(st.sampled_from(["picked", "packed", "shipped"]), st.integers(1, 3), st.integers(-2, 6)),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(ordered=st.lists(st.integers(1, 5), min_size=1, max_size=3), released=st.data(), steps=_steps)
def test_any_sequence_keeps_shipped_within_released_within_ordered(
    ordered: list[int], released: st.DataObject, steps: list[tuple[str, int, int]]
) -> None:
    quantities = tuple(released.draw(st.integers(1, q)) for q in ordered)
    f = fo(lines=quantities)
    for kind, line_no, q in steps:
        try:
            c = conf(kind, (line_no, q))
            c.check()
            f.confirm(MACHINE, c, NOW)
        except (DomainError, ValidationFailed):
            pass
        for ln, want in zip(f.lines, ordered, strict=False):
            assert 0 <= ln.shipped <= ln.active <= ln.quantity <= want
            assert ln.picked <= ln.active and ln.packed <= ln.active
    if f.status == "shipped":
        assert all(ln.open == 0 for ln in f.lines)
