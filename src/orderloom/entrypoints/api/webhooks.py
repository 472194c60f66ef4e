"""/v1/webhooks: outgoing webhook subscriptions, their delivery log and manual redelivery."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.responses import Response

from orderloom.application.webhooks import WebhookNotFound, redeliver, subscribe
from orderloom.bootstrap import utc_now
from orderloom.domain.canonical import format_time
from orderloom.domain.webhooks import Delivery, Subscription
from orderloom.entrypoints.api.auth import Tenant, container_of
from orderloom.entrypoints.api.problems import Problem

__all__ = ["router"]

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class NewSubscription(BaseModel):
    """A receiver for some event types."""

    url: str = Field(examples=["https://example.com/hooks/orderloom"])
    event_types: list[str] = Field(examples=[["orderloom.order.*"]], description="types, '*' or 'prefix.*'")
    secret: str | None = Field(default=None, min_length=16, max_length=200, description="generated when omitted")


def _subscription(s: Subscription, *, with_secret: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": s.id,
        "url": s.url,
        "event_types": list(s.event_types),
        "active": s.active,
        "created_at": format_time(s.created_at),
    }
    if with_secret:
        body["secret"] = s.secret
    return body


def _delivery(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "subscription_id": d.subscription_id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": format_time(d.next_attempt_at) if d.next_attempt_at else None,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "delivered_at": format_time(d.delivered_at) if d.delivered_at else None,
        "created_at": format_time(d.created_at),
    }


@router.post("", status_code=201, summary="Subscribe a URL to events")
async def create(body: NewSubscription, request: Request, tenant_id: Tenant) -> dict[str, Any]:
    """Deliveries are CloudEvents signed with the secret (Standard Webhooks headers); the secret is shown once."""
    store = container_of(request).webhooks
    sub = await asyncio.to_thread(
        lambda: subscribe(
            store=store,
            tenant_id=tenant_id,
            url=body.url,
            event_types=body.event_types,
            secret=body.secret,
            now=utc_now(),
        )
    )
    return _subscription(sub, with_secret=True)


@router.get("", summary="List webhook subscriptions")
async def list_subscriptions(request: Request, tenant_id: Tenant) -> dict[str, Any]:
    """Every subscription of the tenant, oldest first (secrets are not shown again)."""
    subs = await asyncio.to_thread(container_of(request).webhooks.subscriptions, tenant_id)
    return {"items": [_subscription(s) for s in subs]}


async def _get(request: Request, tenant_id: str, subscription_id: str) -> Subscription:
    sub = await asyncio.to_thread(container_of(request).webhooks.get_subscription, tenant_id, subscription_id)
    if sub is None:
        raise Problem(404, "webhook-not-found", f"no webhook subscription {subscription_id}")
    return sub


@router.get("/{subscription_id}", summary="One webhook subscription")
async def get_subscription(subscription_id: str, request: Request, tenant_id: Tenant) -> dict[str, Any]:
    """The subscription (without its secret)."""
    return _subscription(await _get(request, tenant_id, subscription_id))


@router.delete("/{subscription_id}", status_code=204, summary="Stop a webhook subscription")
async def delete(subscription_id: str, request: Request, tenant_id: Tenant) -> Response:
    """Deactivates it: no new deliveries, the delivery log stays."""
    if not await asyncio.to_thread(container_of(request).webhooks.deactivate, tenant_id, subscription_id):
        raise Problem(404, "webhook-not-found", f"no webhook subscription {subscription_id}")
    return Response(status_code=204)


@router.get("/{subscription_id}/deliveries", summary="Delivery log of a subscription")
async def deliveries(
    subscription_id: str, request: Request, tenant_id: Tenant, limit: int = Query(50, ge=1, le=500)
) -> dict[str, Any]:
    """Newest first: status (pending, delivered, dead), attempts, last HTTP status and error."""
    await _get(request, tenant_id, subscription_id)
    rows = await asyncio.to_thread(container_of(request).webhooks.deliveries, tenant_id, subscription_id, limit)
    return {"items": [_delivery(d) for d in rows]}


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202, summary="Send a delivery again")
async def redeliver_one(delivery_id: str, request: Request, tenant_id: Tenant) -> dict[str, Any]:
    """Queues the delivery now with a fresh attempt count (e.g. after fixing the receiver)."""
    store = container_of(request).webhooks
    try:
        d = await asyncio.to_thread(
            lambda: redeliver(store=store, tenant_id=tenant_id, delivery_id=delivery_id, now=utc_now())
        )
    except WebhookNotFound as exc:
        raise Problem(404, "webhook-delivery-not-found", str(exc)) from None
    return _delivery(d)
