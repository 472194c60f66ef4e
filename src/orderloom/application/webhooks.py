"""Outgoing webhooks: subscribe, fan events out to deliveries, send due deliveries with retries, redeliver by hand."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import msgspec

from orderloom.application.messagebus import backoff_seconds
from orderloom.application.ports import OutboxReader, WebhookSender, WebhookStore
from orderloom.domain.ids import new_id
from orderloom.domain.webhooks import (
    Delivery,
    DeliveryStatus,
    Subscription,
    matches,
    signature_headers,
    validate_subscription,
)

__all__ = ["WebhookNotFound", "deliver_due", "fan_out", "fan_out_many", "redeliver", "subscribe"]

_TENANT_SOURCE = "/orderloom/tenants/"


class WebhookNotFound(LookupError):
    """No such subscription or delivery for the tenant."""


def subscribe(
    *, store: WebhookStore, tenant_id: str, url: str, event_types: list[str], secret: str | None, now: datetime
) -> Subscription:
    """Register a receiver; a signing secret is generated when none is given."""
    validate_subscription(url, event_types)
    subscription = Subscription(
        id=new_id("whk"),
        tenant_id=tenant_id,
        url=url,
        event_types=tuple(event_types),
        secret=secret or "whsec_" + secrets.token_urlsafe(24),
        active=True,
        created_at=now,
    )
    store.add_subscription(subscription)
    return subscription


def _deliveries_for(store: WebhookStore, event: dict[str, Any], now: datetime) -> list[Delivery]:
    """One pending delivery per active subscription of the event's tenant that wants its type."""
    source = str(event.get("source", ""))
    if not source.startswith(_TENANT_SOURCE):
        return []
    tenant_id = source[len(_TENANT_SOURCE) :]
    event_type = str(event["type"])
    wanted = [s for s in store.subscriptions(tenant_id) if s.active and matches(s.event_types, event_type)]
    return [
        Delivery(
            id=new_id("dlv"),
            tenant_id=tenant_id,
            subscription_id=s.id,
            event_id=str(event["id"]),
            event_type=event_type,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            last_status_code=None,
            last_error=None,
            delivered_at=None,
            created_at=now,
        )
        for s in wanted
    ]


def fan_out(*, store: WebhookStore, event: dict[str, Any], now: datetime) -> int:
    """Create one pending delivery per active subscription that wants the event (idempotent per event)."""
    return store.add_deliveries(_deliveries_for(store, event, now))


def fan_out_many(*, store: WebhookStore, events: Sequence[dict[str, Any]], now: datetime) -> int:
    """``fan_out`` for a relay batch, in one write."""
    return store.add_deliveries([d for e in events for d in _deliveries_for(store, e, now)])


def deliver_due(
    *,
    store: WebhookStore,
    outbox: OutboxReader,
    sender: WebhookSender,
    now: datetime,
    limit: int = 100,
    max_attempts: int = 8,
    backoff_base: float = 5.0,
) -> tuple[int, int]:
    """Send the due deliveries once each; returns (delivered, failed). Failures retry with backoff, then die."""
    delivered = failed = 0
    subscriptions: dict[str, Subscription | None] = {}
    for delivery in store.due(now, limit):
        key = delivery.subscription_id
        if key not in subscriptions:
            subscriptions[key] = store.get_subscription(delivery.tenant_id, key)
        ok = _attempt(store, outbox, sender, delivery, subscriptions[key], now, max_attempts, backoff_base)
        delivered += ok
        failed += not ok
    return delivered, failed


def _attempt(
    store: WebhookStore,
    outbox: OutboxReader,
    sender: WebhookSender,
    delivery: Delivery,
    subscription: Subscription | None,
    now: datetime,
    max_attempts: int,
    backoff_base: float,
) -> bool:
    message = outbox.get(delivery.event_id)
    if subscription is None or not subscription.active or message is None:
        reason = "subscription removed" if message is not None else "event no longer in the outbox"
        store.record_attempt(
            delivery.id, status=DeliveryStatus.DEAD, status_code=None, error=reason, next_attempt_at=None, at=now
        )
        return False
    body = msgspec.json.encode(message.cloudevent)
    headers = {"content-type": "application/cloudevents+json", "user-agent": "OrderLoom-Webhooks/1"}
    headers |= signature_headers(
        secret=subscription.secret, delivery_id=delivery.id, timestamp=int(now.timestamp()), body=body
    )
    code: int | None = None
    try:
        code = sender.send(subscription.url, body=body, headers=headers)
        error = None if 200 <= code < 300 else f"receiver answered HTTP {code}"
    except Exception as exc:  # transport errors are the receiver's outage: recorded and retried
        error = f"{type(exc).__name__}: {exc}"[:500]
    if error is None:
        store.record_attempt(
            delivery.id, status=DeliveryStatus.DELIVERED, status_code=code, error=None, next_attempt_at=None, at=now
        )
        return True
    attempt = delivery.attempts + 1
    retry_at = now + timedelta(seconds=backoff_seconds(attempt, base=backoff_base)) if attempt < max_attempts else None
    status = DeliveryStatus.PENDING if retry_at else DeliveryStatus.DEAD
    store.record_attempt(delivery.id, status=status, status_code=code, error=error, next_attempt_at=retry_at, at=now)
    return False


def redeliver(*, store: WebhookStore, tenant_id: str, delivery_id: str, now: datetime) -> Delivery:
    """Queue a delivery again now (after a receiver fix), whatever its state."""
    delivery = store.get_delivery(tenant_id, delivery_id)
    if delivery is None:
        raise WebhookNotFound(f"no webhook delivery {delivery_id}")
    store.requeue(delivery_id, at=now)
    return replace(delivery, status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now)
