"""Fulfilment orders over HTTP: location settings and waves, the pull API a WMS or store app uses (list, accept,
reject, confirm picked/packed/shipped, answer cancellations, hand over pickups), pick-list files, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from orderloom.adapters.fulfilment_files import render_pick_list
from orderloom.adapters.persistence.fulfilment_store import SqlFulfilmentRepository
from orderloom.application.fulfilment import (
    Fulfilment,
    accept_fulfilment_order,
    advance_wave,
    answer_cancellation,
    cancel_order_fulfilment,
    collect_pickup,
    configure_location,
    confirm_batch,
    confirm_fulfilment,
    pick_list,
    reject_fulfilment_order,
    release_wave,
)
from orderloom.application.fulfilment_ports import FulfilmentRepository, LocationFulfilment
from orderloom.application.ports import UnitOfWork
from orderloom.bootstrap import utc_now
from orderloom.domain.fulfilment import Confirmation, Package
from orderloom.entrypoints.api.auth import Tenant, container_of
from orderloom.entrypoints.api.fulfilment_problems import problem_document
from orderloom.entrypoints.api.schemas import encode

__all__ = [
    "BatchBody",
    "BatchEvent",
    "CancelBody",
    "EventBody",
    "PickupBody",
    "RejectBody",
    "SettingsBody",
    "WaveBody",
    "router",
]

router = APIRouter(tags=["fulfilment"])
JSON = "application/json"
T = TypeVar("T")


class LineQty(BaseModel):
    """Units of one order line."""

    model_config = ConfigDict(extra="forbid")

    line_no: int = Field(ge=1, le=10_000)
    quantity: int = Field(ge=-1_000_000_000, le=1_000_000_000)


class PackageBody(BaseModel):
    """A parcel handed to a carrier."""

    model_config = ConfigDict(extra="forbid")

    weight: float | None = Field(default=None, ge=0, le=100_000, description="kg")
    dimensions: list[float] | None = Field(default=None, min_length=3, max_length=3, description="cm, L x W x H")
    carrier: str | None = Field(default=None, max_length=40, examples=["dhl_express"])
    service: str | None = Field(default=None, max_length=120)
    tracking_number: str | None = Field(default=None, min_length=1, max_length=64)


class EventBody(BaseModel):
    """A WMS/store confirmation, idempotent by ``event_id``."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=128)
    type: Literal["picked", "packed", "shipped", "cancel_confirmed", "cancel_refused"]
    lines: list[LineQty] = Field(default_factory=list, max_length=1000)
    packages: list[PackageBody] = Field(default_factory=list, max_length=200)


class BatchEvent(EventBody):
    """A confirmation for one fulfilment order, in a batch."""

    fulfilment_order_id: str = Field(min_length=1, max_length=40)
    type: Literal["picked", "packed", "shipped"]


class BatchBody(BaseModel):
    """Many confirmations applied in one transaction."""

    model_config = ConfigDict(extra="forbid")

    events: list[BatchEvent] = Field(min_length=1, max_length=1000)


class RejectBody(BaseModel):
    """Why a location refuses a fulfilment order, and which units were missing on the shelf."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200)
    missing: list[LineQty] = Field(default_factory=list, max_length=1000)


class PickupBody(BaseModel):
    """The code the customer shows at the counter."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32)
    paid: bool = Field(default=False, description="ROPO: paid at the counter")


