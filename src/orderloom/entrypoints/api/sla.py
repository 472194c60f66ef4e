"""/v1/sla: the exception inbox of breaches and near-breaches, and the rules behind it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from orderloom.application.sla_ports import SlaInboxFilter, SlaInboxItem
from orderloom.bootstrap import utc_now
from orderloom.domain.errors import FieldError, ValidationFailed
from orderloom.domain.lifecycle import MAIN_STATUSES, Status
from orderloom.domain.sla import SUBJECT_KINDS
from orderloom.entrypoints.api.auth import Tenant, container_of
from orderloom.entrypoints.api.schemas import encode

__all__ = ["router"]

router = APIRouter(prefix="/v1/sla", tags=["sla"])
JSON = "application/json"
LEVELS = ("breach", "warning")


def _z(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _item(item: SlaInboxItem, now: datetime) -> dict[str, Any]:
    flag = item.flag
    clock = flag.clock
    until = item.resolved_at or max(now, flag.flagged_at)
    return {
        "id": flag.id,
        "level": flag.level,
        "subject": {"kind": clock.subject_kind, "id": clock.subject_id},
        "status": clock.state,
        "owner": clock.owner,
        "suggested_action": clock.action,
        "channel": clock.channel,
        "carrier": clock.carrier,
        "since": _z(clock.entered_at),
        "due_at": _z(flag.deadline),
        "flagged_at": _z(flag.flagged_at),
        "overdue_seconds": int((until - flag.deadline).total_seconds()),
        "resolved_at": _z(item.resolved_at),
    }


def _validate(request: Request, owner: str | None, status: str | None, kind: str | None, level: str | None) -> None:
    lifecycle = container_of(request).lifecycle
    errors: list[FieldError] = []
    if owner is not None and owner not in lifecycle.owners:
        errors.append(FieldError("owner", f"one of {', '.join(lifecycle.owners)}"))
    if status is not None:
        known = status in MAIN_STATUSES or ("." in status and lifecycle.has_status(Status.parse(status)))
        if not known:
            errors.append(
                FieldError("status", "a main status such as on_hold, or main.sub such as on_hold.risk_review")
            )
    if kind is not None and kind not in SUBJECT_KINDS:
        errors.append(FieldError("kind", f"one of {', '.join(SUBJECT_KINDS)}"))
    if level is not None and level not in LEVELS:
        errors.append(FieldError("level", f"one of {', '.join(LEVELS)}"))
    if errors:
        raise ValidationFailed(errors)


@router.get("/breaches", summary="The exception inbox: SLA breaches and near-breaches, newest first")
def list_breaches(
    request: Request,
    tenant_id: Tenant,
    owner: Annotated[
        str | None, Query(description="who must act: customer, merchant, warehouse, carrier, system")
    ] = None,
    status: Annotated[str | None, Query(description="main status, or main.sub")] = None,
    kind: Annotated[str | None, Query(description="order or shipment")] = None,
    level: Annotated[str | None, Query(description="breach or warning (default both)")] = None,
    include_resolved: Annotated[bool, Query(description="also items whose subject has left the status")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> Response:
    """Open exceptions with owner, suggested action, since when and how far overdue; cursor pagination."""
    _validate(request, owner, status, kind, level)
    flt = SlaInboxFilter(owner=owner, status=status, kind=kind, level=level, open_only=not include_resolved)
    page = container_of(request).sla_store.inbox(tenant_id, flt, limit=limit, cursor=cursor)
    now = utc_now()
    body = {"items": [_item(i, now) for i in page.items], "next_cursor": page.next_cursor}
    return Response(encode(body), media_type=JSON)


@router.get("/rules", summary="The service levels (data/sla.yaml)")
def list_rules(request: Request, tenant_id: Tenant) -> Response:
    """Every rule: status, time limit, warning fraction, channel or carrier, suggested actions."""
    del tenant_id  # authenticated; the rules are the same for every tenant
    return Response(encode({"rules": container_of(request).sla_policy.as_rows()}), media_type=JSON)
