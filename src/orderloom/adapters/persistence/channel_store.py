"""The SQL channel store: one transaction's view of secrets, inbox, dedupe keys, sync points and quarantine."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from orderloom.adapters.persistence.tables import orders, quarantine
from orderloom.adapters.persistence.tables_channels import (
    channel_dedupe,
    channel_inbox,
    channel_order_sync,
    channel_secrets,
    merge_policies,
    sku_prices,
)
from orderloom.application.channel_ports import ChannelSecret, InboxEntry, QuarantineEntry
from orderloom.domain.ids import new_id
from orderloom.domain.order_merge import MergePolicy, customer_key
from orderloom.domain.values import Customer

__all__ = ["SqlChannelStore"]


def _entry(row: Any) -> InboxEntry:
    return InboxEntry(
        id=row.id,
        tenant_id=row.tenant_id,
        channel=row.channel,
        payload=bytes(row.payload),
        state=row.state,
        received_at=row.received_at,
        channel_order_id=row.channel_order_id,
        channel_time=row.channel_time,
        order_id=row.order_id,
        detail=row.detail,
    )


def _quarantined(row: Any) -> QuarantineEntry:
    return QuarantineEntry(
        id=row.id,
        tenant_id=row.tenant_id,
        source=row.source,
        reason=row.reason,
        payload=bytes(row.payload),
        received_at=row.received_at,
        resolved_at=row.resolved_at,
    )


class SqlChannelStore:
    """Channel intake state on one connection (inside the caller's transaction)."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def get_secret(self, tenant_id: str, channel: str) -> ChannelSecret | None:
        """The tenant's secret for the channel, if set."""
        row = self._conn.execute(
            sa.select(channel_secrets.c.secret, channel_secrets.c.app_key).where(
                channel_secrets.c.tenant_id == tenant_id, channel_secrets.c.channel == channel
            )
        ).first()
        return ChannelSecret(row.secret, row.app_key) if row else None

    def set_secret(self, tenant_id: str, channel: str, secret: ChannelSecret, now: datetime) -> None:
        """Create or replace the tenant's secret for the channel."""
        where = (channel_secrets.c.tenant_id == tenant_id) & (channel_secrets.c.channel == channel)
        values = {"secret": secret.secret, "app_key": secret.app_key, "updated_at": now}
        if self._conn.execute(channel_secrets.update().where(where).values(**values)).rowcount == 0:
            self._conn.execute(channel_secrets.insert().values(tenant_id=tenant_id, channel=channel, **values))

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
        inbox_id = new_id("inb")
        self._conn.execute(
            channel_inbox.insert().values(
                id=inbox_id,
                tenant_id=tenant_id,
                channel=channel,
                dedupe_key=dedupe_key[:200],
                source_ip=(source_ip or "")[:64] or None,
                headers=headers,
                payload=payload,
                received_at=now,
                state="received",
            )
        )
        return inbox_id

    def claim(self, tenant_id: str, channel: str, dedupe_key: str, inbox_id: str, now: datetime) -> str | None:
        """Record the dedupe key; returns the earlier inbox id if it was already claimed."""
        key = dedupe_key[:200]
        earlier = self._conn.execute(
            sa.select(channel_dedupe.c.inbox_id).where(
                channel_dedupe.c.tenant_id == tenant_id,
                channel_dedupe.c.channel == channel,
                channel_dedupe.c.dedupe_key == key,
            )
        ).scalar_one_or_none()
        if earlier is not None:
            return str(earlier)
        self._conn.execute(
            channel_dedupe.insert().values(
                tenant_id=tenant_id, channel=channel, dedupe_key=key, inbox_id=inbox_id, created_at=now
            )
        )
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
        """Record what became of a delivery (fields left None keep their value)."""
        values: dict[str, Any] = {"state": state}
        for key, value in (
            ("detail", detail),
            ("channel_order_id", channel_order_id),
            ("channel_time", channel_time),
            ("order_id", order_id),
        ):
            if value is not None:
                values[key] = value
        self._conn.execute(channel_inbox.update().where(channel_inbox.c.id == inbox_id).values(**values))

    def entry(self, inbox_id: str) -> InboxEntry | None:
        """One delivery."""
        row = self._conn.execute(sa.select(channel_inbox).where(channel_inbox.c.id == inbox_id)).first()
        return _entry(row) if row else None

    def waiting(self, tenant_id: str, channel: str, channel_order_id: str) -> list[InboxEntry]:
        """Deliveries waiting for their order, oldest channel time first."""
        rows = self._conn.execute(
            sa.select(channel_inbox)
            .where(
                channel_inbox.c.tenant_id == tenant_id,
                channel_inbox.c.channel == channel,
                channel_inbox.c.channel_order_id == channel_order_id,
                channel_inbox.c.state == "waiting",
            )
            .order_by(channel_inbox.c.channel_time, channel_inbox.c.received_at)
        ).all()
        return [_entry(r) for r in rows]

    def sync_point(self, tenant_id: str, channel: str, channel_order_id: str) -> datetime | None:
        """The channel time of the last update applied to this order."""
        value: datetime | None = self._conn.execute(
            sa.select(channel_order_sync.c.channel_time).where(
                channel_order_sync.c.tenant_id == tenant_id,
                channel_order_sync.c.channel == channel,
                channel_order_sync.c.channel_order_id == channel_order_id,
            )
        ).scalar_one_or_none()
        return value

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
        """Move the order's sync point forward (never back)."""
        c = channel_order_sync.c
        where = (c.tenant_id == tenant_id) & (c.channel == channel) & (c.channel_order_id == channel_order_id)
        current = self._conn.execute(sa.select(c.channel_time).where(where)).first()
        if current is None:
            self._conn.execute(
                channel_order_sync.insert().values(
                    tenant_id=tenant_id,
                    channel=channel,
                    channel_order_id=channel_order_id,
                    order_id=order_id,
                    channel_time=channel_time,
                    updated_at=now,
                )
            )
        elif current.channel_time is None or channel_time > current.channel_time:
            self._conn.execute(
                channel_order_sync.update()
                .where(where)
                .values(order_id=order_id, channel_time=channel_time, updated_at=now)
            )

    def list_quarantine(self, tenant_id: str, *, limit: int, include_resolved: bool = False) -> list[QuarantineEntry]:
        """The tenant's quarantined payloads, newest first."""
        q = sa.select(quarantine).where(quarantine.c.tenant_id == tenant_id)
        if not include_resolved:
            q = q.where(quarantine.c.resolved_at.is_(None))
        rows = self._conn.execute(q.order_by(quarantine.c.received_at.desc(), quarantine.c.id.desc()).limit(limit))
        return [_quarantined(r) for r in rows]

    def get_quarantine(self, tenant_id: str, quarantine_id: str) -> QuarantineEntry | None:
        """One quarantined payload of the tenant."""
        row = self._conn.execute(
            sa.select(quarantine).where(quarantine.c.id == quarantine_id, quarantine.c.tenant_id == tenant_id)
        ).first()
        return _quarantined(row) if row else None

    def resolve_quarantine(self, quarantine_id: str, now: datetime) -> None:
        """Mark a quarantined payload as re-driven."""
        self._conn.execute(quarantine.update().where(quarantine.c.id == quarantine_id).values(resolved_at=now))

    def last_price(self, tenant_id: str, sku: str, currency: str) -> Decimal | None:
        """The last accepted unit price of a SKU in a currency."""
        value = self._conn.execute(
            sa.select(sku_prices.c.unit_price).where(
                sku_prices.c.tenant_id == tenant_id, sku_prices.c.sku == sku, sku_prices.c.currency == currency
            )
        ).scalar_one_or_none()
        return None if value is None else Decimal(value).normalize()

    def record_price(self, tenant_id: str, sku: str, currency: str, price: Decimal) -> None:
        """Remember a SKU's accepted unit price."""
        c = sku_prices.c
        where = (c.tenant_id == tenant_id) & (c.sku == sku) & (c.currency == currency)
        if self._conn.execute(sku_prices.update().where(where).values(unit_price=price)).rowcount == 0:
            self._conn.execute(
                sku_prices.insert().values(tenant_id=tenant_id, sku=sku, currency=currency, unit_price=price)
            )

    def merge_policy(self, tenant_id: str) -> MergePolicy:
        """The tenant's order-merge policy (disabled unless set)."""
        row = self._conn.execute(sa.select(merge_policies).where(merge_policies.c.tenant_id == tenant_id)).first()
        if row is None:
            return MergePolicy()
        return MergePolicy(enabled=bool(row.enabled), window=timedelta(seconds=row.window_seconds))

    def set_merge_policy(self, tenant_id: str, policy: MergePolicy) -> None:
        """Create or replace the tenant's order-merge policy."""
        values = {"enabled": policy.enabled, "window_seconds": int(policy.window.total_seconds())}
        where = merge_policies.c.tenant_id == tenant_id
        if self._conn.execute(merge_policies.update().where(where).values(**values)).rowcount == 0:
            self._conn.execute(merge_policies.insert().values(tenant_id=tenant_id, **values))

    def orders_of_customer(self, tenant_id: str, customer_key_: str, since: datetime, until: datetime) -> list[str]:
        """Ids of the tenant's orders by this customer placed in [since, until]."""
        rows = self._conn.execute(
            sa.select(orders.c.id, orders.c.doc).where(
                orders.c.tenant_id == tenant_id, orders.c.placed_at >= since, orders.c.placed_at <= until
            )
        )
        found = []
        for row in rows:
            customer = json.loads(row.doc).get("customer") or {}
            if customer_key(Customer(email=customer.get("email"), id=customer.get("id"))) == customer_key_:
                found.append(row.id)
        return found