class CancelBody(BaseModel):
    """Units to cancel (all open units when ``lines`` is left out)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="cancelled", min_length=1, max_length=200)
    lines: list[LineQty] | None = Field(default=None, max_length=1000)


class SettingsBody(BaseModel):
    """How a location receives fulfilment orders."""

    model_config = ConfigDict(extra="forbid")

    release_mode: Literal["pull", "webhook", "file"] = "pull"
    webhook_url: str | None = Field(default=None, max_length=2000)
    webhook_secret: str | None = Field(default=None, max_length=200)
    max_batch: int = Field(default=500, ge=1, le=100_000)
    horizon_hours: int | None = Field(default=None, ge=0, le=336)
    pickup_days: int = Field(default=3, ge=1, le=60)


class WaveBody(BaseModel):
    """Release options (the location's settings otherwise)."""

    model_config = ConfigDict(extra="forbid")

    max_batch: int | None = Field(default=None, ge=1, le=100_000)


def _json(doc: Any, status: int = 200) -> Response:
    return Response(encode(doc), status_code=status, media_type=JSON)


def _setup(request: Request) -> Fulfilment:
    setup = container_of(request).fulfilment
    assert setup is not None
    return setup


def _read(request: Request, fn: Callable[[FulfilmentRepository], T]) -> T:
    with container_of(request).engines.read.connect() as conn:
        return fn(SqlFulfilmentRepository(conn))


async def _write(request: Request, fn: Callable[[UnitOfWork], T]) -> T:
    return await container_of(request).writer.submit(fn)


def _confirmation(body: EventBody) -> Confirmation:
    return Confirmation(
        event_id=body.event_id,
        type=body.type,
        lines=tuple((ln.line_no, ln.quantity) for ln in body.lines),
        packages=tuple(
            Package(
                weight_kg=p.weight,
                dimensions_cm=(p.dimensions[0], p.dimensions[1], p.dimensions[2]) if p.dimensions else None,
                carrier=p.carrier,
                service=p.service,
                tracking_number=p.tracking_number,
            )
            for p in body.packages
        ),
    )


def _units(lines: list[LineQty] | None) -> dict[int, int] | None:
    if lines is None:
        return None
    out: dict[int, int] = {}
    for ln in lines:
        out[ln.line_no] = out.get(ln.line_no, 0) + ln.quantity
    return out


@router.get("/v1/locations/{location_id}/fulfilment-settings", summary="A location's release settings")
def get_settings(request: Request, tenant_id: Tenant, location_id: str) -> Response:
    """Release mode, wave size and horizon, pickup days (defaults until set)."""
    return _json(_read(request, lambda s: s.settings(tenant_id, location_id).as_dict()))


@router.put("/v1/locations/{location_id}/fulfilment-settings", summary="Set a location's release settings")
async def put_settings(
    request: Request, tenant_id: Tenant, location_id: str, body: Annotated[SettingsBody, Body()]
) -> Response:
    """Pull (WMS polls), webhook (signed CloudEvents to its WMS) or file (pick-list exports); waves and pickups."""
    cfg = LocationFulfilment(tenant_id=tenant_id, location_id=location_id, **body.model_dump())
    saved = await _write(request, lambda uow: configure_location(uow=uow, settings=cfg))
    return _json(saved.as_dict())


@router.post("/v1/locations/{location_id}/waves", summary="Release a wave of fulfilment orders to a location")
async def post_wave(
    request: Request, tenant_id: Tenant, location_id: str, body: Annotated[WaveBody | None, Body()] = None
) -> Response:
    """Release the due open fulfilment orders (ship-by first, up to the batch size); 200 with ``wave: null`` when
    nothing is due."""
    setup = _setup(request)
    max_batch = body.max_batch if body else None
    wave = await _write(
        request,
        lambda uow: release_wave(
            uow=uow,
            tenant_id=tenant_id,
            location_id=location_id,
            setup=setup,
            now=utc_now(),
            max_batch=max_batch,
            advance=False,
        ),
    )
    if wave is None:
        return _json({"wave": None})
    runner = container_of(request).tx
    await asyncio.to_thread(
        advance_wave, runner=runner, tenant_id=tenant_id, wave_id=wave.id, lifecycle=setup.lifecycle, now=utc_now()
    )
    doc = {"id": wave.id, "location_id": location_id, "count": wave.count, "released_at": wave.released_at}
    return _json({"wave": {**doc, "fulfilment_order_ids": list(wave.fulfilment_order_ids)}}, 201)


@router.get("/v1/locations/{location_id}/fulfilment-orders", summary="A location's fulfilment orders (pull API)")
def list_location_fos(
    request: Request,
    tenant_id: Tenant,
    location_id: str,
    status: Annotated[str | None, Query(max_length=24, examples=["released"])] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """What the WMS or store app should work on, by id, ``limit`` at a time."""
    fos = _read(request, lambda s: s.at_location(tenant_id, location_id, status, limit + 1, cursor))
    more = len(fos) > limit
    fos = fos[:limit]
    return _json({"items": [fo.as_dict() for fo in fos], "next_cursor": fos[-1].id if more and fos else None})


@router.get("/v1/fulfilment-orders/{fo_id}", summary="One fulfilment order")
def get_fo(request: Request, tenant_id: Tenant, fo_id: str) -> Response:
    """Lines with picked/packed/shipped/cancelled units, status, wave."""
    return _json(_read(request, lambda s: s.get(tenant_id, fo_id).as_dict()))


@router.get("/v1/orders/{order_id}/fulfilment-orders", summary="An order's fulfilment orders")
def get_order_fos(request: Request, tenant_id: Tenant, order_id: str) -> Response:
    """Every fulfilment order of the order, oldest first."""
    return _json({"items": [fo.as_dict() for fo in _read(request, lambda s: s.of_order(tenant_id, order_id))]})


@router.post("/v1/fulfilment-orders/{fo_id}/accept", summary="The location accepts a fulfilment order")
async def post_accept(request: Request, tenant_id: Tenant, fo_id: str) -> Response:
    """released → accepted."""
    machine = _setup(request).machine
    fo = await _write(
        request,
        lambda uow: accept_fulfilment_order(uow=uow, tenant_id=tenant_id, fo_id=fo_id, machine=machine, now=utc_now()),
    )
    return _json(fo.as_dict())


@router.post("/v1/fulfilment-orders/{fo_id}/reject", summary="The location refuses a fulfilment order")
async def post_reject(request: Request, tenant_id: Tenant, fo_id: str, body: Annotated[RejectBody, Body()]) -> Response:
    """Give its stock back, write off the missing units there, re-route just its lines to other locations."""
    setup = _setup(request)
    missing = _units(body.missing) or {}
    fn = partial(
        reject_fulfilment_order,
        tenant_id=tenant_id,
        fo_id=fo_id,
        missing=missing,
        reason=body.reason,
        setup=setup,
        now=utc_now(),
    )
    return _json(await _write(request, lambda uow: fn(uow=uow)))


@router.post("/v1/fulfilment-orders/{fo_id}/events", summary="Confirm units picked, packed or shipped")
async def post_event(request: Request, tenant_id: Tenant, fo_id: str, body: Annotated[EventBody, Body()]) -> Response:
    """Idempotent by ``event_id``: shipped units create shipments and consume their reservations once.
    ``cancel_confirmed`` / ``cancel_refused`` answer a cancellation request."""
    setup = _setup(request)
    if body.type in ("cancel_confirmed", "cancel_refused"):
        confirmed = body.type == "cancel_confirmed"
        result = await _write(
            request,
            lambda uow: answer_cancellation(
                uow=uow, tenant_id=tenant_id, fo_id=fo_id, confirmed=confirmed, setup=setup, now=utc_now()
            ),
        )
        return _json(result)
    c = _confirmation(body)
    fn = partial(confirm_fulfilment, tenant_id=tenant_id, fo_id=fo_id, confirmation=c, setup=setup, now=utc_now())
    result = await _write(request, lambda uow: fn(uow=uow))  # type: ignore[arg-type]
    return _json(result)


@router.post("/v1/fulfilment-events", summary="Apply a batch of confirmations (up to 1,000) in one transaction")
async def post_events(request: Request, tenant_id: Tenant, body: Annotated[BatchBody, Body()]) -> Response:
    """Each confirmation answers in order with its result, or a problem document when it was refused (a refused one
    writes nothing; the others still apply). Same idempotency by ``event_id`` as the single endpoint."""
    setup = _setup(request)
    items = [(e.fulfilment_order_id, _confirmation(e)) for e in body.events]
    fn = partial(confirm_batch, tenant_id=tenant_id, items=items, setup=setup, now=utc_now())
    results = await _write(request, lambda uow: fn(uow=uow))  # type: ignore[arg-type]
    docs = [r if isinstance(r, dict) else {"problem": problem_document(r)} for r in results]
    return _json({"results": docs, "refused": sum(1 for r in results if not isinstance(r, dict))})


@router.post("/v1/fulfilment-orders/{fo_id}/pickup", summary="Hand a store pickup over by its code")
async def post_pickup(request: Request, tenant_id: Tenant, fo_id: str, body: Annotated[PickupBody, Body()]) -> Response:
    """The code matches: the units leave the store and the order is collected."""
    setup = _setup(request)
    fn = partial(
        collect_pickup, tenant_id=tenant_id, fo_id=fo_id, code=body.code, paid=body.paid, setup=setup, now=utc_now()
    )
    return _json(await _write(request, lambda uow: fn(uow=uow)))


@router.post("/v1/orders/{order_id}/fulfilment-cancellation", summary="Cancel an order's units (all or some lines)")
async def post_cancel(
    request: Request, tenant_id: Tenant, order_id: str, body: Annotated[CancelBody | None, Body()] = None
) -> Response:
    """Open fulfilment orders are cancelled at once; released ones get a request the location answers; shipped
    units are refused (409: request a return)."""
    setup = _setup(request)
    body = body or CancelBody()
    fn = partial(
        cancel_order_fulfilment,
        tenant_id=tenant_id,
        order_id=order_id,
        lines=_units(body.lines),
        reason=body.reason,
        setup=setup,
        now=utc_now(),
    )
    return _json(await _write(request, lambda uow: fn(uow=uow)))


@router.get("/v1/waves/{wave_id}", summary="A wave")
def get_wave(request: Request, tenant_id: Tenant, wave_id: str) -> Response:
    """Location, release time and fulfilment order ids."""
    wave = _read(request, lambda s: s.get_wave(tenant_id, wave_id))
    return _json(
        {
            "id": wave.id,
            "location_id": wave.location_id,
            "released_at": wave.released_at,
            "count": wave.count,
            "fulfilment_order_ids": list(wave.fulfilment_order_ids),
        }
    )


@router.get("/v1/waves/{wave_id}/pick-list", summary="A wave's pick list as CSV or NDJSON")
def get_pick_list(
    request: Request,
    tenant_id: Tenant,
    wave_id: str,
    format: Annotated[Literal["csv", "ndjson"], Query()] = "csv",
) -> Response:
    """One row per fulfilment-order line still to pick, for warehouses that work from files."""
    rows = _read(request, lambda s: pick_list(store=s, tenant_id=tenant_id, wave_id=wave_id))
    body, media_type = render_pick_list(rows, format)
    headers = {"Content-Disposition": f'attachment; filename="{wave_id}.{format}"'}
    return Response(body, media_type=media_type, headers=headers)
