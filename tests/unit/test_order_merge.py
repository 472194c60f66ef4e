"""Order merge rules: same customer, same normalised address, inside the window, not yet allocated, policy on."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tests.unit.test_order import usd_order

from orderloom.bootstrap import load_lifecycle
from orderloom.domain.lifecycle import Status
from orderloom.domain.order_merge import MergePolicy, address_key, can_merge, customer_key, join_merge_group
from orderloom.domain.orders import Order
from orderloom.domain.values import Address, Customer

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
POLICY = MergePolicy(enabled=True, window=timedelta(hours=2))


ADDRESS = Address(line1="1 Market St", city="San Francisco", postal_code="94105", country="US")


def placed(**changes: object) -> Order:
    base = {"customer": Customer(email="ada@example.com"), "shipping_address": ADDRESS, **changes}
    return Order.place(tenant_id="t1", new=usd_order(**base), lifecycle=load_lifecycle(), now=NOW)


def test_keys_ignore_case_spacing_and_punctuation() -> None:
    a = Address(line1="1 Market St.", city="San Francisco", postal_code="94105", country="US")
    b = Address(line1="1  market st", city="SAN FRANCISCO", postal_code="94105", country="US")
    assert address_key(a) == address_key(b)
    assert address_key(replace(b, line1="2 Market St")) != address_key(a)
    assert address_key(None) is None
    assert customer_key(Customer(email="Ada@Example.com")) == customer_key(Customer(email="ada@example.com"))
    assert customer_key(Customer(id="c1")) == "id:c1" and customer_key(Customer()) is None


def test_can_merge_conditions() -> None:
    a, b = placed(), placed(channel_order_id="X-2")
    assert can_merge(a, b, POLICY)
    assert not can_merge(a, b, MergePolicy(enabled=False))
    b.placed_at = a.placed_at + timedelta(hours=1, minutes=59)
    assert can_merge(a, b, POLICY)
    b.placed_at = a.placed_at + timedelta(hours=3)
    assert not can_merge(a, b, POLICY)  # outside the window
    b.placed_at = a.placed_at
    b.status = Status("allocated", "reserved")
    assert not can_merge(a, b, POLICY)  # already allocated
    c = placed(channel_order_id="X-3", customer=Customer(email="someone@else.com"))
    assert not can_merge(a, c, POLICY)


def test_join_merge_group_is_a_new_version() -> None:
    a = placed()
    join_merge_group(a, "mrg_1", NOW + timedelta(minutes=1))
    assert a.custom_fields["merge_group"] == "mrg_1" and a.version == 2
