"""/v1/inventory: receipts, adjustments, transfers, reservations for orders, stock by SKU and its ledger."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from orderloom.application.inventory import (
    Allocation,
    ReceiptLine,
    ReceiptResult,
    adjust_stock,
    allocate_order,
    ledger_page,
    receive_purchase_order,
    receive_stock,
    record_purchase_order,
    stock_view,
    transfer_stock,
)
from orderloom.application.ports import UnitOfWork
from orderloom.bootstrap import Container, utc_now
from orderloom.domain.inventory import MAX_QUANTITY, Balance, IncomingSupply, Movement, StockView
from orderloom.entrypoints.api.auth import Tenant, container_of
from orderloom.entrypoints.api.problems import Problem
from orderloom.entrypoints.api.schemas import encode

__all__ = ["router"]

router = APIRouter(prefix="/v1/inventory", tags=["inventory"])
JSON = "application/json"
Sku = Annotated[str, Field(min_length=1, max_length=64, examples=["TSHIRT-BLK-M"])]
LocationId = Annotated[str, Field(min_length=1, max_length=40, examples=["SH-WH1"])]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReceiptLineIn(_Body):
    """Units of a SKU arriving at a location."""

    sku: Sku
    location_id: LocationId
    quantity: int = Field(gt=0, le=MAX_QUANTITY)


class ReceiptIn(_Body):
    """A goods receipt; ``reference`` (e.g. the purchase order or ASN) makes it idempotent."""

    reference: str = Field(min_length=1, max_length=128, examples=["PO-2026-0042"])
    reason: str = Field(default="receipt", min_length=1, max_length=200)
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=1000)


class AdjustmentIn(_Body):
    """A signed on-hand correction with its reason."""

    sku: Sku
    location_id: LocationId
    change: int = Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY, description="signed, not 0")
    reason: str = Field(min_length=1, max_length=200, examples=["cycle count"])
    reference: str | None = Field(default=None, max_length=128)


class TransferIn(_Body):
    """Unreserved units moving between two locations."""

    sku: Sku
    source: LocationId
    destination: LocationId
    quantity: int = Field(gt=0, le=MAX_QUANTITY)
    reference: str = Field(min_length=1, max_length=128)


class PurchaseOrderLineIn(_Body):
    """Units of a SKU on a purchase order."""

    sku: Sku
    quantity: int = Field(gt=0, le=MAX_QUANTITY)


class PurchaseOrderIn(_Body):
    """Future supply: presale orders may be promised these units until they arrive."""

    reference: str = Field(min_length=1, max_length=128, examples=["PO-2026-0107"])
    location_id: LocationId
    expected_at: datetime = Field(description="RFC 3339 with offset", examples=["2026-12-20T00:00:00Z"])
    lines: list[PurchaseOrderLineIn] = Field(min_length=1, max_length=1000)


class ReservationIn(_Body):
    """Reserve a confirmed order's stock now (the bus does this on confirmation; this retries a shortage)."""

    order_id: str = Field(min_length=1, max_length=40)


def _balance(b: Balance, active: bool | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "sku": b.sku,
        "location_id": b.location_id,
        "on_hand": b.on_hand,
        "reserved": b.reserved,
        "safety_stock": b.safety_stock,
        "available": b.available,
    }
    if active is not None:
        doc["active"] = active
    return doc


def _incoming(x: IncomingSupply) -> dict[str, Any]:
    return {
        "reference": x.reference,
        "sku": x.sku,
        "location_id": x.location_id,
        "expected_at": x.expected_at.isoformat().replace("+00:00", "Z"),
        "quantity": x.quantity,
        "promised": x.promised,
        "promisable": x.promisable,
        "received": x.received,
    }


