"""Outgoing webhook subscriptions and deliveries in SQL."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from orderloom.adapters.persistence.tables_scale import webhook_deliveries, webhook_subscriptions
from orderloom.domain.webhooks import Delivery, DeliveryStatus, Subscription

__all__ = ["SqlWebhookStore"]

_D = webhook_deliveries.c
_S = webhook_subscriptions.c


def _subscription(row: sa.Row[Any]) -> Subscription:
    return Subscription(
        id=row.id,
        tenant_id=row.tenant_id,
        url=row.url,
        event_types=tuple(row.event_types.split(",")),
        secret=row.secret,
        active=row.active,
        created_at=row.created_at,
    )


def _delivery(row: sa.Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        tenant_id=row.tenant_id,
        subscription_id=row.subscription_id,
        event_id=row.event_id,
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        created_at=row.created_at,
    )


class SqlWebhookStore:
    """The webhook tables; deliveries are unique per (subscription, event)."""

    def __init__(self, write: sa.Engine, read: sa.Engine, *, cache_seconds: float = 2.0) -> None:
        self._write = write
        self._read = read
        # every event asks for its tenant's subscriptions: keep them briefly (other processes see changes in 2 s)
        self._cache: dict[str, tuple[float, list[Subscription]]] = {}
        self._ttl = cache_seconds

    def add_subscription(self, subscription: Subscription) -> None:
        self._cache.pop(subscription.tenant_id, None)
        with self._write.begin() as conn:
            conn.execute(
                webhook_subscriptions.insert().values(
                    id=subscription.id,
                    tenant_id=subscription.tenant_id,
                    url=subscription.url,
                    event_types=",".join(subscription.event_types),
                    secret=subscription.secret,
                    active=subscription.active,
                    created_at=subscription.created_at,
                )
            )

    def subscriptions(self, tenant_id: str) -> list[Subscription]:
        hit = self._cache.get(tenant_id)
        if hit is not None and hit[0] > time.monotonic():
            return list(hit[1])
        subs = self._load(tenant_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[tenant_id] = (time.monotonic() + self._ttl, subs)
        return list(subs)

    def _load(self, tenant_id: str) -> list[Subscription]:
        with self._read.connect() as conn:
            rows = conn.execute(
                sa.select(webhook_subscriptions).where(_S.tenant_id == tenant_id).order_by(_S.created_at, _S.id)
            ).all()
        return [_subscription(r) for r in rows]

    def get_subscription(self, tenant_id: str, subscription_id: str) -> Subscription | None:
        with self._read.connect() as conn:
            row = conn.execute(
                sa.select(webhook_subscriptions).where(_S.tenant_id == tenant_id, _S.id == subscription_id)
            ).first()
        return _subscription(row) if row is not None else None

    def deactivate(self, tenant_id: str, subscription_id: str) -> bool:
        self._cache.pop(tenant_id, None)
        with self._write.begin() as conn:
            result = conn.execute(
                webhook_subscriptions.update()
                .where(_S.tenant_id == tenant_id, _S.id == subscription_id)
                .values(active=False)
            )
        return result.rowcount > 0

    def add_deliveries(self, deliveries: Sequence[Delivery]) -> int:
        if not deliveries:
            return 0
        rows = [
            {
                "id": d.id,
                "tenant_id": d.tenant_id,
                "subscription_id": d.subscription_id,
                "event_id": d.event_id,
                "event_type": d.event_type,
                "status": d.status,
                "attempts": d.attempts,
                "next_attempt_at": d.next_attempt_at,
                "created_at": d.created_at,
            }
            for d in deliveries
        ]
        with self._write.begin() as conn:
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            stmt = (
                insert(webhook_deliveries)
                .on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])
                .returning(_D.id)
            )
            return sum(len(conn.execute(stmt.values(row)).all()) for row in rows)

    def due(self, now: datetime, limit: int) -> list[Delivery]:
        with self._read.connect() as conn:
            rows = conn.execute(
                sa.select(webhook_deliveries)
                .where(_D.status == DeliveryStatus.PENDING, _D.next_attempt_at <= now)
                .order_by(_D.next_attempt_at, _D.id)
                .limit(limit)
            ).all()
        return [_delivery(r) for r in rows]

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
        values: dict[str, Any] = {
            "status": status,
            "attempts": _D.attempts + 1,
            "last_status_code": status_code,
            "last_error": error,
            "next_attempt_at": next_attempt_at,
        }
        if status == DeliveryStatus.DELIVERED:
            values["delivered_at"] = at
        with self._write.begin() as conn:
            conn.execute(webhook_deliveries.update().where(_D.id == delivery_id).values(**values))

    def requeue(self, delivery_id: str, *, at: datetime) -> None:
        with self._write.begin() as conn:
            conn.execute(
                webhook_deliveries.update()
                .where(_D.id == delivery_id)
                .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=at)
            )

    def deliveries(self, tenant_id: str, subscription_id: str, limit: int) -> list[Delivery]:
        with self._read.connect() as conn:
            rows = conn.execute(
                sa.select(webhook_deliveries)
                .where(_D.tenant_id == tenant_id, _D.subscription_id == subscription_id)
                .order_by(_D.created_at.desc(), _D.id.desc())
                .limit(limit)
            ).all()
        return [_delivery(r) for r in rows]

    def get_delivery(self, tenant_id: str, delivery_id: str) -> Delivery | None:
        with self._read.connect() as conn:
            row = conn.execute(
                sa.select(webhook_deliveries).where(_D.tenant_id == tenant_id, _D.id == delivery_id)
            ).first()
        return _delivery(row) if row is not None else None
