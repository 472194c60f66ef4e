"""Merge a newly placed channel order into one fulfilment with the same customer's recent orders to the same address
(tenant policy), recorded in every merged order's timeline."""

from __future__ import annotations

from datetime import datetime

from orderloom.application.channel_ports import ChannelStore
from orderloom.application.ports import UnitOfWork
from orderloom.domain.audit import AuditEntry
from orderloom.domain.canonical import order_to_document
from orderloom.domain.ids import new_id
from orderloom.domain.order_merge import can_merge, customer_key, join_merge_group

__all__ = ["merge_on_intake"]


def merge_on_intake(
    *, uow: UnitOfWork, store: ChannelStore, tenant_id: str, order_id: str, actor: str, now: datetime
) -> str | None:
    """Put the order in a merge group with its mergeable siblings; returns the group id, or None."""
    policy = store.merge_policy(tenant_id)
    if not policy.enabled:
        return None
    order = uow.orders.get(tenant_id, order_id)
    key = customer_key(order.customer)
    if key is None:
        return None
    since, until = order.placed_at - policy.window, order.placed_at + policy.window
    siblings = [uow.orders.get(tenant_id, oid) for oid in store.orders_of_customer(tenant_id, key, since, until)]
    siblings = [s for s in siblings if can_merge(order, s, policy)]
    if not siblings:
        return None
    group = next((str(s.custom_fields["merge_group"]) for s in siblings if s.custom_fields.get("merge_group")), None)
    group = group or new_id("mrg")
    members = [order, *siblings]
    ids = sorted(m.id for m in members)
    for member in members:
        if member.custom_fields.get("merge_group") == group:
            continue
        join_merge_group(member, group, now)
        uow.orders.save(member, order_to_document(member))
        uow.audit.append(
            AuditEntry(
                tenant_id=tenant_id,
                actor=actor,
                action="order.merge",
                entity_type="order",
                entity_id=member.id,
                at=now,
                before=None,
                after={"merge_group": group, "orders": ids},
            )
        )
    return group
