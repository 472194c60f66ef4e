"""Problem+json answers for fulfilment errors: one stable ``type`` per kind, with the figures that explain it."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

from orderloom.domain.fulfilment import (
    CancelNotPossible,
    ConfirmationReplayConflict,
    FulfilmentNotFound,
    FulfilmentOrderClosed,
    IllegalFoTransition,
    OverConfirmation,
    PickupCodeMismatch,
    WaveNotFound,
)
from orderloom.domain.shipments import TrackingNumberTaken
from orderloom.entrypoints.api.problems import problem_response

__all__ = ["install_fulfilment_problems"]


def _answer(request: Request, exc: Exception) -> Response:
    path = request.url.path
    if isinstance(exc, OverConfirmation):
        return problem_response(
            422,
            "over-confirmation",
            str(exc),
            instance=path,
            fulfilment_order_id=exc.fo_id,
            line_no=exc.line_no,
            confirmation=exc.kind,
            requested=exc.requested,
            already_confirmed=exc.already,
            released=exc.released,
        )
    if isinstance(exc, FulfilmentNotFound):
        return problem_response(
            404, "fulfilment-order-not-found", str(exc), instance=path, fulfilment_order_id=exc.fo_id
        )
    if isinstance(exc, WaveNotFound):
        return problem_response(404, "wave-not-found", str(exc), instance=path, wave_id=exc.wave_id)
    if isinstance(exc, FulfilmentOrderClosed):
        return problem_response(
            409,
            "fulfilment-order-closed",
            str(exc),
            instance=path,
            fulfilment_order_id=exc.fo_id,
            current_status=exc.status,
        )
    if isinstance(exc, IllegalFoTransition):
        return problem_response(
            409,
            "illegal-fulfilment-transition",
            str(exc),
            instance=path,
            fulfilment_order_id=exc.fo_id,
            action=exc.action,
            current_status=exc.current,
        )
    if isinstance(exc, ConfirmationReplayConflict):
        return problem_response(409, "event-id-reused", str(exc), instance=path, event_id=exc.event_id)
    if isinstance(exc, CancelNotPossible):
        return problem_response(409, "cancel-requires-return", str(exc), instance=path, fulfilment_order_id=exc.fo_id)
    if isinstance(exc, PickupCodeMismatch):
        return problem_response(422, "pickup-code-mismatch", str(exc), instance=path, fulfilment_order_id=exc.fo_id)
    assert isinstance(exc, TrackingNumberTaken)
    return problem_response(409, "tracking-number-taken", str(exc), instance=path)


def install_fulfilment_problems(app: FastAPI) -> None:
    """Register the fulfilment error answers."""

    async def handle(request: Request, exc: Exception) -> Response:
        return _answer(request, exc)

    for kind in (
        OverConfirmation,
        FulfilmentNotFound,
        WaveNotFound,
        FulfilmentOrderClosed,
        IllegalFoTransition,
        ConfirmationReplayConflict,
        CancelNotPossible,
        PickupCodeMismatch,
        TrackingNumberTaken,
    ):
        app.add_exception_handler(kind, handle)
