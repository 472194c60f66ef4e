"""Routing over HTTP: an order's routing decision with its explanation, and taking a location offline (reroute)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from orderloom.application.routing import RoutingNotFound, routing_of, take_offline
from orderloom.bootstrap import utc_now
from orderloom.entrypoints.api.auth import Tenant, container_of
from orderloom.entrypoints.api.problems import problem_response
from orderloom.entrypoints.api.schemas import encode

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["routing"])
JSON = "application/json"


@router.get("/orders/{order_id}/routing", summary="An order's routing decision and why")
async def get_routing(request: Request, tenant_id: Tenant, order_id: str) -> Response:
    """The latest decision: candidates with costs, exclusions with reasons, rules fired, the chosen plan, a summary."""
    container = container_of(request)
    container.queries.get_document(tenant_id, order_id)  # OrderNotFound → 404
    if container.routing_reads is None:
        raise RoutingNotFound(order_id)
    try:
        body = routing_of(routing=container.routing_reads, tenant_id=tenant_id, order_id=order_id)
    except RoutingNotFound as e:
        return problem_response(404, "routing-not-found", str(e), instance=request.url.path, order_id=order_id)
    return Response(encode(body), media_type=JSON)


@router.post("/locations/{location_id}/offline", summary="Take a location offline and re-route its orders")
async def location_offline(request: Request, tenant_id: Tenant, location_id: str) -> Response:
    """Marks the location inactive and re-routes every allocated order holding stock there, in one transaction."""
    container = container_of(request)
    now = utc_now()
    report = await container.inventory_writer.submit(
        lambda uow: take_offline(
            uow=uow,
            tenant_id=tenant_id,
            location_id=location_id,
            lifecycle=container.lifecycle,
            sourcing=container.sourcing,
            now=now,
        )
    )
    return Response(encode(report.as_dict()), media_type=JSON)
