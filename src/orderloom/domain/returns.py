"""Returns (RMA) and refunds: the return aggregate, reason codes and the refund calculation (Decimal, minor units).

A return covers lines of one order; it moves requested → approved → (in transit →) received → refunded (or
exchanged), or is rejected. The refund of a return is calculated from what was received: line amounts less the
line discount's proportional share (promotions unwound), plus the tax share when prices exclude tax, plus shipping
when the order is fully returned or a reason code says so, less a restocking fee per reason code; never above what
was paid less the refunds already issued.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any, ClassVar

from orderloom.domain.currencies import CURRENCY_EXPONENTS
from orderloom.domain.errors import DomainError, FieldError, ValidationFailed
from orderloom.domain.events import Event
from orderloom.domain.ids import new_id
from orderloom.domain.orders import Order
from orderloom.domain.values import PAID_STATES

__all__ = [
    "Disposition",
    "InspectedLine",
    "LineRefund",
    "NothingToRefund",
    "ReasonCode",
    "RefundBreakdown",
    "RefundExceedsPaid",
    "RefundIssued",
    "RefundRecord",
    "ReturnEvent",
    "ReturnExceedsShipped",
    "ReturnLine",
    "ReturnNotFound",
    "ReturnReasons",
    "ReturnRefused",
    "ReturnRequest",
    "ReturnStateError",
    "ReturnStatus",
    "calculate_refund",
    "paid_amount",
    "quantize",
]


class ReturnStatus(StrEnum):
    """Where a return stands."""

    REQUESTED = "requested"
    APPROVED = "approved"
    IN_TRANSIT = "in_transit"
    REJECTED = "rejected"
    RECEIVED = "received"
    REFUNDED = "refunded"
    EXCHANGED = "exchanged"


class Disposition(StrEnum):
    """The inspection result of a returned line."""

    RESTOCK = "restock"
    REFURBISH = "refurbish"
    SCRAP = "scrap"


# command → (statuses it may start from, status it leads to)
_MOVES: dict[str, tuple[frozenset[ReturnStatus], ReturnStatus]] = {
    "approve": (frozenset({ReturnStatus.REQUESTED}), ReturnStatus.APPROVED),
    "reject": (frozenset({ReturnStatus.REQUESTED}), ReturnStatus.REJECTED),
    "ship": (frozenset({ReturnStatus.APPROVED}), ReturnStatus.IN_TRANSIT),
    "receive": (frozenset({ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT}), ReturnStatus.RECEIVED),
    "refund": (frozenset({ReturnStatus.RECEIVED, ReturnStatus.REFUNDED}), ReturnStatus.REFUNDED),
    "exchange": (frozenset({ReturnStatus.RECEIVED}), ReturnStatus.EXCHANGED),
}


class ReturnNotFound(DomainError):
    """No such return for this tenant."""

    def __init__(self, return_id: str) -> None:
        self.return_id = return_id
        super().__init__(f"return {return_id} not found")


class ReturnStateError(DomainError):
    """A command the return's status does not allow ("can't receive return X: it is requested")."""

    def __init__(self, return_id: str, command: str, status: ReturnStatus) -> None:
        self.return_id = return_id
        self.command = command
        self.status = status
        allowed = ", ".join(sorted(s.value for s in _MOVES[command][0]))
        super().__init__(f"can't {command} return {return_id}: it is {status.value} (needs {allowed})")


class ReturnExceedsShipped(DomainError):
    """More units asked back (or received) than were shipped (or requested) on a line; names the figures."""

    def __init__(
        self, *, line_no: int, sku: str, requested: int, shipped: int, already: int, message: str | None = None
    ) -> None:
        self.line_no = line_no
        self.sku = sku
        self.requested = requested
        self.shipped = shipped
        self.already = already
        left = max(shipped - already, 0)
        super().__init__(
            message
            or f"line {line_no} ({sku}): {requested} asked back but {shipped} shipped and {already} already returned "
            f"({left} left)"
        )


