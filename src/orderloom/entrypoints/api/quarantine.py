"""``/v1/quarantine``: payloads we could not map or accept, with the reason; re-driven after a mapping fix."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Query, Request, Response

from orderloom.adapters.channels.intake import AdapterMapper
from orderloom.application.channel_intake import redrive_quarantined
from orderloom.application.channel_ports import QuarantineEntry
from orderloom.bootstrap import utc_now
from orderloom.domain.canonical import format_time
from orderloom.entrypoints.api.auth import Tenant, container_of
from orderloom.entrypoints.api.problems import Problem

__all__ = ["router"]

router = APIRouter(tags=["quarantine"])
_PREVIEW = 65_536


def channel_of(source: str) -> str:
    """The channel a quarantined payload came from (``webhook:<channel>:<inbox id>``; imports are canonical)."""
    kind, _, rest = source.partition(":")
    if kind == "webhook":
        return rest.partition(":")[0]
    if kind.endswith("-import"):  # orderloom import --channel NAME
        return kind.removesuffix("-import")
    return "canonical"


def _doc(q: QuarantineEntry) -> dict[str, Any]:
    return {
        "id": q.id,
        "source": q.source,
        "channel": channel_of(q.source),
        "reason": q.reason,
        "received_at": format_time(q.received_at),
        "resolved_at": format_time(q.resolved_at) if q.resolved_at else None,
        "payload_bytes": len(q.payload),
        "payload": q.payload[:_PREVIEW].decode("utf-8", "replace"),
    }


def _json(body: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(body), status_code=status, media_type="application/json")


@router.get("/v1/quarantine", summary="List quarantined payloads")
async def list_quarantine(
    request: Request,
    tenant_id: Tenant,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    include_resolved: bool = False,
) -> Response:
    """The tenant's quarantined payloads, newest first, with the reason (and JSON pointer) for each."""
    c = container_of(request)
    items = await asyncio.to_thread(
        c.tx.run,
        lambda uow: c.channel_store(uow).list_quarantine(tenant_id, limit=limit, include_resolved=include_resolved),
    )
    return _json({"items": [_doc(q) for q in items]})


@router.post("/v1/quarantine/{quarantine_id}/retry", summary="Re-drive a quarantined payload")
async def retry_quarantined(quarantine_id: str, request: Request, tenant_id: Tenant) -> Response:
    """Map the payload again with the current adapters; placed or applied on success, else the new reason."""
    c = container_of(request)
    entry = await asyncio.to_thread(c.tx.run, lambda uow: c.channel_store(uow).get_quarantine(tenant_id, quarantine_id))
    if entry is None:
        raise Problem(404, "not-found", f"quarantine entry {quarantine_id} not found")
    if entry.resolved_at is not None:
        raise Problem(409, "already-resolved", f"quarantine entry {quarantine_id} was re-driven already")
    channel = channel_of(entry.source)
    if channel not in c.channels:
        raise Problem(422, "unknown-channel", f"entry came from channel {channel!r}, which is not registered")
    result = await asyncio.to_thread(
        redrive_quarantined,
        tx=c.tx,
        store_for=c.channel_store,
        mapper=AdapterMapper(c.channels.get(channel)),
        lifecycle=c.lifecycle,
        tenant_id=tenant_id,
        channel=channel,
        quarantine_id=quarantine_id,
        payload=entry.payload,
        now=utc_now(),
        checks=c.intake_checks(),
    )
    if result.state == "quarantined":
        raise Problem(422, "still-unmappable", result.reason or "still cannot be mapped", quarantine_id=quarantine_id)
    return _json({"id": quarantine_id, "state": result.state, "order_ids": result.orders, "applied": result.applied})
