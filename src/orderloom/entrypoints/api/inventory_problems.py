"""Problem+json answers for inventory errors: one stable ``type`` per kind, figures included where they help."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response

from orderloom.application.inventory import (
    DuplicatePurchaseOrder,
    DuplicateReceipt,
    OrderNotReservable,
    PurchaseOrderNotFound,
)
from orderloom.domain.inventory import (
    DuplicateLocation,
    InsufficientStock,
    InvalidMovement,
    LocationNotFound,
    StockNotFound,
)
from orderloom.entrypoints.api.problems import problem_response

__all__ = ["install_inventory_problems"]


def _answer(request: Request, exc: Exception) -> Response:
    path = request.url.path
    if isinstance(exc, InsufficientStock):
        b = exc.balance
        return problem_response(
            409,
            "insufficient-stock",
            str(exc),
            instance=path,
            sku=b.sku,
            location_id=b.location_id,
            movement=str(exc.kind),
            quantity=exc.quantity,
            on_hand=b.on_hand,
            reserved=b.reserved,
            safety_stock=b.safety_stock,
            available=b.available,
        )
    if isinstance(exc, LocationNotFound):
        return problem_response(404, "location-not-found", str(exc), instance=path, location_id=exc.location_id)
    if isinstance(exc, StockNotFound):
        return problem_response(404, "stock-not-found", str(exc), instance=path, sku=exc.sku)
    if isinstance(exc, DuplicateLocation):
        return problem_response(409, "duplicate-location", str(exc), instance=path, location_id=exc.location_id)
    if isinstance(exc, DuplicateReceipt):
        return problem_response(409, "receipt-reference-reused", str(exc), instance=path, reference=exc.reference)
    if isinstance(exc, DuplicatePurchaseOrder):
        return problem_response(409, "duplicate-purchase-order", str(exc), instance=path, reference=exc.reference)
    if isinstance(exc, PurchaseOrderNotFound):
        return problem_response(404, "purchase-order-not-found", str(exc), instance=path, reference=exc.reference)
    if isinstance(exc, OrderNotReservable):
        return problem_response(
            409, "order-not-reservable", str(exc), instance=path, order_id=exc.order_id, current_status=exc.status
        )
    assert isinstance(exc, InvalidMovement)
    return problem_response(422, "validation-error", str(exc), instance=path)


def install_inventory_problems(app: FastAPI) -> None:
    """Register the inventory error handlers."""

    async def handle(request: Request, exc: Exception) -> Response:
        return _answer(request, exc)

    for exc_type in (
        InsufficientStock,
        LocationNotFound,
        StockNotFound,
        DuplicateLocation,
        DuplicateReceipt,
        OrderNotReservable,
        InvalidMovement,
        DuplicatePurchaseOrder,
        PurchaseOrderNotFound,
    ):
        app.add_exception_handler(exc_type, handle)
