"""Ports: what the application needs from the outside world, as typing.Protocols.

Each port has an in-memory twin (``orderloom.adapters.memory``) and a real adapter; both pass the same
contract tests in ``tests/contract``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from orderloom.application.fulfilment_ports import FulfilmentRepository
from orderloom.application.inventory_ports import InventoryRepository
from orderloom.application.routing_ports import RoutingRecords
from orderloom.domain.audit import AuditEntry
from orderloom.domain.events import Event
from orderloom.domain.orders import Order
from orderloom.domain.webhooks import Delivery, Subscription

__all__ = [
    "AuditLog",
    "AuditReader",
    "Clock",
    "HandlerLedger",
    "IdempotencyStore",
    "OrderFilter",
    "OrderPage",
    "OrderQueries",
    "OrderRepository",
    "Outbox",
    "OutboxMessage",
    "OutboxReader",
    "Publisher",
    "Quarantine",
    "RateLimiter",
    "StoredResponse",
    "TenantDirectory",
    "TransactionRunner",
    "UnitOfWork",
    "WebhookSender",
    "WebhookStore",
]

T = TypeVar("T")


class Clock(Protocol):
    """Now, as an aware UTC datetime."""

    def __call__(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response kept under an idempotency key, replayed for the same request."""

    request_hash: str
    status_code: int
    body: bytes
    resource_id: str | None


class OrderRepository(Protocol):
    """Orders of the write side; every call is scoped by tenant."""

    def add(self, order: Order, document: dict[str, Any] | None = None) -> None:
        """Insert a new order (``document``: its canonical JSON if already built); DuplicateOrder if taken."""

    def add_many(self, orders: Sequence[Order]) -> None:
        """Insert many new orders at once; DuplicateOrder (without saying which) if any reference is taken."""

    def get(self, tenant_id: str, order_id: str) -> Order:
        """The order, or OrderNotFound (also for another tenant's order)."""

    def save(self, order: Order, document: dict[str, Any] | None = None) -> None:
        """Write a changed order; ConcurrencyConflict if it changed since it was read."""

    def get_many(self, tenant_id: str, order_ids: Sequence[str]) -> list[Order]:
        """These orders (ids not found are skipped), read with one query where the store can."""

    def save_many(self, orders: Sequence[tuple[Order, dict[str, Any], int]]) -> None:
        """Write changed orders (with their documents and the version each had when read) at once;
        ConcurrencyConflict if one changed meanwhile."""

    def find_id_by_channel_ref(self, tenant_id: str, channel: str, channel_order_id: str) -> str | None:
        """The id of the order with this channel reference, if any."""


class AuditLog(Protocol):
    """The append-only, hash-chained audit trail."""

    def append(self, entry: AuditEntry) -> None:
        """Add an entry; it is chained (seq and hashes) and stored in order when the unit of work commits."""

    def append_many(self, entries: Sequence[AuditEntry]) -> None:
        """``append`` for several entries, in order."""


class Outbox(Protocol):
    """Events waiting to be published, written in the same transaction as the state."""

    def add(self, events: Sequence[Event]) -> None:
        """Store events for the relay."""


class IdempotencyStore(Protocol):
    """Responses kept per tenant and Idempotency-Key."""

    def get(self, tenant_id: str, key: str) -> StoredResponse | None:
        """The stored response for the key, if any."""

    def put(self, tenant_id: str, key: str, response: StoredResponse) -> None:
        """Keep a response under the key."""


class Quarantine(Protocol):
    """Payloads we could not accept, kept with the reason so that nothing is lost."""

    def put(self, *, tenant_id: str | None, source: str, reason: str, payload: bytes) -> str:
        """Store a payload; returns its quarantine id."""


