"""/healthz, /readyz and /metrics."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import JSONResponse, Response

from orderloom.adapters.observability.metrics import OUTBOX_OLDEST_AGE, OUTBOX_PENDING
from orderloom.adapters.persistence.migrate import current_revision, head_revision
from orderloom.bootstrap import Container, utc_now
from orderloom.entrypoints.api.auth import container_of

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness")
async def healthz() -> JSONResponse:
    """The process is up."""
    return JSONResponse({"status": "ok"})


def _readiness(container: Container) -> dict[str, str]:
    problems: dict[str, str] = {}
    try:
        with container.engines.read.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        current, head = current_revision(container.engines), head_revision()
        if current != head:
            problems["schema"] = f"database at revision {current}, code expects {head}: run `orderloom db upgrade`"
    except sa.exc.SQLAlchemyError as exc:
        problems["database"] = str(exc).splitlines()[0]
    return problems


@router.get("/readyz", summary="Readiness: database reachable and migrated")
async def readyz(request: Request) -> JSONResponse:
    """200 when the store answers at the expected schema revision, else 503 with the reasons."""
    problems = await asyncio.to_thread(_readiness, container_of(request))
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics", summary="Prometheus metrics")
async def metrics(request: Request) -> Response:
    """Metrics in the Prometheus text format (outbox backlog read from the store at scrape time)."""
    outbox = container_of(request).outbox
    try:
        pending, oldest = await asyncio.to_thread(lambda: (outbox.pending_count(), outbox.oldest_unpublished_at()))
        OUTBOX_PENDING.set(pending)
        OUTBOX_OLDEST_AGE.set((utc_now() - oldest).total_seconds() if oldest is not None else 0.0)
    except sa.exc.SQLAlchemyError:
        pass  # the store is down: /readyz says so; the other metrics are still worth serving
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
