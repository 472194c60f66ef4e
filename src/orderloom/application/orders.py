"""Order use cases: place an order (idempotently), apply a lifecycle action, quarantine what we can't accept."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderloom.application.ports import StoredResponse, UnitOfWork
from orderloom.domain.audit import AuditEntry
from orderloom.domain.canonical import order_to_document
from orderloom.domain.errors import DomainError
from orderloom.domain.lifecycle import Lifecycle
from orderloom.domain.orders import Order
from orderloom.domain.values import NewOrder

__all__ = [
    "IdempotencyMismatch",
    "PlaceResult",
    "apply_action",
    "place_order",
    "place_order_idempotent",
    "record_placed_orders",
]


class IdempotencyMismatch(DomainError):
    """The Idempotency-Key was already used with a different request body."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"Idempotency-Key {key!r} was already used with a different request body")


@dataclass(frozen=True, slots=True)
class PlaceResult:
    """The outcome of placing an order: its document, or the replayed response of an earlier identical request."""

    order_id: str
    document: dict[str, Any] | None
    replayed: StoredResponse | None = None


def place_order(
    *, uow: UnitOfWork, tenant_id: str, new: NewOrder, lifecycle: Lifecycle, actor: str, now: datetime
) -> dict[str, Any]:
    """Validate and store a new order with its audit entry and OrderPlaced event; returns its document."""
    order = Order.place(tenant_id=tenant_id, new=new, lifecycle=lifecycle, now=now)
    document = order_to_document(order)
    uow.orders.add(order, document)
    uow.audit.append(_placed_entry(order, document, actor))
    uow.outbox.add(order.pull_events())
    return document


def _placed_entry(order: Order, document: dict[str, Any], actor: str) -> AuditEntry:
    return AuditEntry(
        tenant_id=order.tenant_id,
        actor=actor,
        action="order.place",
        entity_type="order",
        entity_id=order.id,
        at=order.created_at,
        before=None,
        after=document,
    )


def record_placed_orders(*, uow: UnitOfWork, orders: Sequence[Order], actor: str) -> None:
    """Store already validated new orders in bulk (imports): rows, audit entries and events together."""
    uow.orders.add_many(orders)
    uow.audit.append_many([_placed_entry(o, order_to_document(o), actor) for o in orders])
    uow.outbox.add([e for o in orders for e in o.pull_events()])


def place_order_idempotent(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    new: NewOrder,
    lifecycle: Lifecycle,
    actor: str,
    now: datetime,
    key: str,
    request_hash: str,
    render: Callable[[dict[str, Any]], bytes],
) -> PlaceResult:
    """Place an order under an Idempotency-Key: a replay returns the first response, a new body is refused."""
    stored = uow.idempotency.get(tenant_id, key)
    if stored is not None:
        if stored.request_hash != request_hash:
            raise IdempotencyMismatch(key)
        return PlaceResult(order_id=stored.resource_id or "", document=None, replayed=stored)
    document = place_order(uow=uow, tenant_id=tenant_id, new=new, lifecycle=lifecycle, actor=actor, now=now)
    uow.idempotency.put(tenant_id, key, StoredResponse(request_hash, 201, render(document), resource_id=document["id"]))
    return PlaceResult(order_id=document["id"], document=document)


def apply_action(
    *,
    uow: UnitOfWork,
    tenant_id: str,
    order_id: str,
    action: str,
    params: dict[str, Any],
    lifecycle: Lifecycle,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Apply a lifecycle action to an order (IllegalTransition if the state machine refuses); returns the document."""
    order = uow.orders.get(tenant_id, order_id)
    before, after = order.apply(action=action, lifecycle=lifecycle, params=params, actor=actor, now=now)
    document = order_to_document(order)
    uow.orders.save(order, document)
    uow.audit.append(
        AuditEntry(
            tenant_id=tenant_id,
            actor=actor,
            action=f"order.{action}",
            entity_type="order",
            entity_id=order.id,
            at=now,
            before={"status": {"main": before.main, "sub": before.sub}},
            after={"status": {"main": after.main, "sub": after.sub}, "params": params},
        )
    )
    uow.outbox.add(order.pull_events())
    return document
