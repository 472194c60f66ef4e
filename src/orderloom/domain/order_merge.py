"""Order merge: orders from the same customer to the same normalised address, placed within a window and not yet
allocated, share one fulfilment (a merge group), if the tenant's policy allows it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from orderloom.domain.orders import Order
from orderloom.domain.values import Address, Customer

__all__ = ["MERGEABLE_STATUSES", "MergePolicy", "address_key", "can_merge", "customer_key", "join_merge_group"]

MERGEABLE_STATUSES = frozenset({"pending", "confirmed", "on_hold"})  # not yet allocated
_NOISE = re.compile(r"[\s.,#\-/]+")


@dataclass(frozen=True, slots=True)
class MergePolicy:
    """A tenant's merge policy."""

    enabled: bool = False
    window: timedelta = timedelta(hours=2)


def customer_key(customer: Customer) -> str | None:
    """The buyer as a merge key: the e-mail (case-insensitive), else the channel's customer id."""
    if customer.email:
        return "email:" + customer.email.strip().lower()
    return f"id:{customer.id}" if customer.id else None


def address_key(address: Address | None) -> str | None:
    """A normalised shipping address (country, postal code, city, street lines; case, spacing, punctuation ignored)."""
    if address is None or not (address.line1 or address.postal_code):
        return None
    parts = (address.country, address.postal_code, address.city, address.line1, address.line2)
    return "|".join(_NOISE.sub("", (p or "")).lower() for p in parts)


def can_merge(a: Order, b: Order, policy: MergePolicy) -> bool:
    """True when two orders of a tenant may share one fulfilment under the policy."""
    return (
        policy.enabled
        and a.id != b.id
        and a.tenant_id == b.tenant_id
        and a.currency == b.currency
        and a.status.main in MERGEABLE_STATUSES
        and b.status.main in MERGEABLE_STATUSES
        and customer_key(a.customer) is not None
        and customer_key(a.customer) == customer_key(b.customer)
        and address_key(a.shipping_address) is not None
        and address_key(a.shipping_address) == address_key(b.shipping_address)
        and abs(a.placed_at - b.placed_at) <= policy.window
    )


def join_merge_group(order: Order, group_id: str, now: datetime) -> None:
    """Record that the order ships in merge group ``group_id`` (a new version of the order)."""
    order.custom_fields["merge_group"] = group_id
    order.updated_at = now
    order.version += 1
