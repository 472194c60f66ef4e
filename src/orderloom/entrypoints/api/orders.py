"""/v1/orders: place, read, list, act on and trace orders."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response

from orderloom.application.orders import apply_action, place_order, place_order_idempotent
from orderloom.application.ports import OrderFilter, UnitOfWork
from orderloom.bootstrap import Container, utc_now
from orderloom.domain.errors import DuplicateOrder, FieldError, IllegalTransition, ValidationFailed
from orderloom.domain.lifecycle import Status
from orderloom.entrypoints.api.auth import Tenant, authenticate, container_of
from orderloom.entrypoints.api.problems import Problem
from orderloom.entrypoints.api.returns_cancel import cancel_after_shipment
from orderloom.entrypoints.api.schemas import EXAMPLE_ORDER, decode_new_order, encode

__all__ = ["create_order_fast", "router"]

router = APIRouter(prefix="/v1/orders", tags=["orders"])
JSON = "application/json"

_ORDER_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/NewOrder"}, "example": EXAMPLE_ORDER}},
    }
}


def _actor(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return "api-key:" + header.partition(" ")[2].strip()[:10]


def _with_actions(container: Container, doc: dict[str, Any]) -> dict[str, Any]:
    status = Status(doc["status"]["main"], doc["status"]["sub"])
    lifecycle = container.lifecycle
    doc["available_actions"] = list(lifecycle.offered_actions(status)) if lifecycle.has_status(status) else []
    return doc


async def _quarantine(container: Container, tenant_id: str, body: bytes, reason: str) -> None:
    def put(uow: UnitOfWork) -> str:
        return uow.quarantine.put(tenant_id=tenant_id, source="api:/v1/orders", reason=reason, payload=body)

    await container.writer.submit(put)


@router.post("", status_code=201, openapi_extra=_ORDER_BODY, summary="Place an order")
async def create_order(
    request: Request,
    tenant_id: Tenant,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> Response:
    """Accept a canonical order; 201 once it is durably stored with its audit entry and event."""
    return await _create(request, tenant_id, idempotency_key)


async def create_order_fast(request: Request) -> Response:
    """The same endpoint as a plain Starlette route: no dependency solving on the ingest hot path."""
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= 255:
        raise Problem(
            422,
            "validation-error",
            "Idempotency-Key must be 1-255 characters",
            errors=[{"field": "Idempotency-Key", "message": "1-255 characters"}],
        )
    return await _create(request, await authenticate(request), key)


async def _create(request: Request, tenant_id: str, idempotency_key: str | None) -> Response:
    container = container_of(request)
    body = await request.body()
    try:
        new = decode_new_order(body)
    except msgspec.DecodeError as exc:
        await _quarantine(container, tenant_id, body, f"malformed JSON: {exc}")
        raise Problem(400, "malformed-json", f"the body is not valid JSON: {exc}") from None
    except ValidationFailed as exc:
        await _quarantine(container, tenant_id, body, str(exc))
        raise
    args: dict[str, Any] = {
        "tenant_id": tenant_id,
        "new": new,
        "lifecycle": container.lifecycle,
        "actor": _actor(request),
        "now": utc_now(),
    }
    try:
        if idempotency_key:
            request_hash = hashlib.sha256(body).hexdigest()
            result = await container.writer.submit(
                partial(_place_idempotent, args=args, key=idempotency_key, request_hash=request_hash)
            )
            if result.replayed is not None:
                return Response(
                    result.replayed.body,
                    status_code=result.replayed.status_code,
                    media_type=JSON,
                    headers={"Location": f"/v1/orders/{result.order_id}", "Idempotent-Replayed": "true"},
                )
            doc = result.document
        else:
            doc = await container.writer.submit(partial(_place, args=args))
    except ValidationFailed as exc:
        await _quarantine(container, tenant_id, body, str(exc))
        raise
    except DuplicateOrder as exc:
        existing = await asyncio.to_thread(
            container.queries.find_by_channel_ref, tenant_id, exc.channel, exc.channel_order_id
        )
        raise DuplicateOrder(channel=exc.channel, channel_order_id=exc.channel_order_id, existing_id=existing) from None
    assert doc is not None
    return Response(encode(doc), status_code=201, media_type=JSON, headers={"Location": f"/v1/orders/{doc['id']}"})


def _place(uow: UnitOfWork, *, args: dict[str, Any]) -> dict[str, Any]:
    return place_order(uow=uow, **args)


def _place_idempotent(uow: UnitOfWork, *, args: dict[str, Any], key: str, request_hash: str) -> Any:
    return place_order_idempotent(uow=uow, key=key, request_hash=request_hash, render=encode, **args)


@router.get("", summary="List orders, newest first")
def list_orders(
    request: Request,
    tenant_id: Tenant,
    status: Annotated[str | None, Query(description="main status")] = None,
    sub_status: Annotated[str | None, Query()] = None,
    channel: Annotated[str | None, Query()] = None,
    placed_from: Annotated[datetime | None, Query(description="inclusive, RFC 3339")] = None,
    placed_to: Annotated[datetime | None, Query(description="exclusive, RFC 3339")] = None,
    tag: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> Response:
    """Filter by status, channel, date and tag; cursor pagination."""
    for name, value in (("placed_from", placed_from), ("placed_to", placed_to)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed([_naive(name)])
    flt = OrderFilter(status, sub_status, channel, placed_from, placed_to, tag)
    page = container_of(request).queries.search(tenant_id, flt, limit=limit, cursor=cursor)
    return Response(encode({"items": page.items, "next_cursor": page.next_cursor}), media_type=JSON)


def _naive(name: str) -> FieldError:
    return FieldError(name, "give a UTC offset, e.g. 2026-11-01T00:00:00Z")


@router.get("/{order_id}", summary="One order")
def get_order(request: Request, tenant_id: Tenant, order_id: str) -> Response:
    """The canonical order JSON, with the actions its status offers."""
    container = container_of(request)
    doc = container.queries.get_document(tenant_id, order_id)
    return Response(encode(_with_actions(container, doc)), media_type=JSON)


@router.post("/{order_id}/actions/{action}", summary="Apply a lifecycle action")
async def act(request: Request, tenant_id: Tenant, order_id: str, action: str) -> Response:
    """Confirm, hold, release, cancel, ship…: whatever the state machine allows from the current status.

    The body is optional: ``{}`` or e.g. ``{"reason": "customer asked"}``.
    """
    container = container_of(request)
    if action not in container.lifecycle.actions:
        raise Problem(404, "unknown-action", f"no action {action!r}", known_actions=sorted(container.lifecycle.actions))
    body = await request.body()
    params: Any = {}
    if body.strip():
        try:
            params = msgspec.json.decode(body)
        except msgspec.DecodeError as exc:
            raise Problem(400, "malformed-json", f"the body is not valid JSON: {exc}") from None
        if not isinstance(params, dict):
            raise Problem(422, "validation-error", 'the body must be a JSON object such as {"reason": "…"}')
    args = {
        "tenant_id": tenant_id,
        "order_id": order_id,
        "action": action,
        "params": params,
        "lifecycle": container.lifecycle,
        "actor": _actor(request),
        "now": utc_now(),
    }
    try:
        doc = await container.writer.submit(partial(_act, args=args))
    except IllegalTransition as exc:
        raise cancel_after_shipment(exc) or exc from None
    return Response(encode(_with_actions(container, doc)), media_type=JSON)


def _act(uow: UnitOfWork, *, args: dict[str, Any]) -> dict[str, Any]:
    return apply_action(uow=uow, **args)


@router.get("/{order_id}/timeline", summary="Audit entries and events of an order")
def timeline(request: Request, tenant_id: Tenant, order_id: str) -> Response:
    """Every change (audit) and every event, oldest first."""
    entries = container_of(request).queries.timeline(tenant_id, order_id)
    return Response(encode({"order_id": order_id, "entries": entries}), media_type=JSON)
