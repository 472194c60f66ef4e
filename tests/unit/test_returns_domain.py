"""The return aggregate, reason codes and the refund calculation (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from tests.conftest import example_order

from orderloom.adapters.returns_config import load_default_return_rules, load_return_reasons
from orderloom.bootstrap import load_lifecycle
from orderloom.domain.errors import ValidationFailed
from orderloom.domain.orders import Order
from orderloom.domain.returns import (
    Disposition,
    InspectedLine,
    RefundRecord,
    ReturnExceedsShipped,
    ReturnLine,
    ReturnReasons,
    ReturnRequest,
    ReturnStateError,
    ReturnStatus,
    calculate_refund,
    paid_amount,
    quantize,
)
from orderloom.domain.rules import parse_rule_set
from orderloom.entrypoints.api.schemas import decode_new_order

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LIFECYCLE = load_lifecycle()
REASONS = load_return_reasons()


def _order(**overrides: Any) -> Order:
    new = decode_new_order(msgspec.json.encode(example_order(**overrides)))
    return Order.place(tenant_id="ten_1", new=new, lifecycle=LIFECYCLE, now=NOW)


def _received(order: Order, *lines: tuple[int, int, str]) -> ReturnRequest:
    ret = ReturnRequest.open(
        tenant_id="ten_1",
        order_id=order.id,
        currency=order.currency,
        lines=[ReturnLine(line_no=n, sku=order.lines[n - 1].sku.code, quantity=q, reason=r) for n, q, r in lines],
        source="api",
        now=NOW,
    )
    ret.approve(label=None, now=NOW)
    ret.receive(
        inspected=[InspectedLine(line_no=n, quantity=q, disposition=Disposition.RESTOCK) for n, q, _ in lines], now=NOW
    )
    return ret


def _refund(order: Order, amount: str, lines: tuple[tuple[int, int], ...], shipping: str = "0") -> RefundRecord:
    return RefundRecord(
        id="rfd_1",
        tenant_id="ten_1",
        order_id=order.id,
        return_id="rma_other",
        amount=Decimal(amount),
        shipping=Decimal(shipping),
        currency=order.currency,
        lines=lines,
        reason=None,
        created_at=NOW,
    )


def test_default_data_files_load() -> None:
    assert REASONS.get("changed_mind") is not None
    assert REASONS.codes["changed_mind"].restocking_fee_percent == Decimal(10)
    assert REASONS.codes["defective"].refund_shipping is True
    document = parse_rule_set("returns", load_default_return_rules())
    assert [r.id for r in document.rules] == ["window", "non-returnable", "condition", "big-return"]


def test_reason_fees_are_checked() -> None:
    with pytest.raises(ValueError, match="0-100"):
        ReturnReasons.from_definition({"reasons": {"x": {"label": "X", "restocking_fee_percent": 120}}})


def test_one_unit_unwinds_its_share_of_the_line_discount_and_tax() -> None:
    order = _order()
    calc = calculate_refund(
        order=order, ret=_received(order, (1, 1, "wrong_size")), reasons=REASONS, refunds=[], returned_elsewhere={}
    )
    (line,) = calc.lines
    assert (line.merchandise, line.discount, line.tax, line.restocking_fee, line.amount) == (
        Decimal("24.99"),
        Decimal("2.50"),
        Decimal("1.80"),
        Decimal("0.00"),
        Decimal("24.29"),
    )
    assert (calc.shipping, calc.total, calc.capped) == (Decimal(0), Decimal("24.29"), False)


def test_shares_of_odd_amounts_add_up_to_the_line_total_across_refunds() -> None:
    lines = [{"sku": "PEN", "quantity": 3, "unit_price": "1.00", "discount": "1.00", "tax": "0.10"}]
    totals = {"subtotal": "3.00", "discount": "1.00", "shipping": "0.00", "tax": "0.10", "grand_total": "2.10"}
    order = _order(lines=lines, totals=totals)
    first = calculate_refund(
        order=order, ret=_received(order, (1, 1, "wrong_size")), reasons=REASONS, refunds=[], returned_elsewhere={}
    )
    assert (first.lines[0].discount, first.lines[0].tax) == (Decimal("0.33"), Decimal("0.03"))
    earlier = [_refund(order, str(first.total), ((1, 1),))]
    rest = calculate_refund(
        order=order,
        ret=_received(order, (1, 2, "wrong_size")),
        reasons=REASONS,
        refunds=earlier,
        returned_elsewhere={1: 1},
    )
    assert (rest.lines[0].discount, rest.lines[0].tax) == (Decimal("0.67"), Decimal("0.07"))
    assert first.total + rest.total == Decimal("2.10")  # everything back, to the cent


def test_zero_exponent_currency_rounds_to_whole_yen() -> None:
    lines = [{"sku": "CUP", "quantity": 3, "unit_price": "1000", "discount": "100", "tax": "0"}]
    totals = {"subtotal": "3000", "discount": "100", "shipping": "500", "tax": "0", "grand_total": "3400"}
    order = _order(currency="JPY", lines=lines, totals=totals)
    calc = calculate_refund(
        order=order, ret=_received(order, (1, 1, "changed_mind")), reasons=REASONS, refunds=[], returned_elsewhere={}
    )
    # 1000 - 33 (100/3 rounded to whole yen) = 967; 10% fee = 96.7 → 97
    assert (calc.lines[0].discount, calc.lines[0].restocking_fee, calc.total) == (
        Decimal(33),
        Decimal(97),
        Decimal(870),
    )
    assert quantize(Decimal("0.0005"), "KWD") == Decimal("0.000") and quantize(Decimal("0.0015"), "KWD") == Decimal(
        "0.002"
    )


def test_taxes_included_prices_refund_no_extra_tax() -> None:
    order = _order(
        taxes_included=True,
        totals={"subtotal": "62.48", "discount": "5.00", "shipping": "7.95", "tax": "4.60", "grand_total": "65.43"},
    )
    calc = calculate_refund(
        order=order, ret=_received(order, (2, 1, "wrong_size")), reasons=REASONS, refunds=[], returned_elsewhere={}
    )
    assert (calc.lines[0].tax, calc.total) == (Decimal(0), Decimal("12.50"))


def test_shipping_comes_back_with_the_last_line_or_a_seller_fault_reason() -> None:
    order = _order()
    full = calculate_refund(
        order=order,
        ret=_received(order, (2, 1, "wrong_size")),
        reasons=REASONS,
        refunds=[_refund(order, "48.58", ((1, 2),))],
        returned_elsewhere={1: 2},
    )
    assert full.shipping == Decimal("7.95")
    assert full.total == Decimal("12.50") + Decimal("1.00") + Decimal("7.95")
    fault = calculate_refund(
        order=order, ret=_received(order, (2, 1, "defective")), reasons=REASONS, refunds=[], returned_elsewhere={}
    )
    assert fault.shipping == Decimal("7.95")
    again = calculate_refund(
        order=order,
        ret=_received(order, (1, 1, "defective")),
        reasons=REASONS,
        refunds=[_refund(order, "21.45", ((2, 1),), shipping="7.95")],
        returned_elsewhere={2: 1},
    )
    assert again.shipping == Decimal(0)  # shipping is refunded once


def test_the_refund_never_exceeds_what_is_left_paid() -> None:
    order = _order()
    calc = calculate_refund(
        order=order,
        ret=_received(order, (1, 2, "wrong_size")),
        reasons=REASONS,
        refunds=[_refund(order, "60.00", ())],
        returned_elsewhere={},
    )
    assert (calc.total, calc.capped, calc.paid, calc.refunded_before) == (
        Decimal("10.03"),
        True,
        Decimal("70.03"),
        Decimal("60.00"),
    )
    unpaid = _order(payment={"status": "pending"})
    assert paid_amount(unpaid) == Decimal(0)
    nothing = calculate_refund(
        order=unpaid, ret=_received(unpaid, (1, 1, "wrong_size")), reasons=REASONS, refunds=[], returned_elsewhere={}
    )
    assert nothing.total == Decimal(0)


def test_return_moves_and_refuses_what_its_status_does_not_allow() -> None:
    order = _order()
    ret = ReturnRequest.open(
        tenant_id="ten_1",
        order_id=order.id,
        currency="USD",
        lines=[ReturnLine(line_no=1, sku="TSHIRT-BLK-M", quantity=1, reason="wrong_size")],
        source="api",
        now=NOW,
    )
    with pytest.raises(ReturnStateError, match=r"can't receive return .*: it is requested"):
        ret.receive(inspected=[InspectedLine(line_no=1, quantity=1, disposition=Disposition.SCRAP)], now=NOW)
    ret.approve(label={"carrier": "x"}, now=NOW)
    with pytest.raises(ReturnExceedsShipped, match="2 received"):
        ret.receive(inspected=[InspectedLine(line_no=1, quantity=2, disposition=Disposition.SCRAP)], now=NOW)
    with pytest.raises(ValidationFailed):
        ret.receive(inspected=[InspectedLine(line_no=2, quantity=1, disposition=Disposition.SCRAP)], now=NOW)
    ret.receive(inspected=[InspectedLine(line_no=1, quantity=1, disposition=Disposition.SCRAP)], now=NOW)
    assert ret.status is ReturnStatus.RECEIVED
    assert [e.type for e in ret.pull_events()] == [
        "orderloom.return.requested",
        "orderloom.return.approved",
        "orderloom.return.received",
    ]
    again = ReturnRequest.from_document("ten_1", ret.as_document())
    assert again.as_document() == ret.as_document()
