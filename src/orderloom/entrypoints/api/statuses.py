"""/v1/statuses: the lifecycle taxonomy (public)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from orderloom.entrypoints.api.auth import container_of
from orderloom.entrypoints.api.schemas import encode

__all__ = ["router"]

router = APIRouter(tags=["statuses"])


@router.get("/v1/statuses", summary="The 12 main statuses, their sub-statuses and the actions")
async def statuses(request: Request) -> Response:
    """The state machine as data: meaning, owner and offered actions per sub-status, and every transition."""
    return Response(encode(container_of(request).lifecycle.as_document()), media_type="application/json")