def _view(v: StockView) -> dict[str, Any]:
    return {
        "sku": v.sku,
        "on_hand": v.on_hand,
        "reserved": v.reserved,
        "atp": v.atp,
        "locations": [_balance(b, active) for b, active in v.balances],
        "incoming": [_incoming(x) for x in v.incoming],
        "promisable_incoming": v.promisable_incoming,
    }


def _movement(m: Movement) -> dict[str, Any]:
    return {
        "id": m.id,
        "at": m.at.isoformat().replace("+00:00", "Z"),
        "location_id": m.location_id,
        "kind": str(m.kind),
        "quantity": m.quantity,
        "on_hand_delta": m.rule.on_hand,
        "reserved_delta": m.rule.reserved,
        "reason": m.reason,
        "reference": m.reference,
    }


def _json(doc: dict[str, Any], status: int = 200, **headers: str) -> Response:
    return Response(encode(doc), status_code=status, media_type=JSON, headers=headers or None)


def _receive(uow: UnitOfWork, *, tenant_id: str, body: ReceiptIn) -> ReceiptResult:
    lines = [ReceiptLine(ln.sku, ln.location_id, ln.quantity) for ln in body.lines]
    return receive_stock(
        uow=uow, tenant_id=tenant_id, reference=body.reference, lines=lines, reason=body.reason, now=utc_now()
    )


@router.post("/receipts", status_code=201, summary="Record a goods receipt (idempotent on its reference)")
async def post_receipt(request: Request, tenant_id: Tenant, body: Annotated[ReceiptIn, Body()]) -> Response:
    """201 with the lines; the same reference and lines again answers 200 with ``Idempotent-Replayed: true``."""
    result = await container_of(request).inventory_writer.submit(partial(_receive, tenant_id=tenant_id, body=body))
    doc = {"reference": result.reference, "lines": result.lines, "replayed": result.replayed}
    if result.replayed:
        return _json(doc, 200, **{"Idempotent-Replayed": "true"})
    return _json(doc, 201)


def _adjust(uow: UnitOfWork, *, tenant_id: str, body: AdjustmentIn) -> Balance:
    return adjust_stock(
        uow=uow,
        tenant_id=tenant_id,
        sku=body.sku,
        location_id=body.location_id,
        change=body.change,
        reason=body.reason,
        reference=body.reference,
        now=utc_now(),
    )


@router.post("/adjustments", summary="Correct on-hand at a location")
async def post_adjustment(request: Request, tenant_id: Tenant, body: Annotated[AdjustmentIn, Body()]) -> Response:
    """The balance after the adjustment; 409 naming the figures if it would drive on-hand below what is reserved."""
    balance = await container_of(request).inventory_writer.submit(partial(_adjust, tenant_id=tenant_id, body=body))
    return _json(_balance(balance))


def _transfer(uow: UnitOfWork, *, tenant_id: str, body: TransferIn) -> tuple[Balance, Balance]:
    return transfer_stock(
        uow=uow,
        tenant_id=tenant_id,
        sku=body.sku,
        source=body.source,
        destination=body.destination,
        quantity=body.quantity,
        reference=body.reference,
        now=utc_now(),
    )


@router.post("/transfers", summary="Move unreserved units between locations")
async def post_transfer(request: Request, tenant_id: Tenant, body: Annotated[TransferIn, Body()]) -> Response:
    """Both balances after the transfer."""
    src, dst = await container_of(request).inventory_writer.submit(partial(_transfer, tenant_id=tenant_id, body=body))
    return _json({"source": _balance(src), "destination": _balance(dst)})


def _record_po(uow: UnitOfWork, *, tenant_id: str, body: PurchaseOrderIn) -> list[IncomingSupply]:
    return record_purchase_order(
        uow=uow,
        tenant_id=tenant_id,
        reference=body.reference,
        location_id=body.location_id,
        expected_at=body.expected_at,
        lines=[(ln.sku, ln.quantity) for ln in body.lines],
    )


