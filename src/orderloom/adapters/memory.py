"""In-memory twins of the store ports, for fast tests; they pass the same contract tests as the SQL adapters."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from orderloom.adapters.memory_fulfilment import FulfilmentState, MemoryFulfilment
from orderloom.adapters.memory_inventory import InventoryState, MemoryInventory
from orderloom.adapters.memory_returns import MemoryReturns, ReturnTables
from orderloom.adapters.memory_shipments import MemoryShipments, ShipmentTables
from orderloom.application.ports import StoredResponse, UnitOfWork
from orderloom.application.routing_ports import RoutingRecord
from orderloom.domain.audit import GENESIS, AuditEntry, canonical_json, chain_hash
from orderloom.domain.canonical import order_from_document, order_to_document
from orderloom.domain.errors import ConcurrencyConflict, DuplicateOrder, OrderNotFound
from orderloom.domain.events import Event
from orderloom.domain.ids import new_id
from orderloom.domain.orders import Order

__all__ = ["MemoryStore", "MemoryTransactionRunner", "MemoryUnitOfWork"]

T = TypeVar("T")


@dataclass
class MemoryStore:
    """The committed state."""

    orders: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    channel_refs: dict[tuple[str, str, str], str] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    outbox: list[Event] = field(default_factory=list)
    idempotency: dict[tuple[str, str], StoredResponse] = field(default_factory=dict)
    quarantine: dict[str, dict[str, Any]] = field(default_factory=dict)
    inventory: InventoryState = field(default_factory=InventoryState)
    shipments: ShipmentTables = field(default_factory=ShipmentTables)
    routing: list[RoutingRecord] = field(default_factory=list)
    fulfilment: FulfilmentState = field(default_factory=FulfilmentState)
    returns: ReturnTables = field(default_factory=ReturnTables)


class _Routing:
    def __init__(self, state: MemoryStore) -> None:
        self.s = state

    def add(self, record: RoutingRecord) -> None:
        self.s.routing.append(record)

    def of_order(self, tenant_id: str, order_id: str) -> list[RoutingRecord]:
        return [r for r in self.s.routing if (r.tenant_id, r.order_id) == (tenant_id, order_id)]

    def orders_allocated_at(self, tenant_id: str, location_id: str | None) -> list[str]:
        return sorted(
            {
                r.order_id
                for r in self.s.inventory.reservations.values()
                if (r.tenant_id, r.status, r.kind) == (tenant_id, "active", "stock")
                and location_id in (None, r.location_id)
            }
        )


class _Orders:
    def __init__(self, state: MemoryStore) -> None:
        self.s = state

    def add(self, order: Order, document: dict[str, Any] | None = None) -> None:
        ref = (order.tenant_id, order.channel, order.channel_order_id)
        if ref in self.s.channel_refs:
            raise DuplicateOrder(channel=order.channel, channel_order_id=order.channel_order_id, existing_id=None)
        self.s.channel_refs[ref] = order.id
        self.s.orders[(order.tenant_id, order.id)] = order_to_document(order)

    def add_many(self, orders: Sequence[Order]) -> None:
        for order in orders:
            self.add(order)

    def get(self, tenant_id: str, order_id: str) -> Order:
        doc = self.s.orders.get((tenant_id, order_id))
        if doc is None:
            raise OrderNotFound(order_id)
        return order_from_document(tenant_id, copy.deepcopy(doc))

    def save(self, order: Order, document: dict[str, Any] | None = None) -> None:
        doc = self.s.orders.get((order.tenant_id, order.id))
        if doc is None or doc["version"] != order.version - 1:
            raise ConcurrencyConflict(order.id)
        self.s.orders[(order.tenant_id, order.id)] = order_to_document(order)

    def get_many(self, tenant_id: str, order_ids: Sequence[str]) -> list[Order]:
        return [self.get(tenant_id, oid) for oid in order_ids if (tenant_id, oid) in self.s.orders]

    def save_many(self, orders: Sequence[tuple[Order, dict[str, Any], int]]) -> None:
        for order, _, read_version in orders:
            doc = self.s.orders.get((order.tenant_id, order.id))
            if doc is None or doc["version"] != read_version:
                raise ConcurrencyConflict(order.id)
        for order, document, _ in orders:
            self.s.orders[(order.tenant_id, order.id)] = copy.deepcopy(document)

    def find_id_by_channel_ref(self, tenant_id: str, channel: str, channel_order_id: str) -> str | None:
        return self.s.channel_refs.get((tenant_id, channel, channel_order_id))


class _Audit:
    def __init__(self, state: MemoryStore) -> None:
        self.s = state

    def append(self, entry: AuditEntry) -> None:
        seq, prev = self.s.heads.get(entry.tenant_id, (0, GENESIS))
        seq += 1
        digest = chain_hash(
            entry,
            seq=seq,
            prev_hash=prev,
            before_json=canonical_json(entry.before),
            after_json=canonical_json(entry.after),
        )
        stored = replace(entry, seq=seq, prev_hash=prev, hash=digest)
        self.s.audit.append(stored)
        self.s.heads[entry.tenant_id] = (seq, digest)

    def append_many(self, entries: Sequence[AuditEntry]) -> None:
        for entry in entries:
            self.append(entry)


class _Outbox:
    def __init__(self, state: MemoryStore) -> None:
        self.s = state

    def add(self, events: Sequence[Event]) -> None:
        self.s.outbox.extend(events)


class _Idempotency:
    def __init__(self, state: MemoryStore) -> None:
        self.s = state

    def get(self, tenant_id: str, key: str) -> StoredResponse | None:
        return self.s.idempotency.get((tenant_id, key))

    def put(self, tenant_id: str, key: str, response: StoredResponse) -> None:
        if (tenant_id, key) in self.s.idempotency:
            raise KeyError(f"idempotency key {key!r} already stored")
        self.s.idempotency[(tenant_id, key)] = response


class _Quarantine:
    def __init__(self, state: MemoryStore) -> None:
        self.s = state

    def put(self, *, tenant_id: str | None, source: str, reason: str, payload: bytes) -> str:
        qid = new_id("qtn")
        self.s.quarantine[qid] = {"tenant_id": tenant_id, "source": source, "reason": reason, "payload": payload}
        return qid


class MemoryUnitOfWork:
    """A transaction over a private copy of the store, swapped in on commit."""

    def __init__(self, committed: MemoryStore) -> None:
        self._bind(copy.deepcopy(committed))

    def _bind(self, state: MemoryStore) -> None:
        self.state = state
        self.orders = _Orders(state)
        self.audit = _Audit(state)
        self.outbox = _Outbox(state)
        self.idempotency = _Idempotency(state)
        self.quarantine = _Quarantine(state)
        self.inventory = MemoryInventory(state.inventory)
        self.shipments = MemoryShipments(state.shipments, lambda: state.outbox)
        self.routing = _Routing(state)
        self.fulfilment = MemoryFulfilment(state.fulfilment)
        self.returns = MemoryReturns(state.returns, lambda: state.audit)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        snapshot = copy.deepcopy(self.state)
        try:
            yield
        except BaseException:
            self._bind(snapshot)
            raise


class MemoryTransactionRunner:
    """Runs each call on a copy and commits it by replacing the store's state."""

    def __init__(self, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()

    def run(self, fn: Callable[[UnitOfWork], T]) -> T:
        uow = MemoryUnitOfWork(self.store)
        result = fn(uow)
        self.store = uow.state
        return result

    async def submit(self, fn: Callable[[UnitOfWork], T]) -> T:
        await asyncio.sleep(0)
        return self.run(fn)