class ReturnRefused(DomainError):
    """The return authorisation rules refused a line; names the rule, its reason and the figures it saw."""

    def __init__(self, *, line_no: int, rule_id: str, reason: str, figures: Mapping[str, Any]) -> None:
        self.line_no = line_no
        self.rule_id = rule_id
        self.reason = reason
        self.figures = dict(figures)
        shown = ", ".join(f"{k} {v}" for k, v in figures.items())
        super().__init__(f"line {line_no} can't be returned: {reason} (rule {rule_id}; {shown})")


class RefundExceedsPaid(DomainError):
    """A refund above what was paid less earlier refunds."""

    def __init__(self, *, order_id: str, asked: Decimal, paid: Decimal, refunded: Decimal, currency: str) -> None:
        self.order_id = order_id
        self.asked = asked
        self.paid = paid
        self.refunded = refunded
        self.currency = currency
        super().__init__(
            f"can't refund {asked} {currency} on order {order_id}: paid {paid}, already refunded {refunded}, "
            f"at most {paid - refunded} left"
        )


class NothingToRefund(DomainError):
    """The return's calculated refund is already fully paid out."""

    def __init__(self, return_id: str, refunded: Decimal, currency: str) -> None:
        self.return_id = return_id
        super().__init__(f"return {return_id} is fully refunded ({refunded} {currency}); give an amount for goodwill")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReasonCode:
    """A return reason: its label, the restocking fee it carries and whether it refunds shipping."""

    code: str
    label: str
    restocking_fee_percent: Decimal = Decimal(0)
    refund_shipping: bool = False


@dataclass(frozen=True, slots=True)
class ReturnReasons:
    """The reason codes (``data/return_reasons.yaml``) and the shipping refund policy."""

    codes: Mapping[str, ReasonCode]
    shipping_when_fully_returned: bool = True

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> ReturnReasons:
        """Check and build from the YAML document."""
        codes: dict[str, ReasonCode] = {}
        for code, raw in dict(definition["reasons"]).items():
            fee = Decimal(str(raw.get("restocking_fee_percent", 0)))
            if not Decimal(0) <= fee <= Decimal(100):
                raise ValueError(f"return reason {code}: restocking_fee_percent must be 0-100, got {fee}")
            codes[str(code)] = ReasonCode(
                code=str(code),
                label=str(raw["label"]),
                restocking_fee_percent=fee,
                refund_shipping=bool(raw.get("refund_shipping", False)),
            )
        if not codes:
            raise ValueError("return reasons: at least one reason code")
        policy = dict(definition.get("shipping_refund", {}))
        return cls(codes, bool(policy.get("when_fully_returned", True)))

    def get(self, code: str) -> ReasonCode | None:
        """The reason code, if known."""
        return self.codes.get(code)


@dataclass(slots=True, kw_only=True)
class ReturnLine:
    """One order line being returned: how many, why, and (after receipt) what came back and what became of it."""

    line_no: int
    sku: str
    quantity: int
    reason: str
    condition: str = "unopened"
    note: str | None = None
    received: int = 0
    disposition: str | None = None
    location_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "line_no": self.line_no,
            "sku": self.sku,
            "quantity": self.quantity,
            "reason": self.reason,
            "condition": self.condition,
            "note": self.note,
            "received": self.received,
            "disposition": self.disposition,
            "location_id": self.location_id,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class InspectedLine:
    """The inspection result of one returned line at receipt."""

    line_no: int
    quantity: int
    disposition: Disposition
    location_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnEvent(Event):
    """Something happened to a return (``orderloom.return.<what>``); in the order's stream, so its timeline shows it."""

    TYPE: ClassVar[str] = "orderloom.return.changed"
    AGGREGATE: ClassVar[str] = "order"
    what: str = "changed"

    @property
    def type(self) -> str:
        """e.g. ``orderloom.return.requested``."""
        return f"orderloom.return.{self.what}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundIssued(Event):
    """Money was refunded on an order: the channel adapter passes it on to the payment provider."""

    TYPE: ClassVar[str] = "orderloom.refund.issued"
    AGGREGATE: ClassVar[str] = "order"


