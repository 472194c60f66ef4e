"""Return and refund use cases: request (authorised by rules), approve/reject, receive with inspection, refund,
exchange, and cancellation after shipment as a return.

The order follows through real lifecycle actions (``start_return``, ``approve_return``, ``receive_return``,
``inspect``, ``refund``/``partial_refund``, ``restock``) whenever the state machine offers them from the order's
current status; a return on an order whose status has moved on (e.g. a second return after a partial refund) is
still recorded, the order simply stays where it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from orderloom.application.inventory import return_stock
from orderloom.application.orders import IdempotencyMismatch, apply_action, place_order
from orderloom.application.ports import StoredResponse
from orderloom.application.returns_ports import ReturnLabels, ReturnPolicy, ReturnsUnitOfWork, ShippedQuantities
from orderloom.domain.audit import AuditEntry
from orderloom.domain.canonical import order_to_document
from orderloom.domain.errors import FieldError, ValidationFailed
from orderloom.domain.ids import new_id
from orderloom.domain.lifecycle import Lifecycle, Status
from orderloom.domain.orders import Order
from orderloom.domain.returns import (
    Disposition,
    InspectedLine,
    NothingToRefund,
    RefundBreakdown,
    RefundExceedsPaid,
    RefundIssued,
    RefundRecord,
    ReturnExceedsShipped,
    ReturnLine,
    ReturnReasons,
    ReturnRefused,
    ReturnRequest,
    ReturnStatus,
    calculate_refund,
    paid_amount,
    quantize,
)
from orderloom.domain.rules import Decision
from orderloom.domain.values import NewLine, NewOrder, Payment, Totals

__all__ = [
    "CONDITIONS",
    "ExchangeLine",
    "RequestedLine",
    "ReturnsSetup",
    "approve_return",
    "cancel_as_return",
    "exchange_return",
    "issue_refund",
    "issue_refund_once",
    "mark_return_shipped",
    "quote_refund",
    "receive_return",
    "reject_return",
    "request_return",
]

CONDITIONS = ("unopened", "opened", "used", "damaged")
_OPEN = (ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT, ReturnStatus.RECEIVED)


@dataclass(frozen=True, slots=True)
class ReturnsSetup:
    """What the return use cases need besides the unit of work."""

    lifecycle: Lifecycle
    reasons: ReturnReasons
    policy: ReturnPolicy
    shipped: ShippedQuantities
    labels: ReturnLabels


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestedLine:
    """A line the customer wants to send back."""

    line_no: int
    quantity: int
    reason: str
    condition: str = "unopened"
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeLine:
    """What the customer gets instead of a returned line (same price; a different SKU, e.g. another size)."""

    line_no: int
    sku: str
    quantity: int


# --- helpers ---------------------------------------------------------------------------------------------------


def _audit(ret: ReturnRequest, actor: str, action: str, now: datetime, after: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        tenant_id=ret.tenant_id,
        actor=actor,
        action=f"return.{action}",
        entity_type="return",
        entity_id=ret.id,
        at=now,
        before=None,
        after=after,
    )


def _follow(
    uow: ReturnsUnitOfWork,
    setup: ReturnsSetup,
    order: Order,
    actions: Sequence[str],
    actor: str,
    now: datetime,
    **p: Any,
) -> None:
    """Apply each action the lifecycle offers from the order's current status, in turn."""
    status = order.status
    for action in actions:
        if action not in setup.lifecycle.available_actions(status):
            continue
        doc = apply_action(
            uow=uow,
            tenant_id=order.tenant_id,
            order_id=order.id,
            action=action,
            params=dict(p),
            lifecycle=setup.lifecycle,
            actor=actor,
            now=now,
        )
        status = Status(doc["status"]["main"], doc["status"]["sub"])


