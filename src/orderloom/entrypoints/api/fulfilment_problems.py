"""Problem+json answers for fulfilment errors: one stable ``type`` per kind, with the figures that explain it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from orderloom.domain.errors import DomainError, ValidationFailed
from orderloom.domain.fulfilment import (
    CancelNotPossible,
    ConfirmationReplayConflict,
    FulfilmentNotFound,
    FulfilmentOrderClosed,
    IllegalFoTransition,
    OverConfirmation,
    PickupCodeMismatch,
    UnitsNotReserved,
    WaveNotFound,
)
from orderloom.domain.shipments import TrackingNumberTaken
from orderloom.entrypoints.api.problems import PROBLEM_BASE, problem_response

__all__ = ["install_fulfilment_problems", "problem_document", "problem_of"]


_BY_FO: dict[type[DomainError], tuple[int, str]] = {
    FulfilmentNotFound: (404, "fulfilment-order-not-found"),
    CancelNotPossible: (409, "cancel-requires-return"),
    PickupCodeMismatch: (422, "pickup-code-mismatch"),
}


def _closed(exc: DomainError) -> tuple[int, str, dict[str, Any]]:
    if isinstance(exc, FulfilmentOrderClosed):
        return 409, "fulfilment-order-closed", {"fulfilment_order_id": exc.fo_id, "current_status": exc.status}
    assert isinstance(exc, IllegalFoTransition)
    extra = {"fulfilment_order_id": exc.fo_id, "action": exc.action, "current_status": exc.current}
    return 409, "illegal-fulfilment-transition", extra


def problem_of(exc: DomainError) -> tuple[int, str, dict[str, Any]]:
    """HTTP status, problem kind and extra members for a fulfilment error."""
    if isinstance(exc, OverConfirmation):
        extra = {
            "fulfilment_order_id": exc.fo_id,
            "line_no": exc.line_no,
            "confirmation": exc.kind,
            "requested": exc.requested,
            "already_confirmed": exc.already,
            "released": exc.released,
        }
        return 422, "over-confirmation", extra
    if isinstance(exc, FulfilmentNotFound | CancelNotPossible | PickupCodeMismatch):
        return (*_BY_FO[type(exc)], {"fulfilment_order_id": exc.fo_id})
    if isinstance(exc, WaveNotFound):
        return 404, "wave-not-found", {"wave_id": exc.wave_id}
    if isinstance(exc, FulfilmentOrderClosed | IllegalFoTransition):
        return _closed(exc)
    if isinstance(exc, ConfirmationReplayConflict):
        return 409, "event-id-reused", {"event_id": exc.event_id}
    if isinstance(exc, UnitsNotReserved):
        extra = {"fulfilment_order_id": exc.fo_id, "confirmed": exc.confirmed, "reserved": exc.reserved}
        return 409, "units-not-reserved", extra
    if isinstance(exc, TrackingNumberTaken):
        return 409, "tracking-number-taken", {"carrier": exc.carrier, "tracking_number": exc.tracking_number}
    if isinstance(exc, ValidationFailed):
        return 422, "validation-error", {"errors": [e.as_dict() for e in exc.errors]}
    return 422, "unprocessable", {}


def problem_document(exc: DomainError) -> dict[str, Any]:
    """The problem+json body of an error (for answers that carry several, like a batch of confirmations)."""
    status, kind, extra = problem_of(exc)
    return {"type": PROBLEM_BASE + kind, "status": status, "detail": str(exc), **extra}


async def _handle(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    status, kind, extra = problem_of(exc)
    return problem_response(status, kind, str(exc), instance=request.url.path, **extra)


def install_fulfilment_problems(app: FastAPI) -> None:
    """Register the fulfilment error answers."""
    for kind in (
        OverConfirmation,
        FulfilmentNotFound,
        WaveNotFound,
        FulfilmentOrderClosed,
        IllegalFoTransition,
        ConfirmationReplayConflict,
        CancelNotPossible,
        PickupCodeMismatch,
        UnitsNotReserved,
        TrackingNumberTaken,
    ):
        app.add_exception_handler(kind, _handle)
