"""``POST /v1/channels/{name}/webhooks``: signed channel deliveries, verified on the raw bytes, stored raw, then mapped
and applied (see application/channel_intake.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import structlog
from fastapi import APIRouter, Request, Response

from orderloom.adapters.channels.intake import AdapterMapper
from orderloom.adapters.channels.signing import SignedRequest, dedupe_key, verify_signature
from orderloom.application.channel_intake import IntakeResult, receive_delivery
from orderloom.bootstrap import Container, utc_now
from orderloom.entrypoints.api.auth import authenticate, container_of
from orderloom.entrypoints.api.problems import Problem

__all__ = ["router", "webhook_tenant"]

router = APIRouter(tags=["channels"])
log = structlog.get_logger("orderloom.channels")
_SKIP_HEADERS = frozenset({"authorization", "cookie", "x-orderloom-token"})


async def webhook_tenant(request: Request, container: Container) -> str:
    """The tenant of a webhook: ``?tenant=NAME`` (what a channel's webhook URL can carry) or a bearer API key."""
    name = request.query_params.get("tenant")
    if name:
        tenant_id = await asyncio.to_thread(container.tenants.find, name)
        if tenant_id is None:
            raise Problem(401, "unauthorized", "unknown tenant")
        return tenant_id
    return await authenticate(request)


def _result_body(result: IntakeResult) -> dict[str, Any]:
    body: dict[str, Any] = {
        "inbox_id": result.inbox_id,
        "state": result.state,
        "order_ids": result.orders,
        "applied": result.applied,
        "notes": result.notes,
        "findings": result.findings,
    }
    if result.quarantine_id:
        body["quarantine_id"] = result.quarantine_id
        body["reason"] = result.reason
    return body


@router.post(
    "/v1/channels/{name}/webhooks",
    summary="Receive a signed channel webhook",
    responses={
        200: {"description": "applied, duplicate (redelivery) or stale (older than the last update applied)"},
        202: {"description": "stored: waiting for its order, or quarantined with the reason and JSON pointer"},
        401: {"description": "missing or bad signature; nothing is stored"},
        404: {"description": "unknown channel"},
        413: {"description": "payload too large"},
    },
)
async def receive_webhook(name: str, request: Request) -> Response:
    """Verify the signature with the tenant's channel secret, store the raw body, then map and apply it."""
    container = container_of(request)
    if name not in container.channels:
        raise Problem(
            404, "unknown-channel", f"no channel named {name!r}; known: {', '.join(container.channels.names())}"
        )
    tenant_id = await webhook_tenant(request, container)
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    signed = SignedRequest(body=body, headers=headers, query=dict(request.query_params))
    source_ip = request.client.host if request.client else None
    secret = await asyncio.to_thread(
        container.tx.run, lambda uow: container.channel_store(uow).get_secret(tenant_id, name)
    )
    if secret is None or not verify_signature(name, secret=secret.secret, app_key=secret.app_key, req=signed):
        log.warning(
            "webhook signature rejected",
            channel=name,
            source_ip=source_ip,
            tenant_id=tenant_id,
            secret_configured=secret is not None,
        )
        why = "no secret is configured for this channel" if secret is None else "the signature does not match"
        raise Problem(401, "bad-signature", f"{name} webhook refused: {why}; nothing was stored")
    stored_headers = msgspec.json.encode({k: v for k, v in headers.items() if k not in _SKIP_HEADERS}).decode()
    result = await asyncio.to_thread(
        receive_delivery,
        tx=container.tx,
        store_for=container.channel_store,
        mapper=AdapterMapper(container.channels.get(name)),
        lifecycle=container.lifecycle,
        tenant_id=tenant_id,
        channel=name,
        body=body,
        headers=stored_headers,
        source_ip=source_ip,
        dedupe_key=dedupe_key(signed),
        now=utc_now(),
        checks=container.intake_checks(),
    )
    status = 202 if result.state in ("waiting", "quarantined") else 200
    return Response(msgspec.json.encode(_result_body(result)), status_code=status, media_type="application/json")
