"""/v1/orders/{id}/tracking-link: the customer tracking page's URL for an order (for notifications and channels)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.responses import Response

from orderloom.entrypoints.api.auth import Tenant, container_of
from orderloom.entrypoints.api.schemas import encode
from orderloom.entrypoints.console.session import server_secret
from orderloom.entrypoints.console.tracking import tracking_token

__all__ = ["router"]

router = APIRouter(prefix="/v1/orders", tags=["orders"])


@router.get("/{order_id}/tracking-link", summary="The customer tracking link of an order")
async def tracking_link(request: Request, tenant_id: Tenant, order_id: str) -> Response:
    """An unguessable link to the order's public tracking page (no sign-in; shows nothing internal)."""
    await asyncio.to_thread(container_of(request).queries.get_document, tenant_id, order_id)  # 404 if not ours
    secret = await asyncio.to_thread(server_secret, request)
    path = f"/track/{tracking_token(secret, tenant_id, order_id)}"
    body = {"order_id": order_id, "path": path, "url": str(request.base_url).rstrip("/") + path}
    return Response(encode(body), media_type="application/json")