def _store(uow: ReturnsUnitOfWork, ret: ReturnRequest, actor: str, action: str, now: datetime, *, new: bool) -> None:
    if new:
        uow.returns.add(ret)
    else:
        uow.returns.save(ret)
    document = ret.as_document()
    uow.audit.append(_audit(ret, actor, action, now, document))
    uow.outbox.add(ret.pull_events())


def _claimed(uow: ReturnsUnitOfWork, tenant_id: str, order_id: str, *, skip: str | None = None) -> dict[int, int]:
    claimed: dict[int, int] = {}
    for other in uow.returns.for_order(tenant_id, order_id):
        if other.counts_against_shipped() and other.id != skip:
            for ln in other.lines:
                claimed[ln.line_no] = claimed.get(ln.line_no, 0) + ln.quantity
    return claimed


def _check_lines(order: Order, lines: Sequence[RequestedLine], reasons: ReturnReasons) -> None:
    errors: list[FieldError] = []
    seen: set[int] = set()
    for i, ln in enumerate(lines):
        path = f"lines[{i}]"
        if not 1 <= ln.line_no <= len(order.lines):
            errors.append(FieldError(f"{path}.line_no", f"order {order.id} has lines 1-{len(order.lines)}"))
        if ln.line_no in seen:
            errors.append(FieldError(f"{path}.line_no", f"line {ln.line_no} is listed twice"))
        seen.add(ln.line_no)
        if ln.quantity <= 0:
            errors.append(FieldError(f"{path}.quantity", "more than 0"))
        if reasons.get(ln.reason) is None:
            errors.append(FieldError(f"{path}.reason", f"one of {', '.join(sorted(reasons.codes))}"))
        if ln.condition not in CONDITIONS:
            errors.append(FieldError(f"{path}.condition", f"one of {', '.join(CONDITIONS)}"))
    if not lines:
        errors.append(FieldError("lines", "at least one line"))
    if errors:
        raise ValidationFailed(errors)


def _line_amount(order: Order, line_no: int, units: int) -> Decimal:
    line = order.lines[line_no - 1]
    total = line.gross.amount - line.discount.amount + (Decimal(0) if order.taxes_included else line.tax.amount)
    return quantize(total * units / line.quantity, order.currency)


def _authorise(
    setup: ReturnsSetup, order: Order, ln: RequestedLine, figures: dict[str, Any], source: str
) -> str | None:
    """Run the return rules on one line: raises ReturnRefused on ``deny``; the approval role if one is needed."""
    rma = {
        "line_no": ln.line_no,
        "sku": order.lines[ln.line_no - 1].sku.code,
        "quantity": ln.quantity,
        "reason": ln.reason,
        "condition": ln.condition,
        "amount": float(_line_amount(order, ln.line_no, ln.quantity)),
        "delivered": figures["delivered_at"] is not None,
        "days_since_delivery": figures["days_since_delivery"],
        "source": source,
    }
    decision = setup.policy.evaluate(tenant_id=order.tenant_id, order_document=order_to_document(order), line=rma)
    return _verdict(decision, ln.line_no, figures)


def _verdict(decision: Decision, line_no: int, figures: dict[str, Any]) -> str | None:
    for fired in decision.fired:
        for action in fired.actions:
            if action.name == "deny":
                raise ReturnRefused(
                    line_no=line_no, rule_id=fired.rule_id, reason=str(action.arg("reason")), figures=figures
                )
    if decision.errors:
        return "returns"  # a rule raised: a person decides
    roles = [str(a.arg("role")) for a in decision.actions if a.name == "require_approval"]
    return roles[0] if roles else None


# --- use cases -------------------------------------------------------------------------------------------------


