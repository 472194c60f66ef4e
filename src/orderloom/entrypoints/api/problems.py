"""RFC 9457 problem details: one stable ``type`` URI per kind of error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from orderloom.application.orders import IdempotencyMismatch
from orderloom.domain.errors import (
    ConcurrencyConflict,
    DuplicateOrder,
    IllegalTransition,
    OrderNotFound,
    ValidationFailed,
)

__all__ = ["PROBLEM_BASE", "Problem", "install_problem_handlers", "problem_response"]

PROBLEM_BASE = "https://orderloom.dev/problems/"
log = structlog.get_logger(__name__)
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Problem(Exception):
    """An error to answer with problem+json."""

    def __init__(
        self, status: int, kind: str, detail: str, *, headers: Mapping[str, str] | None = None, **extra: Any
    ) -> None:
        self.status = status
        self.kind = kind
        self.detail = detail
        self.headers = headers
        self.extra = extra
        super().__init__(detail)


def problem_response(
    status: int,
    kind: str,
    detail: str,
    *,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + kind,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return Response(
        msgspec.json.encode(body), status_code=status, media_type="application/problem+json", headers=headers
    )


def _from_exception(request: Request, exc: Exception) -> Response:
    path = request.url.path
    if isinstance(exc, Problem):
        return problem_response(exc.status, exc.kind, exc.detail, instance=path, headers=exc.headers, **exc.extra)
    if isinstance(exc, ValidationFailed):
        errors = [e.as_dict() for e in exc.errors]
        return problem_response(422, "validation-error", str(exc), instance=path, errors=errors)
    if isinstance(exc, IllegalTransition):
        return problem_response(
            409,
            "illegal-transition",
            str(exc),
            instance=path,
            order_id=exc.order_id,
            action=exc.action,
            current_status=exc.current,
        )
    if isinstance(exc, OrderNotFound):
        return problem_response(404, "not-found", str(exc), instance=path)
    if isinstance(exc, DuplicateOrder):
        return problem_response(
            409,
            "duplicate-order",
            str(exc),
            instance=path,
            existing_order_id=exc.existing_id,
            errors=[{"field": "channel_order_id", "message": "already used for this channel"}],
        )
    if isinstance(exc, IdempotencyMismatch):
        return problem_response(422, "idempotency-key-reused", str(exc), instance=path)
    if isinstance(exc, ConcurrencyConflict):
        return problem_response(409, "concurrent-update", str(exc), instance=path)
    if _store_unavailable(exc):
        log.warning("store_unavailable", path=path, error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return problem_response(
            503,
            "store-unavailable",
            "the order store is unreachable; nothing was written, retry shortly",
            instance=path,
            headers={"Retry-After": "2"},
        )
    log.error("unhandled_error", path=path, exc_info=exc)
    return problem_response(500, "internal-error", "an unexpected error occurred; it has been logged", instance=path)


def _store_unavailable(exc: BaseException) -> bool:
    """The database is down, restarting or out of connections (not a bug in the request)."""
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error with problem+json."""

    async def handle(request: Request, exc: Exception) -> Response:
        return _from_exception(request, exc)

    async def handle_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        kind = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}.get(exc.status_code, "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return problem_response(exc.status_code, kind, detail, instance=request.url.path, headers=exc.headers)

    async def handle_request_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")),
                "message": str(e.get("msg")),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(422, "validation-error", detail, instance=request.url.path, errors=errors)

    for exc_type in (
        Problem,
        ValidationFailed,
        IllegalTransition,
        OrderNotFound,
        DuplicateOrder,
        IdempotencyMismatch,
        ConcurrencyConflict,
        sa_exc.OperationalError,  # store outages answer 503 here, not through the 500 path that re-raises
        sa_exc.InterfaceError,
        sa_exc.TimeoutError,
    ):
        app.add_exception_handler(exc_type, handle)
    app.add_exception_handler(StarletteHTTPException, handle_http)
    app.add_exception_handler(RequestValidationError, handle_request_validation)
    app.add_exception_handler(Exception, handle)
