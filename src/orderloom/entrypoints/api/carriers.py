"""/v1/carriers: carrier tracking webhooks (push), unmapped raw codes with counts, and code map reload."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from orderloom.adapters.carriers.code_maps import CodeMapError
from orderloom.adapters.carriers.registry import UnknownCarrier
from orderloom.adapters.persistence.shipments import SqlShipmentRepository
from orderloom.application.ports import UnitOfWork
from orderloom.application.shipments import apply_tracking
from orderloom.application.tracking import read_tracking
from orderloom.bootstrap import utc_now
from orderloom.domain.tracking import TrackingParseError
from orderloom.entrypoints.api.auth import Tenant, container_of
from orderloom.entrypoints.api.problems import Problem
from orderloom.entrypoints.api.shipments import tracking_of

__all__ = ["router"]

router = APIRouter(prefix="/v1/carriers", tags=["carriers"])


@router.post("/{carrier}/webhooks", summary="Push a carrier tracking response")
async def carrier_webhook(request: Request, tenant_id: Tenant, carrier: str) -> dict[str, Any]:
    """The body is the carrier's tracking response as it sends it (JSON or XML). Scans are deduplicated and
    applied in time order; unknown numbers and malformed payloads are quarantined (never lost)."""
    container = container_of(request)
    tracking = tracking_of(container)
    try:
        tracking.parsers.get(carrier)
    except UnknownCarrier as exc:
        raise Problem(404, "unknown-carrier", str(exc)) from None
    body = await request.body()
    tracking.refresh_maps()
    try:
        outcomes = read_tracking(carrier=carrier, payload=body, parsers=tracking.parsers, maps=tracking.maps)
    except TrackingParseError as exc:
        reason = str(exc)

        def park(uow: UnitOfWork) -> str:
            return uow.quarantine.put(tenant_id=tenant_id, source=f"carrier:{carrier}", reason=reason, payload=body)

        qid = await container.writer.submit(park)
        raise Problem(422, "malformed-carrier-payload", reason, carrier=carrier, quarantine_id=qid) from None
    now = utc_now()

    def apply(uow: Any) -> list[dict[str, Any]]:
        reports = apply_tracking(
            uow=uow,
            tenant_id=tenant_id,
            carrier=carrier,
            outcomes=outcomes,
            lifecycle=container.lifecycle,
            actions=tracking.actions,
            now=now,
            payload=body,
            delay=container.delay_model,
        )
        return [r.as_dict() for r in reports]

    return {"carrier": carrier, "results": await container.writer.submit(apply)}


@router.get("/unmapped", summary="Raw carrier codes no map knows, with counts")
def unmapped(
    request: Request, tenant_id: Tenant, carrier: str | None = Query(default=None, max_length=40)
) -> dict[str, Any]:
    """Most frequent first: add a line to ``data/carriers/<carrier>.yaml`` and it is picked up without restart."""
    with container_of(request).engines.read.connect() as conn:
        rows = SqlShipmentRepository(conn).unmapped(tenant_id, carrier)
    return {
        "items": [
            {
                "carrier": u.carrier,
                "code": u.raw_code,
                "code_key": u.code_key,
                "sample_description": u.sample_description,
                "count": u.count,
                "first_seen": u.first_seen.isoformat().replace("+00:00", "Z"),
                "last_seen": u.last_seen.isoformat().replace("+00:00", "Z"),
            }
            for u in rows
        ]
    }


@router.post("/mappings/reload", summary="Re-read the carrier code maps now")
def reload_mappings(request: Request, tenant_id: Tenant) -> dict[str, Any]:
    """Re-read every ``data/carriers/*.yaml``; an invalid file is a 422 and the old maps stay in force."""
    del tenant_id
    try:
        carriers = tracking_of(container_of(request)).reload_maps()
    except CodeMapError as exc:
        raise Problem(422, "invalid-code-map", str(exc)) from None
    return {"reloaded": carriers}