def request_return(
    *,
    uow: ReturnsUnitOfWork,
    setup: ReturnsSetup,
    tenant_id: str,
    order_id: str,
    lines: Sequence[RequestedLine],
    source: str,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Open a return for shipped order lines, authorised line by line by the ``returns`` rules; returns its document."""
    order = uow.orders.get(tenant_id, order_id)
    _check_lines(order, lines, setup.reasons)
    shipped = setup.shipped.shipped(uow, order)
    claimed = _claimed(uow, tenant_id, order_id)
    for ln in lines:
        have, already = shipped.get(ln.line_no, 0), claimed.get(ln.line_no, 0)
        if already + ln.quantity > have:
            sku = order.lines[ln.line_no - 1].sku.code
            raise ReturnExceedsShipped(
                line_no=ln.line_no, sku=sku, requested=ln.quantity, shipped=have, already=already
            )
    delivered_at = uow.returns.delivered_at(tenant_id, order_id)
    days = max((now - delivered_at).days, 0) if delivered_at else 0
    approvals = []
    for ln in lines:
        figures = {
            "delivered_at": delivered_at.isoformat() if delivered_at else None,
            "days_since_delivery": days,
            "shipped": shipped.get(ln.line_no, 0),
            "condition": ln.condition,
            "reason": ln.reason,
        }
        if (role := _authorise(setup, order, ln, figures, source)) is not None:
            approvals.append(role)
    ret = ReturnRequest.open(
        tenant_id=tenant_id,
        order_id=order_id,
        currency=order.currency,
        lines=[
            ReturnLine(
                line_no=ln.line_no,
                sku=order.lines[ln.line_no - 1].sku.code,
                quantity=ln.quantity,
                reason=ln.reason,
                condition=ln.condition,
                note=ln.note,
            )
            for ln in lines
        ],
        source=source,
        now=now,
    )
    ret.approval_needed = approvals[0] if approvals else None
    if ret.approval_needed is None:
        ret.approve(label=setup.labels.create(tenant_id=tenant_id, return_id=ret.id, order=order).as_dict(), now=now)
    _store(uow, ret, actor, "request", now, new=True)
    actions = ["start_return"] if ret.approval_needed else ["start_return", "approve_return"]
    _follow(uow, setup, order, actions, actor, now)
    return ret.as_document()


def approve_return(
    *, uow: ReturnsUnitOfWork, setup: ReturnsSetup, tenant_id: str, return_id: str, actor: str, now: datetime
) -> dict[str, Any]:
    """Authorise a return that waited for approval and book its label; returns its document."""
    ret = uow.returns.get(tenant_id, return_id)
    order = uow.orders.get(tenant_id, ret.order_id)
    ret.require("approve")
    ret.approve(label=setup.labels.create(tenant_id=tenant_id, return_id=ret.id, order=order).as_dict(), now=now)
    _store(uow, ret, actor, "approve", now, new=False)
    _follow(uow, setup, order, ["approve_return"], actor, now)
    return ret.as_document()


def reject_return(
    *,
    uow: ReturnsUnitOfWork,
    setup: ReturnsSetup,
    tenant_id: str,
    return_id: str,
    reason: str,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Refuse a requested return (its units may be asked back again); returns its document."""
    if not reason.strip():
        raise ValidationFailed([FieldError("reason", "say why the return is refused")])
    ret = uow.returns.get(tenant_id, return_id)
    order = uow.orders.get(tenant_id, ret.order_id)
    ret.reject(reason=reason, now=now)
    _store(uow, ret, actor, "reject", now, new=False)
    others = [r for r in uow.returns.for_order(tenant_id, ret.order_id) if r.id != ret.id and r.status in _OPEN]
    if not others:
        _follow(uow, setup, order, ["reject_return"], actor, now, reason=reason)
    return ret.as_document()


def mark_return_shipped(
    *, uow: ReturnsUnitOfWork, setup: ReturnsSetup, tenant_id: str, return_id: str, actor: str, now: datetime
) -> dict[str, Any]:
    """The customer sent the parcel back (the label's first carrier scan, or the customer saying so)."""
    ret = uow.returns.get(tenant_id, return_id)
    order = uow.orders.get(tenant_id, ret.order_id)
    ret.ship(tracking_number=(ret.label or {}).get("tracking_number"), now=now)
    _store(uow, ret, actor, "ship", now, new=False)
    _follow(uow, setup, order, ["ship_return"], actor, now)
    return ret.as_document()


def _move_stock(
    uow: ReturnsUnitOfWork,
    ret: ReturnRequest,
    inspected: Sequence[InspectedLine],
    location_id: str | None,
    now: datetime,
) -> None:
    """Restocked and refurbished units go back into on-hand (RETURN movements); scrapped ones do not."""
    managed = bool(uow.inventory.list_locations(ret.tenant_id))
    skus = {ln.line_no: ln.sku for ln in ret.lines}
    for i, item in enumerate(inspected):
        if item.disposition is Disposition.SCRAP or item.quantity == 0:
            continue
        where = item.location_id or location_id
        if where is None:
            if managed:
                raise ValidationFailed([FieldError(f"lines[{i}].location_id", "where do the units go back?")])
            continue
        return_stock(
            uow=uow,
            tenant_id=ret.tenant_id,
            sku=skus[item.line_no],
            location_id=where,
            quantity=item.quantity,
            reason=f"return:{item.disposition.value}",
            reference=f"{ret.id}#{item.line_no}",
            now=now,
        )


def receive_return(
    *,
    uow: ReturnsUnitOfWork,
    setup: ReturnsSetup,
    tenant_id: str,
    return_id: str,
    location_id: str | None,
    inspected: Sequence[InspectedLine],
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Record the arrival and the inspection per line; restock or refurbish into stock; returns the document."""
    ret = uow.returns.get(tenant_id, return_id)
    order = uow.orders.get(tenant_id, ret.order_id)
    seen = [item.line_no for item in inspected]
    if len(seen) != len(set(seen)) or not inspected:
        raise ValidationFailed([FieldError("lines", "each returned line once, at least one")])
    ret.receive(inspected=inspected, now=now)
    if location_id is not None or any(i.location_id for i in inspected):
        location_ids = [x for x in [location_id, *(i.location_id for i in inspected)] if x]
        for loc in location_ids:
            uow.inventory.get_location(tenant_id, loc)
    _move_stock(uow, ret, inspected, location_id, now)
    _store(uow, ret, actor, "receive", now, new=False)
    _follow(uow, setup, order, ["receive_return", "inspect"], actor, now)
    return ret.as_document()


def _breakdown(uow: ReturnsUnitOfWork, setup: ReturnsSetup, order: Order, ret: ReturnRequest) -> RefundBreakdown:
    refunds = [r for r in uow.returns.refunds_of(ret.tenant_id, order.id) if r.return_id != ret.id]
    elsewhere: dict[int, int] = {}
    for other in uow.returns.for_order(ret.tenant_id, order.id):
        if other.id != ret.id and other.counts_against_shipped():
            for ln in other.lines:
                elsewhere[ln.line_no] = elsewhere.get(ln.line_no, 0) + ln.received
    return calculate_refund(order=order, ret=ret, reasons=setup.reasons, refunds=refunds, returned_elsewhere=elsewhere)


def quote_refund(*, uow: ReturnsUnitOfWork, setup: ReturnsSetup, tenant_id: str, return_id: str) -> dict[str, Any]:
    """What the return would refund now, itemised (nothing is written)."""
    ret = uow.returns.get(tenant_id, return_id)
    order = uow.orders.get(tenant_id, ret.order_id)
    calc = _breakdown(uow, setup, order, ret)
    due = max(calc.total - ret.refunded, Decimal(0))
    return {"return_id": ret.id, "due": str(due), "refunded": str(ret.refunded), "breakdown": calc.as_dict()}


def _amount(given: Decimal | None, due: Decimal, left: Decimal, order: Order, ret: ReturnRequest) -> Decimal:
    if given is None:
        if min(due, left) <= 0:
            raise NothingToRefund(ret.id, ret.refunded, order.currency)
        return min(due, left)
    if given <= 0 or quantize(given, order.currency) != given:
        raise ValidationFailed([FieldError("amount", f"a positive amount in whole minor units of {order.currency}")])
    if given > left:
        raise RefundExceedsPaid(
            order_id=order.id,
            asked=given,
            paid=paid_amount(order),
            refunded=paid_amount(order) - left,
            currency=order.currency,
        )
    return given


def issue_refund(
    *,
    uow: ReturnsUnitOfWork,
    setup: ReturnsSetup,
    tenant_id: str,
    return_id: str,
    amount: Decimal | None,
    reason: str | None,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Refund a received return: the calculated amount, or ``amount`` (partial/goodwill) up to what is left paid."""
    ret = uow.returns.get(tenant_id, return_id)
    order = uow.orders.get(tenant_id, ret.order_id)
    ret.require("refund")
    all_refunds = uow.returns.refunds_of(tenant_id, order.id)
    calc = _breakdown(uow, setup, order, ret)
    left = paid_amount(order) - sum((r.amount for r in all_refunds), Decimal(0))
    due = calc.total - ret.refunded
    value = _amount(amount, due, left, order, ret)
    itemised = value >= due and not any(r.return_id == ret.id and r.lines for r in all_refunds)
    record = RefundRecord(
        id=new_id("rfd"),
        tenant_id=tenant_id,
        order_id=order.id,
        return_id=ret.id,
        amount=value,
        shipping=calc.shipping if itemised else Decimal(0),
        currency=order.currency,
        lines=tuple((ln.line_no, ln.quantity) for ln in calc.lines) if itemised else (),
        reason=reason,
        created_at=now,
    )
    uow.returns.add_refund(record)
    ret.record_refund(amount=value, now=now)
    _store(uow, ret, actor, "refund", now, new=False)
    uow.outbox.add([_refund_event(order, record, calc)])
    fully = value >= left
    _follow(uow, setup, order, ["refund" if fully else "partial_refund"], actor, now, reason=reason or "return")
    return {"refund": record.as_dict(), "breakdown": calc.as_dict(), "return": ret.as_document()}


def issue_refund_once(
    *,
    uow: ReturnsUnitOfWork,
    setup: ReturnsSetup,
    tenant_id: str,
    return_id: str,
    amount: Decimal | None,
    reason: str | None,
    actor: str,
    now: datetime,
    key: str,
    request_hash: str,
    render: Callable[[dict[str, Any]], bytes],
) -> tuple[StoredResponse, bool]:
    """``issue_refund`` under an Idempotency-Key: a retry gets the first response (True: replayed), a different body
    is refused (IdempotencyMismatch)."""
    stored = uow.idempotency.get(tenant_id, key)
    if stored is not None:
        if stored.request_hash != request_hash:
            raise IdempotencyMismatch(key)
        return stored, True
    result = issue_refund(
        uow=uow,
        setup=setup,
        tenant_id=tenant_id,
        return_id=return_id,
        amount=amount,
        reason=reason,
        actor=actor,
        now=now,
    )
    response = StoredResponse(request_hash, 201, render(result), resource_id=result["refund"]["id"])
    uow.idempotency.put(tenant_id, key, response)
    return response, False


def _refund_event(order: Order, record: RefundRecord, calc: RefundBreakdown) -> RefundIssued:
    return RefundIssued(
        tenant_id=order.tenant_id,
        aggregate_id=order.id,
        occurred_at=record.created_at,
        data={
            **record.as_dict(),
            "channel": order.channel,
            "channel_order_id": order.channel_order_id,
            "payment_reference": order.payment.reference,
            "breakdown": calc.as_dict(),
        },
    )


def _exchange_order(order: Order, ret: ReturnRequest, lines: Sequence[ExchangeLine], now: datetime) -> NewOrder:
    received = {ln.line_no: ln.received for ln in ret.lines}
    wanted: dict[int, int] = {}
    for x in lines:
        wanted[x.line_no] = wanted.get(x.line_no, 0) + x.quantity
    errors = [
        FieldError(f"lines[{i}].quantity", f"at most the {received.get(x.line_no, 0)} received on line {x.line_no}")
        for i, x in enumerate(lines)
        if x.quantity <= 0 or wanted[x.line_no] > received.get(x.line_no, 0)
    ]
    if errors or not lines:
        raise ValidationFailed(errors or [FieldError("lines", "at least one exchange line")])
    new_lines = []
    for x in lines:
        src = order.lines[x.line_no - 1]
        share = Decimal(x.quantity) / src.quantity
        new_lines.append(
            NewLine(
                sku=x.sku,
                quantity=x.quantity,
                unit_price=src.unit_price.amount,
                discount=quantize(src.discount.amount * share, order.currency),
                tax=quantize(src.tax.amount * share, order.currency),
                name=src.name,
            )
        )
    subtotal = sum((ln.unit_price * ln.quantity for ln in new_lines), Decimal(0))
    discount = sum((ln.discount for ln in new_lines), Decimal(0))
    tax = sum((ln.tax for ln in new_lines), Decimal(0))
    grand = subtotal - discount + (Decimal(0) if order.taxes_included else tax)
    return NewOrder(
        channel=order.channel,
        channel_order_id=f"{order.channel_order_id}/exchange/{ret.id}",
        currency=order.currency,
        placed_at=now,
        lines=new_lines,
        totals=Totals(subtotal=subtotal, discount=discount, shipping=Decimal(0), tax=tax, grand_total=grand),
        customer=order.customer,
        shipping_address=order.shipping_address,
        billing_address=order.billing_address,
        payment=Payment(status="paid", method="exchange", reference=ret.id),
        taxes_included=order.taxes_included,
        tags=["exchange"],
        custom_fields={"exchange_for_return": ret.id, "exchange_of_order": order.id},
    )


def exchange_return(
    *,
    uow: ReturnsUnitOfWork,
    setup: ReturnsSetup,
    tenant_id: str,
    return_id: str,
    lines: Sequence[ExchangeLine],
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Close a received return as an exchange: a new, already paid order for the replacement items, linked both ways."""
    ret = uow.returns.get(tenant_id, return_id)
    order = uow.orders.get(tenant_id, ret.order_id)
    ret.require("exchange")
    new = _exchange_order(order, ret, lines, now)
    doc = place_order(uow=uow, tenant_id=tenant_id, new=new, lifecycle=setup.lifecycle, actor=actor, now=now)
    ret.exchange(exchange_order_id=doc["id"], now=now)
    _store(uow, ret, actor, "exchange", now, new=False)
    _follow(uow, setup, order, ["restock"], actor, now)
    return {"return": ret.as_document(), "exchange_order": doc}


def cancel_as_return(
    *,
    uow: ReturnsUnitOfWork,
    setup: ReturnsSetup,
    tenant_id: str,
    order_id: str,
    reason: str,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Cancellation after shipment: a return request for every shipped unit not already asked back."""
    order = uow.orders.get(tenant_id, order_id)
    shipped = setup.shipped.shipped(uow, order)
    claimed = _claimed(uow, tenant_id, order_id)
    lines = [
        RequestedLine(line_no=n, quantity=q - claimed.get(n, 0), reason=reason)
        for n, q in sorted(shipped.items())
        if q - claimed.get(n, 0) > 0
    ]
    if not lines:
        raise ValidationFailed([FieldError("order_id", f"order {order_id} has no shipped units left to return")])
    return request_return(
        uow=uow,
        setup=setup,
        tenant_id=tenant_id,
        order_id=order_id,
        lines=lines,
        source="cancellation",
        actor=actor,
        now=now,
    )