@router.post("/purchase-orders", status_code=201, summary="Record a purchase order (future supply for presales)")
async def post_purchase_order(
    request: Request, tenant_id: Tenant, body: Annotated[PurchaseOrderIn, Body()]
) -> Response:
    """Its lines become promisable to presale orders until it is received; 409 if the reference is taken."""
    if body.expected_at.tzinfo is None:
        raise Problem(
            422,
            "validation-error",
            "expected_at needs a UTC offset",
            errors=[{"field": "expected_at", "message": "give a UTC offset"}],
        )
    lines = await container_of(request).inventory_writer.submit(partial(_record_po, tenant_id=tenant_id, body=body))
    return _json({"reference": body.reference, "lines": [_incoming(x) for x in lines]}, 201)


def _receive_po(uow: UnitOfWork, *, container: Container, tenant_id: str, reference: str) -> list[str]:
    return receive_purchase_order(
        uow=uow,
        tenant_id=tenant_id,
        reference=reference,
        lifecycle=container.lifecycle,
        sourcing=container.sourcing,
        now=utc_now(),
    )


@router.post("/purchase-orders/{reference}/receipt", summary="Receive a purchase order in full")
async def post_purchase_order_receipt(request: Request, tenant_id: Tenant, reference: str) -> Response:
    """Units become stock; presale promises become reservations; held presale orders are allocated (idempotent)."""
    container = container_of(request)
    served = await container.inventory_writer.submit(
        partial(_receive_po, container=container, tenant_id=tenant_id, reference=reference)
    )
    return _json({"reference": reference, "served_orders": served})


def _reserve(uow: UnitOfWork, *, container: Container, tenant_id: str, order_id: str) -> Allocation | None:
    return allocate_order(
        uow=uow,
        tenant_id=tenant_id,
        order_id=order_id,
        lifecycle=container.lifecycle,
        sourcing=container.sourcing,
        now=utc_now(),
        strict=True,
    )


@router.post("/reservations", summary="Reserve a confirmed order's stock")
async def post_reservation(request: Request, tenant_id: Tenant, body: Annotated[ReservationIn, Body()]) -> Response:
    """Allocates the order (``allocated.reserved``) or holds it (``on_hold.stock_shortage``); 409 if it is cancelled."""
    container = container_of(request)
    alloc = await container.inventory_writer.submit(
        partial(_reserve, container=container, tenant_id=tenant_id, order_id=body.order_id)
    )
    assert alloc is not None
    return _json(
        {
            "order_id": alloc.order_id,
            "location_id": alloc.location_id,
            "short": alloc.location_id is None,
            "reservations": [
                {"id": r.id, "line_no": r.line_no, "sku": r.sku, "location_id": r.location_id, "quantity": r.quantity}
                for r in alloc.reservations
            ],
        }
    )


@router.get("/{sku:path}/ledger", summary="The movement ledger of a SKU")
def get_ledger(
    request: Request,
    tenant_id: Tenant,
    sku: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> Response:
    """Movements oldest first, ``limit`` at a time."""
    after = None
    if cursor is not None:
        if not cursor.isdigit():
            raise Problem(422, "validation-error", "cursor must be a next_cursor returned by this endpoint")
        after = int(cursor)
    rows, nxt = container_of(request).inventory_reads.read(
        lambda inv: ledger_page(inventory=inv, tenant_id=tenant_id, sku=sku, after=after, limit=limit)
    )
    return _json({"sku": sku, "items": [_movement(m) for m in rows], "next_cursor": None if nxt is None else str(nxt)})


@router.get("/{sku:path}", summary="Stock of a SKU by location, with network ATP")
def get_stock(request: Request, tenant_id: Tenant, sku: str) -> Response:
    """On hand, reserved, safety stock and available per location; ``atp`` sums active locations."""
    view = container_of(request).inventory_reads.read(
        lambda inv: stock_view(inventory=inv, tenant_id=tenant_id, sku=sku)
    )
    return _json(_view(view))
