"""Ports of channel intake: secrets, the raw inbox, dedupe keys, per-order sync points and the quarantine view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from orderloom.domain.order_merge import MergePolicy

__all__ = ["ChannelSecret", "ChannelStore", "InboxEntry", "QuarantineEntry"]


@dataclass(frozen=True, slots=True)
class ChannelSecret:
    """A tenant's signing secret for a channel (``app_key``: the app key / notification URL some schemes sign)."""

    secret: str
    app_key: str | None = None


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """One stored webhook delivery."""

    id: str
    tenant_id: str
    channel: str
    payload: bytes
    state: str
    received_at: datetime
    channel_order_id: str | None = None
    channel_time: datetime | None = None
    order_id: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """A payload we could not map or accept, with the reason."""

    id: str
    tenant_id: str | None
    source: str
    reason: str
    payload: bytes
    received_at: datetime
    resolved_at: datetime | None


class ChannelStore(Protocol):
    """Channel intake state, bound to one transaction like the unit of work it comes from."""

    def get_secret(self, tenant_id: str, channel: str) -> ChannelSecret | None:
        """The tenant's secret for the channel, if set."""

    def set_secret(self, tenant_id: str, channel: str, secret: ChannelSecret, now: datetime) -> None:
        """Create or replace the tenant's secret for the channel."""

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
        """Store a delivery as received; returns its inbox id."""

    def claim(self, tenant_id: str, channel: str, dedupe_key: str, inbox_id: str, now: datetime) -> str | None:
        """Record the dedupe key for this delivery; returns the earlier inbox id if it was already claimed."""

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
        """Record what became of a delivery."""

    def entry(self, inbox_id: str) -> InboxEntry | None:
        """One delivery."""

    def waiting(self, tenant_id: str, channel: str, channel_order_id: str) -> list[InboxEntry]:
        """Deliveries waiting for their order to arrive, in channel-time order."""

    def sync_point(self, tenant_id: str, channel: str, channel_order_id: str) -> datetime | None:
        """The channel time of the last update applied to this order."""

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
        """Move the order's sync point forward."""

    def list_quarantine(self, tenant_id: str, *, limit: int, include_resolved: bool = False) -> list[QuarantineEntry]:
        """The tenant's quarantined payloads, newest first."""

    def get_quarantine(self, tenant_id: str, quarantine_id: str) -> QuarantineEntry | None:
        """One quarantined payload of the tenant."""

    def resolve_quarantine(self, quarantine_id: str, now: datetime) -> None:
        """Mark a quarantined payload as re-driven."""

    def last_price(self, tenant_id: str, sku: str, currency: str) -> Decimal | None:
        """The last accepted unit price of a SKU in a currency."""

    def record_price(self, tenant_id: str, sku: str, currency: str, price: Decimal) -> None:
        """Remember a SKU's accepted unit price."""

    def merge_policy(self, tenant_id: str) -> MergePolicy:
        """The tenant's order-merge policy (disabled unless set)."""

    def set_merge_policy(self, tenant_id: str, policy: MergePolicy) -> None:
        """Create or replace the tenant's order-merge policy."""

    def orders_of_customer(self, tenant_id: str, customer_key: str, since: datetime, until: datetime) -> list[str]:
        """Ids of the tenant's orders by this customer (``email:…`` / ``id:…``) placed in [since, until]."""