class UnitOfWork(Protocol):
    """One transaction's view of the stores: state, audit, outbox and idempotency commit together."""

    @property
    def orders(self) -> OrderRepository: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def idempotency(self) -> IdempotencyStore: ...
    @property
    def quarantine(self) -> Quarantine: ...
    @property
    def inventory(self) -> InventoryRepository: ...
    @property
    def routing(self) -> RoutingRecords: ...
    @property
    def fulfilment(self) -> FulfilmentRepository: ...

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested scope whose writes are undone if it raises."""


class TransactionRunner(Protocol):
    """Runs work in a unit of work and commits it (possibly together with other callers' work)."""

    def run(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run ``fn`` in a transaction and return its result once committed."""

    def submit(self, fn: Callable[[UnitOfWork], T]) -> Awaitable[T]:
        """Like ``run``, awaitable from an event loop."""


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Filters of ``GET /v1/orders``."""

    status: str | None = None
    sub_status: str | None = None
    channel: str | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class OrderPage:
    """One page of orders (canonical documents) and the cursor of the next, if any."""

    items: list[dict[str, Any]]
    next_cursor: str | None


class OrderQueries(Protocol):
    """The read side."""

    def get_document(self, tenant_id: str, order_id: str) -> dict[str, Any]:
        """The canonical document of an order, or OrderNotFound."""

    def search(self, tenant_id: str, flt: OrderFilter, *, limit: int, cursor: str | None) -> OrderPage:
        """Orders newest first, ``limit`` at a time."""

    def timeline(self, tenant_id: str, order_id: str) -> list[dict[str, Any]]:
        """Audit entries and events of an order, oldest first."""


class TenantDirectory(Protocol):
    """Tenants and their API keys (hashed at rest)."""

    def create(self, name: str) -> tuple[str, str]:
        """Create a tenant; returns (tenant id, a new plaintext API key shown once)."""

    def issue_key(self, tenant_id: str) -> str:
        """A new API key for an existing tenant."""

    def tenant_for_key(self, api_key: str) -> str | None:
        """The tenant that owns the key, or None."""

    def find(self, name: str) -> str | None:
        """The id of the tenant with that name."""


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """An outbox row: its order and the CloudEvent to publish."""

    seq: int
    event_id: str
    tenant_id: str
    type: str
    cloudevent: dict[str, Any]


class OutboxReader(Protocol):
    """The relay's view of the outbox."""

    def unpublished(self, limit: int) -> list[OutboxMessage]:
        """The oldest rows not yet published."""

    def mark_published(self, event_ids: Sequence[str]) -> None:
        """Record that these rows were published."""

    def relay_batch(self, limit: int, publish: Callable[[list[OutboxMessage]], list[str]]) -> tuple[int, int]:
        """Claim up to ``limit`` unpublished rows, publish them, mark the accepted; returns (claimed, accepted)."""

    def get(self, event_id: str) -> OutboxMessage | None:
        """One row by event id."""


class Publisher(Protocol):
    """Where the relay publishes (the in-process bus, or NATS JetStream)."""

    def publish(self, message: OutboxMessage) -> None:
        """Publish one event; returns once the bus has accepted it."""

    def publish_many(self, messages: Sequence[OutboxMessage]) -> list[str]:
        """Publish a batch; returns the event ids the bus accepted (the others stay in the outbox)."""


class HandlerLedger(Protocol):
    """Which handler has processed which event: makes handlers idempotent and failures visible."""

    def is_done(self, event_id: str, handler: str) -> bool:
        """True once the handler has succeeded for the event."""

    def mark_done(self, event_id: str, handler: str) -> None:
        """Record a success."""

    def done_among(self, event_ids: Sequence[str], handler: str) -> set[str]:
        """Which of these events the handler has already succeeded for (one query)."""

    def mark_done_many(self, event_ids: Sequence[str], handler: str) -> None:
        """Record successes in one transaction."""

    def mark_failed(self, event_id: str, handler: str, *, error: str, retry_at: datetime | None) -> int:
        """Record a failure; returns the attempt count so far. ``retry_at`` None means give up (dead)."""

    def due(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        """(event id, handler) pairs whose retry time has come."""

    def attempts(self, event_id: str, handler: str) -> int:
        """Failures recorded so far."""


class AuditReader(Protocol):
    """Reads the audit chain for verification."""

    def verify(self) -> Iterator[str]:
        """Yield one line per problem found; nothing when every chain is intact."""


class RateLimiter(Protocol):
    """Token buckets by key (tenant, tenant + channel): shared by every API process when backed by the database."""

    def acquire(self, key: str, *, rate: float, burst: float) -> float:
        """Take one token: 0.0 when granted, else the seconds until one is available."""


class WebhookStore(Protocol):
    """Outgoing webhook subscriptions and their deliveries."""

    def add_subscription(self, subscription: Subscription) -> None:
        """Store a new subscription."""

    def subscriptions(self, tenant_id: str) -> list[Subscription]:
        """A tenant's subscriptions, oldest first."""

    def get_subscription(self, tenant_id: str, subscription_id: str) -> Subscription | None:
        """One subscription of a tenant."""

    def deactivate(self, tenant_id: str, subscription_id: str) -> bool:
        """Stop deliveries to a subscription; False if there is none."""

    def add_deliveries(self, deliveries: Sequence[Delivery]) -> int:
        """Store new deliveries, ignoring any (subscription, event) already stored; returns how many were new."""

    def due(self, now: datetime, limit: int) -> list[Delivery]:
        """Pending deliveries whose next attempt is due, oldest first."""

    def record_attempt(
        self,
        delivery_id: str,
        *,
        status: str,
        status_code: int | None,
        error: str | None,
        next_attempt_at: datetime | None,
        at: datetime,
    ) -> None:
        """Record one attempt's outcome and the delivery's new state."""

    def requeue(self, delivery_id: str, *, at: datetime) -> None:
        """Make a delivery pending again, due at ``at``, with a fresh attempt count."""

    def deliveries(self, tenant_id: str, subscription_id: str, limit: int) -> list[Delivery]:
        """A subscription's deliveries, newest first."""

    def get_delivery(self, tenant_id: str, delivery_id: str) -> Delivery | None:
        """One delivery of a tenant."""


class WebhookSender(Protocol):
    """Sends one signed HTTP request to a receiver."""

    def send(self, url: str, *, body: bytes, headers: dict[str, str]) -> int:
        """POST the body; returns the HTTP status (raises on a transport error or timeout)."""
