"""Order value objects: what a submitted order is made of, and the validated lines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from orderloom.domain.money import Money

__all__ = [
    "PAID_STATES",
    "Address",
    "Customer",
    "FulfilmentGroup",
    "NewLine",
    "NewOrder",
    "OrderLine",
    "Payment",
    "Sku",
    "StatusInput",
    "Totals",
]

_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:#+\- ]{0,63}$")
PAID_STATES = frozenset({"paid", "refunded", "partially_refunded"})


@dataclass(frozen=True, slots=True)
class Sku:
    """A stock-keeping unit code: 1-64 characters, starting with a letter or digit."""

    code: str

    def __post_init__(self) -> None:
        if not _SKU.match(self.code):
            raise ValueError(f"invalid SKU {self.code!r}: 1-64 letters, digits or ._/:#+- expected")

    def __str__(self) -> str:
        return self.code


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """A postal address; ``country`` is an ISO 3166-1 alpha-2 code."""

    name: str | None = None
    company: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    phone: str | None = None
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer:
    """The buyer as the channel knows them."""

    id: str | None = None
    email: str | None = None
    name: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Payment:
    """Payment state as reported by the channel: pending, authorized, partially_paid, paid, refunded, …"""

    status: str = "pending"
    method: str | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewLine:
    """An order line as submitted: amounts in major units; discount and tax are per line, not per unit."""

    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    name: str | None = None
    line_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Totals:
    """Order totals in major units; must reconcile with the lines."""

    subtotal: Decimal
    discount: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    grand_total: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusInput:
    """A status as given in the canonical JSON."""

    main: str
    sub: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NewOrder:
    """The canonical order JSON as submitted (``POST /v1/orders``, imports, channel adapters)."""

    channel: str
    channel_order_id: str
    currency: str
    placed_at: datetime
    lines: list[NewLine]
    totals: Totals
    customer: Customer = field(default_factory=Customer)
    shipping_address: Address | None = None
    billing_address: Address | None = None
    payment: Payment = field(default_factory=Payment)
    taxes_included: bool = False
    status: StatusInput | None = None
    tags: list[str] = field(default_factory=list)
    custom_fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OrderLine:
    """A validated order line."""

    sku: Sku
    quantity: int
    unit_price: Money
    discount: Money
    tax: Money
    name: str | None = None
    line_id: str | None = None

    @property
    def gross(self) -> Money:
        """Quantity times unit price, before discount."""
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class FulfilmentGroup:
    """Lines shipped together from one location; filled in by allocation and fulfilment."""

    id: str
    location_id: str | None
    line_ids: tuple[str, ...]
    shipment_ids: tuple[str, ...] = ()