@dataclass(eq=False, kw_only=True)
class ReturnRequest:
    """The return aggregate (an RMA): lines of one order, moving through ``ReturnStatus``."""

    id: str
    tenant_id: str
    order_id: str
    currency: str
    status: ReturnStatus
    lines: list[ReturnLine]
    source: str
    created_at: datetime
    updated_at: datetime
    refunded: Decimal = Decimal(0)
    label: dict[str, Any] | None = None
    exchange_order_id: str | None = None
    rejection_reason: str | None = None
    approval_needed: str | None = None
    version: int = 1
    events: list[Event] = field(default_factory=list, repr=False)

    @classmethod
    def open(
        cls, *, tenant_id: str, order_id: str, currency: str, lines: Sequence[ReturnLine], source: str, now: datetime
    ) -> ReturnRequest:
        """A new return request, recording ``orderloom.return.requested``."""
        ret = cls(
            id=new_id("rma"),
            tenant_id=tenant_id,
            order_id=order_id,
            currency=currency,
            status=ReturnStatus.REQUESTED,
            lines=list(lines),
            source=source,
            created_at=now,
            updated_at=now,
        )
        ret._record("requested", now)
        return ret

    def require(self, command: str) -> None:
        """ReturnStateError unless the return's status allows the command."""
        if self.status not in _MOVES[command][0]:
            raise ReturnStateError(self.id, command, self.status)

    def _move(self, command: str, now: datetime) -> None:
        self.require(command)
        self.status = _MOVES[command][1]
        self.updated_at = now
        self.version += 1

    def _record(self, what: str, now: datetime, **extra: Any) -> None:
        data = {"return_id": self.id, "order_id": self.order_id, "status": self.status.value, **extra}
        self.events.append(
            ReturnEvent(tenant_id=self.tenant_id, aggregate_id=self.order_id, occurred_at=now, data=data, what=what)
        )

    def approve(self, *, label: dict[str, Any] | None, now: datetime) -> None:
        """Authorise the return (with its label, if one was booked)."""
        self._move("approve", now)
        self.label = label
        self.approval_needed = None
        self._record("approved", now, label=label)

    def ship(self, *, tracking_number: str | None, now: datetime) -> None:
        """The customer handed the parcel to the carrier."""
        self._move("ship", now)
        self._record("in_transit", now, tracking_number=tracking_number)

    def reject(self, *, reason: str, now: datetime) -> None:
        """Refuse the return; it frees its quantities for later requests."""
        self._move("reject", now)
        self.rejection_reason = reason
        self._record("rejected", now, reason=reason)

    def receive(self, *, inspected: Sequence[InspectedLine], now: datetime) -> None:
        """Record what arrived per line and the inspection result; ReturnExceedsShipped above the requested units."""
        by_line = {ln.line_no: ln for ln in self.lines}
        for item in inspected:
            line = by_line.get(item.line_no)
            if line is None:
                raise ValidationFailed([FieldError("lines", f"line {item.line_no} is not on return {self.id}")])
            if item.quantity < 0 or item.quantity > line.quantity:
                raise ReturnExceedsShipped(
                    line_no=item.line_no,
                    sku=line.sku,
                    requested=item.quantity,
                    shipped=line.quantity,
                    already=0,
                    message=f"line {item.line_no} ({line.sku}): {item.quantity} received but the return asked for "
                    f"{line.quantity}",
                )
        self._move("receive", now)
        for item in inspected:
            line = by_line[item.line_no]
            line.received = item.quantity
            line.disposition = item.disposition.value
            line.location_id = item.location_id
        self._record("received", now, lines=[ln.as_dict() for ln in self.lines])

    def record_refund(self, *, amount: Decimal, now: datetime) -> None:
        """Count a refund issued for this return."""
        self._move("refund", now)
        self.refunded += amount

    def exchange(self, *, exchange_order_id: str, now: datetime) -> None:
        """Close the return as an exchange for a linked new order."""
        self._move("exchange", now)
        self.exchange_order_id = exchange_order_id
        self._record("exchanged", now, exchange_order_id=exchange_order_id)

    def counts_against_shipped(self) -> bool:
        """True while the return's quantities are claimed (every status but rejected)."""
        return self.status is not ReturnStatus.REJECTED

    def pull_events(self) -> list[Event]:
        """Hand over and forget the events recorded since the last call."""
        events, self.events = self.events, []
        return events

    def as_document(self) -> dict[str, Any]:
        """The JSON document (what is stored and what the API returns)."""
        return {
            "id": self.id,
            "order_id": self.order_id,
            "status": self.status.value,
            "currency": self.currency,
            "source": self.source,
            "lines": [ln.as_dict() for ln in self.lines],
            "refunded": str(self.refunded),
            "label": self.label,
            "exchange_order_id": self.exchange_order_id,
            "rejection_reason": self.rejection_reason,
            "approval_needed": self.approval_needed,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "version": self.version,
        }

    @classmethod
    def from_document(cls, tenant_id: str, doc: Mapping[str, Any]) -> ReturnRequest:
        """Rebuild from ``as_document``."""
        return cls(
            id=doc["id"],
            tenant_id=tenant_id,
            order_id=doc["order_id"],
            currency=doc["currency"],
            status=ReturnStatus(doc["status"]),
            lines=[ReturnLine(**ln) for ln in doc["lines"]],
            source=doc["source"],
            created_at=datetime.fromisoformat(doc["created_at"]),
            updated_at=datetime.fromisoformat(doc["updated_at"]),
            refunded=Decimal(doc["refunded"]),
            label=doc.get("label"),
            exchange_order_id=doc.get("exchange_order_id"),
            rejection_reason=doc.get("rejection_reason"),
            approval_needed=doc.get("approval_needed"),
            version=int(doc["version"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundRecord:
    """A refund issued on an order (for one return, or goodwill): amount, shipping part, units per line."""

    id: str
    tenant_id: str
    order_id: str
    return_id: str | None
    amount: Decimal
    shipping: Decimal
    currency: str
    lines: tuple[tuple[int, int], ...]  # (line_no, units) the refund paid out
    reason: str | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "order_id": self.order_id,
            "return_id": self.return_id,
            "amount": str(self.amount),
            "shipping": str(self.shipping),
            "currency": self.currency,
            "lines": [{"line_no": n, "quantity": q} for n, q in self.lines],
            "reason": self.reason,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class LineRefund:
    """The refund of one returned line, itemised."""

    line_no: int
    quantity: int
    merchandise: Decimal
    discount: Decimal
    tax: Decimal
    restocking_fee: Decimal
    amount: Decimal

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (amounts as strings)."""
        return {
            "line_no": self.line_no,
            "quantity": self.quantity,
            "merchandise": str(self.merchandise),
            "discount": str(self.discount),
            "tax": str(self.tax),
            "restocking_fee": str(self.restocking_fee),
            "amount": str(self.amount),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundBreakdown:
    """What a return refunds: per line, shipping, the total, and whether the paid-amount cap cut it."""

    currency: str
    lines: tuple[LineRefund, ...]
    shipping: Decimal
    total: Decimal
    paid: Decimal
    refunded_before: Decimal
    capped: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (amounts as strings)."""
        return {
            "currency": self.currency,
            "lines": [ln.as_dict() for ln in self.lines],
            "shipping": str(self.shipping),
            "total": str(self.total),
            "paid": str(self.paid),
            "refunded_before": str(self.refunded_before),
            "capped": self.capped,
        }


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-even to the currency's minor unit (2 for USD, 0 for JPY, 3 for KWD)."""
    return amount.quantize(Decimal(1).scaleb(-CURRENCY_EXPONENTS[currency]), rounding=ROUND_HALF_EVEN)


def paid_amount(order: Order) -> Decimal:
    """What the buyer paid on the order: the grand total once paid, nothing before."""
    return order.totals.grand_total if order.payment.status in PAID_STATES else Decimal(0)


def _share(total: Decimal, units: int, of: int, currency: str) -> Decimal:
    """The rounded share of ``total`` for ``units`` out of ``of``; cumulative differences add up to ``total``."""
    return quantize(total * units / of, currency) if of else Decimal(0)


def _line_refund(
    order: Order, line_no: int, units: int, before: int, fee_percent: Decimal, currency: str
) -> LineRefund:
    line = order.lines[line_no - 1]
    ordered = line.quantity
    merchandise = quantize(line.unit_price.amount * units, currency)
    discount = _share(line.discount.amount, before + units, ordered, currency) - _share(
        line.discount.amount, before, ordered, currency
    )
    tax = Decimal(0)
    if not order.taxes_included:
        tax = _share(line.tax.amount, before + units, ordered, currency) - _share(
            line.tax.amount, before, ordered, currency
        )
    fee = quantize((merchandise - discount) * fee_percent / 100, currency)
    return LineRefund(
        line_no=line_no,
        quantity=units,
        merchandise=merchandise,
        discount=discount,
        tax=tax,
        restocking_fee=fee,
        amount=merchandise - discount + tax - fee,
    )


def calculate_refund(
    *,
    order: Order,
    ret: ReturnRequest,
    reasons: ReturnReasons,
    refunds: Sequence[RefundRecord],
    returned_elsewhere: Mapping[int, int],
) -> RefundBreakdown:
    """The refund of a received return.

    ``refunds``: the order's earlier refunds (their units set where this return's discount/tax shares start, their
    amounts the cap); ``returned_elsewhere``: units per line received on the order's other returns (with this one,
    do they make the order fully returned, which refunds shipping?).
    """
    currency = order.currency
    before: dict[int, int] = {}
    for r in refunds:
        for line_no, units in r.lines:
            before[line_no] = before.get(line_no, 0) + units
    items = []
    for ln in ret.lines:
        if ln.received <= 0:
            continue
        reason = reasons.get(ln.reason)
        fee = reason.restocking_fee_percent if reason else Decimal(0)
        items.append(_line_refund(order, ln.line_no, ln.received, before.get(ln.line_no, 0), fee, currency))
    shipping = _shipping_refund(order, ret, reasons, refunds, returned_elsewhere) if items else Decimal(0)
    paid = paid_amount(order)
    refunded_before = sum((r.amount for r in refunds), Decimal(0))
    total = sum((i.amount for i in items), Decimal(0)) + shipping
    left = max(paid - refunded_before, Decimal(0))
    capped = total > left
    return RefundBreakdown(
        currency=currency,
        lines=tuple(items),
        shipping=shipping,
        total=min(total, left),
        paid=paid,
        refunded_before=refunded_before,
        capped=capped,
    )


def _shipping_refund(
    order: Order,
    ret: ReturnRequest,
    reasons: ReturnReasons,
    refunds: Sequence[RefundRecord],
    returned_elsewhere: Mapping[int, int],
) -> Decimal:
    left = order.totals.shipping - sum((r.shipping for r in refunds), Decimal(0))
    if left <= 0:
        return Decimal(0)
    by_reason = any((reasons.get(ln.reason) or _NO_REASON).refund_shipping for ln in ret.lines if ln.received > 0)
    received = {ln.line_no: ln.received for ln in ret.lines}
    full = all(
        received.get(i, 0) + returned_elsewhere.get(i, 0) >= line.quantity for i, line in enumerate(order.lines, 1)
    )
    return (
        quantize(left, order.currency) if by_reason or (full and reasons.shipping_when_fully_returned) else Decimal(0)
    )


_NO_REASON = ReasonCode(code="", label="")
