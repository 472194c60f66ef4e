"""/v1/orders/{id}/approvals: approve or reject an order a rule sent for approval (recorded in the timeline)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Body, Request
from starlette.responses import Response

from orderloom.application.orders import apply_action
from orderloom.bootstrap import utc_now
from orderloom.entrypoints.api.auth import Tenant, container_of
from orderloom.entrypoints.api.problems import Problem

__all__ = ["router"]

router = APIRouter(prefix="/v1/orders", tags=["orders"])


class ApprovalBody(msgspec.Struct, forbid_unknown_fields=True):
    """An approval decision by someone holding a role."""

    decision: Literal["approve", "reject"]
    role: str
    note: str | None = None


def _required_role(timeline: list[dict[str, Any]]) -> str | None:
    for entry in reversed(timeline):
        if entry.get("kind") == "audit" and entry.get("action") == "order.require_approval":
            role = (entry.get("after") or {}).get("params", {}).get("role")
            return None if role is None else str(role)
    return None


@router.post("/{order_id}/approvals", summary="Approve or reject an order waiting for approval")
async def approve(
    request: Request,
    tenant_id: Tenant,
    order_id: str,
    body: Annotated[dict[str, Any], Body(examples=[{"decision": "approve", "role": "finance", "note": "checked"}])],
) -> Response:
    """The approver's role must be the one the rule asked for; a rejection needs a note."""
    try:
        parsed = msgspec.convert(body, ApprovalBody)
    except msgspec.ValidationError as exc:
        raise Problem(422, "validation-error", str(exc)) from None
    container = container_of(request)
    timeline = await asyncio.to_thread(container.queries.timeline, tenant_id, order_id)
    required = _required_role(timeline)
    if required is not None and parsed.role != required:
        raise Problem(403, "wrong-approver-role", f"order {order_id} needs approval by role {required!r}")
    params = {"role": parsed.role, "note": parsed.note, "reason": parsed.note}
    actor = "api-key:" + request.headers.get("authorization", "").partition(" ")[2].strip()[:10]
    doc = await container.writer.submit(
        partial(
            _apply,
            tenant_id=tenant_id,
            order_id=order_id,
            action=parsed.decision,
            params=params,
            container_lifecycle=container.lifecycle,
            actor=f"{actor} ({parsed.role})",
        )
    )
    return Response(msgspec.json.encode(doc), media_type="application/json")


def _apply(uow: Any, **kw: Any) -> dict[str, Any]:
    return apply_action(
        uow=uow,
        tenant_id=kw["tenant_id"],
        order_id=kw["order_id"],
        action=kw["action"],
        params=kw["params"],
        lifecycle=kw["container_lifecycle"],
        actor=kw["actor"],
        now=utc_now(),
    )
