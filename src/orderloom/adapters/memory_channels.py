"""The in-memory twin of the channel store (tests and the contract suite)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from orderloom.application.channel_ports import ChannelSecret, InboxEntry, QuarantineEntry
from orderloom.domain.ids import new_id
from orderloom.domain.order_merge import MergePolicy, customer_key
from orderloom.domain.values import Customer

__all__ = ["MemoryChannelState", "MemoryChannelStore"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class MemoryChannelState:
    """Everything the twin keeps."""

    secrets: dict[tuple[str, str], ChannelSecret] = field(default_factory=dict)
    inbox: dict[str, InboxEntry] = field(default_factory=dict)
    dedupe: dict[tuple[str, str, str], str] = field(default_factory=dict)
    sync: dict[tuple[str, str, str], tuple[str | None, datetime]] = field(default_factory=dict)
    quarantine: dict[str, dict[str, Any]] = field(default_factory=dict)
    resolved: dict[str, datetime] = field(default_factory=dict)
    prices: dict[tuple[str, str, str], Decimal] = field(default_factory=dict)
    merge: dict[str, MergePolicy] = field(default_factory=dict)


class MemoryChannelStore:
    """Channel intake state in dictionaries; ``quarantine`` is the unit of work's quarantine dict when given."""

    def __init__(
        self,
        state: MemoryChannelState,
        quarantine: dict[str, dict[str, Any]] | None = None,
        orders: dict[tuple[str, str], dict[str, Any]] | None = None,
    ) -> None:
        self.s = state
        self._quarantine = state.quarantine if quarantine is None else quarantine
        self._orders = orders or {}

    def get_secret(self, tenant_id: str, channel: str) -> ChannelSecret | None:
        """The tenant's secret for the channel, if set."""
        return self.s.secrets.get((tenant_id, channel))

    def set_secret(self, tenant_id: str, channel: str, secret: ChannelSecret, now: datetime) -> None:
        """Create or replace the tenant's secret for the channel."""
        self.s.secrets[(tenant_id, channel)] = secret

    def add_raw(
        self,
        *,
        tenant_id: str,
        channel: str,
        dedupe_key: str,
        source_ip: str | None,
        headers: str,
        payload: bytes,
        now: datetime,
    ) -> str:
        """Store a delivery as received."""
        inbox_id = new_id("inb")
        self.s.inbox[inbox_id] = InboxEntry(inbox_id, tenant_id, channel, payload, "received", now)
        return inbox_id

    def claim(self, tenant_id: str, channel: str, dedupe_key: str, inbox_id: str, now: datetime) -> str | None:
        """Record the dedupe key; the earlier inbox id if already claimed."""
        key = (tenant_id, channel, dedupe_key[:200])
        if key in self.s.dedupe:
            return self.s.dedupe[key]
        self.s.dedupe[key] = inbox_id
        return None

    def mark(
        self,
        inbox_id: str,
        *,
        state: str,
        detail: str | None = None,
        channel_order_id: str | None = None,
        channel_time: datetime | None = None,
        order_id: str | None = None,
    ) -> None:
        """Record what became of a delivery (None keeps a field)."""
        e = self.s.inbox[inbox_id]
        self.s.inbox[inbox_id] = replace(
            e,
            state=state,
            detail=detail if detail is not None else e.detail,
            channel_order_id=channel_order_id if channel_order_id is not None else e.channel_order_id,
            channel_time=channel_time if channel_time is not None else e.channel_time,
            order_id=order_id if order_id is not None else e.order_id,
        )

    def entry(self, inbox_id: str) -> InboxEntry | None:
        """One delivery."""
        return self.s.inbox.get(inbox_id)

    def waiting(self, tenant_id: str, channel: str, channel_order_id: str) -> list[InboxEntry]:
        """Deliveries waiting for their order, oldest channel time first."""
        found = [
            e
            for e in self.s.inbox.values()
            if (e.tenant_id, e.channel, e.channel_order_id, e.state)
            == (tenant_id, channel, channel_order_id, "waiting")
        ]
        return sorted(found, key=lambda e: (e.channel_time or _EPOCH, e.received_at))

    def sync_point(self, tenant_id: str, channel: str, channel_order_id: str) -> datetime | None:
        """The channel time of the last update applied."""
        hit = self.s.sync.get((tenant_id, channel, channel_order_id))
        return hit[1] if hit else None

    def set_sync_point(
        self,
        tenant_id: str,
        channel: str,
        channel_order_id: str,
        *,
        order_id: str | None,
        channel_time: datetime,
        now: datetime,
    ) -> None:
        """Move the sync point forward (never back)."""
        key = (tenant_id, channel, channel_order_id)
        current = self.s.sync.get(key)
        if current is None or channel_time > current[1]:
            self.s.sync[key] = (order_id, channel_time)

    def _q(self, qid: str, raw: dict[str, Any]) -> QuarantineEntry:
        return QuarantineEntry(
            qid,
            raw["tenant_id"],
            raw["source"],
            raw["reason"],
            raw["payload"],
            raw.get("received_at", _EPOCH),
            self.s.resolved.get(qid),
        )

    def list_quarantine(self, tenant_id: str, *, limit: int, include_resolved: bool = False) -> list[QuarantineEntry]:
        """The tenant's quarantined payloads, newest first."""
        found = [self._q(q, r) for q, r in self._quarantine.items() if r["tenant_id"] == tenant_id]
        found = [q for q in found if include_resolved or q.resolved_at is None]
        return sorted(found, key=lambda q: (q.received_at, q.id), reverse=True)[:limit]

    def get_quarantine(self, tenant_id: str, quarantine_id: str) -> QuarantineEntry | None:
        """One quarantined payload of the tenant."""
        raw = self._quarantine.get(quarantine_id)
        return self._q(quarantine_id, raw) if raw and raw["tenant_id"] == tenant_id else None

    def resolve_quarantine(self, quarantine_id: str, now: datetime) -> None:
        """Mark a quarantined payload as re-driven."""
        self.s.resolved[quarantine_id] = now

    def last_price(self, tenant_id: str, sku: str, currency: str) -> Decimal | None:
        """The last accepted unit price of a SKU in a currency."""
        return self.s.prices.get((tenant_id, sku, currency))

    def record_price(self, tenant_id: str, sku: str, currency: str, price: Decimal) -> None:
        """Remember a SKU's accepted unit price."""
        self.s.prices[(tenant_id, sku, currency)] = price

    def merge_policy(self, tenant_id: str) -> MergePolicy:
        """The tenant's order-merge policy (disabled unless set)."""
        return self.s.merge.get(tenant_id, MergePolicy())

    def set_merge_policy(self, tenant_id: str, policy: MergePolicy) -> None:
        """Create or replace the tenant's order-merge policy."""
        self.s.merge[tenant_id] = policy

    def orders_of_customer(self, tenant_id: str, customer_key_: str, since: datetime, until: datetime) -> list[str]:
        """Ids of the tenant's orders by this customer placed in [since, until]."""
        found = []
        for (tenant, order_id), doc in self._orders.items():
            placed = datetime.fromisoformat(str(doc["placed_at"]).replace("Z", "+00:00"))
            customer = doc.get("customer") or {}
            key = customer_key(Customer(email=customer.get("email"), id=customer.get("id")))
            if tenant == tenant_id and since <= placed <= until and key == customer_key_:
                found.append(order_id)
        return found
