"""/v1/kpis: order KPIs of the caller's tenant over a window."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from orderloom.application.kpis import kpi_report
from orderloom.bootstrap import utc_now
from orderloom.entrypoints.api.auth import Tenant, container_of
from orderloom.entrypoints.api.schemas import encode

__all__ = ["router"]

router = APIRouter(prefix="/v1/kpis", tags=["kpis"])


@router.get("", summary="Order KPIs over a window, overall and by channel, with a time series")
def get_kpis(
    request: Request,
    tenant_id: Tenant,
    window: Annotated[Literal["24h", "7d", "30d"], Query(description="orders placed in the last …")] = "7d",
) -> Response:
    """Volumes, order error rate, manual-intervention rate, order-to-allocation and end-to-end times (p50/p95)."""
    container = container_of(request)
    report = kpi_report(
        source=container.console, lifecycle=container.lifecycle, tenant_id=tenant_id, window=window, now=utc_now()
    )
    return Response(encode(report.as_document()), media_type="application/json")
