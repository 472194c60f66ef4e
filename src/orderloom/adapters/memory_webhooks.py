"""The in-memory twin of the webhook store (passes the same contract tests as the SQL one)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from orderloom.domain.webhooks import Delivery, DeliveryStatus, Subscription

__all__ = ["MemoryWebhookStore"]


class MemoryWebhookStore:
    """Subscriptions and deliveries in dicts."""

    def __init__(self) -> None:
        self._subs: dict[str, Subscription] = {}
        self._deliveries: dict[str, Delivery] = {}
        self._keys: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def add_subscription(self, subscription: Subscription) -> None:
        self._subs[subscription.id] = subscription

    def subscriptions(self, tenant_id: str) -> list[Subscription]:
        subs = [s for s in self._subs.values() if s.tenant_id == tenant_id]
        return sorted(subs, key=lambda s: (s.created_at, s.id))

    def get_subscription(self, tenant_id: str, subscription_id: str) -> Subscription | None:
        sub = self._subs.get(subscription_id)
        return sub if sub is not None and sub.tenant_id == tenant_id else None

    def deactivate(self, tenant_id: str, subscription_id: str) -> bool:
        sub = self.get_subscription(tenant_id, subscription_id)
        if sub is None:
            return False
        self._subs[subscription_id] = replace(sub, active=False)
        return True

    def add_deliveries(self, deliveries: Sequence[Delivery]) -> int:
        added = 0
        with self._lock:
            for d in deliveries:
                key = (d.subscription_id, d.event_id)
                if key not in self._keys:
                    self._keys.add(key)
                    self._deliveries[d.id] = d
                    added += 1
        return added

    def due(self, now: datetime, limit: int) -> list[Delivery]:
        due = [
            d
            for d in self._deliveries.values()
            if d.status == DeliveryStatus.PENDING and d.next_attempt_at is not None and d.next_attempt_at <= now
        ]
        return sorted(due, key=lambda d: (d.next_attempt_at or now, d.id))[:limit]

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
        d = self._deliveries[delivery_id]
        self._deliveries[delivery_id] = replace(
            d,
            status=status,
            attempts=d.attempts + 1,
            last_status_code=status_code,
            last_error=error,
            next_attempt_at=next_attempt_at,
            delivered_at=at if status == DeliveryStatus.DELIVERED else d.delivered_at,
        )

    def requeue(self, delivery_id: str, *, at: datetime) -> None:
        d = self._deliveries[delivery_id]
        self._deliveries[delivery_id] = replace(d, status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=at)

    def deliveries(self, tenant_id: str, subscription_id: str, limit: int) -> list[Delivery]:
        mine = [
            d for d in self._deliveries.values() if d.tenant_id == tenant_id and d.subscription_id == subscription_id
        ]
        return sorted(mine, key=lambda d: (d.created_at, d.id), reverse=True)[:limit]

    def get_delivery(self, tenant_id: str, delivery_id: str) -> Delivery | None:
        d = self._deliveries.get(delivery_id)
        return d if d is not None and d.tenant_id == tenant_id else None
