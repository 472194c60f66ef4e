"""/v1/shipments and /v1/orders/{id}/shipments: register shipments and read them with their carrier scans."""

from __future__ import annotations

import asyncio
from datetime import UTC, date
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from orderloom.adapters.persistence.shipments import SqlShipmentRepository
from orderloom.adapters.persistence.uow import SqlUnitOfWork
from orderloom.application.shipment_delay import delay_view
from orderloom.application.shipments import create_shipment, record_telemetry, shipment_document
from orderloom.application.tracking import TrackingSetup
from orderloom.bootstrap import Container, utc_now
from orderloom.domain.shipments import Shipment, ShipmentNotFound, TrackingNumberTaken
from orderloom.domain.telemetry import Reading
from orderloom.entrypoints.api.auth import Tenant, container_of
from orderloom.entrypoints.api.problems import Problem

__all__ = ["NewShipment", "Point", "TelemetryBatch", "TelemetryReading", "router", "tracking_of"]

router = APIRouter(tags=["shipments"])


class Point(BaseModel):
    """A WGS84 position."""

    model_config = ConfigDict(extra="forbid")

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class NewShipment(BaseModel):
    """A shipment to register for an order."""

    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=40)
    carrier: str = Field(min_length=1, max_length=40, examples=["dhl_express"])
    tracking_numbers: list[str] = Field(min_length=1, max_length=50, examples=[["3180831640"]])
    service: str | None = Field(default=None, max_length=120)
    origin_location_id: str | None = Field(default=None, max_length=64)
    promised_date: date | None = None
    shipped_at: AwareDatetime | None = Field(
        default=None, description="when the parcel left; scans more than a week earlier are flagged"
    )
    destination: Point | None = Field(default=None, description="delivery address position, for the geofence")
    arrival_radius_m: float | None = Field(default=None, gt=0, le=100_000, description="'arriving soon' radius")


class TelemetryReading(BaseModel):
    """One sample: a time and a temperature and/or a position."""

    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime
    temperature_c: float | None = Field(default=None, ge=-100, le=100)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class TelemetryBatch(BaseModel):
    """Readings from a data logger or GPS tracker."""

    model_config = ConfigDict(extra="forbid")

    readings: list[TelemetryReading] = Field(min_length=1, max_length=5000)


def tracking_of(container: Container) -> TrackingSetup:
    """The container's tracking setup (always built by bootstrap)."""
    if container.tracking is None:
        raise Problem(503, "tracking-unavailable", "tracking is not configured in this container")
    return container.tracking


@router.post("/v1/shipments", status_code=201, summary="Register a shipment for an order")
async def post_shipment(request: Request, tenant_id: Tenant, body: NewShipment) -> dict[str, Any]:
    """201 with the shipment; 404 for an unknown order, 422 for an unknown carrier, 409 for a taken number."""
    container = container_of(request)
    known = tracking_of(container).parsers.names()
    if body.carrier not in known:
        raise Problem(
            422,
            "unknown-carrier",
            f"unknown carrier {body.carrier!r}",
            errors=[{"field": "carrier", "message": f"one of {', '.join(known)}"}],
        )
    numbers = [n.strip() for n in body.tracking_numbers]
    if any(not n or len(n) > 80 for n in numbers):
        raise Problem(
            422,
            "validation-error",
            "tracking numbers must be 1-80 characters",
            errors=[{"field": "tracking_numbers", "message": "1-80 characters each"}],
        )
    fn = partial(
        create_shipment,
        tenant_id=tenant_id,
        order_id=body.order_id,
        carrier=body.carrier,
        tracking_numbers=numbers,
        now=utc_now(),
        service=body.service,
        origin_location_id=body.origin_location_id,
        promised_date=body.promised_date,
        shipped_at=body.shipped_at.astimezone(UTC) if body.shipped_at else None,
        destination=(body.destination.latitude, body.destination.longitude) if body.destination else None,
        arrival_radius_m=body.arrival_radius_m,
        delay=container.delay_model,
    )
    try:
        shipment = await container.writer.submit(lambda uow: fn(uow=uow))  # type: ignore[arg-type]
    except TrackingNumberTaken as exc:
        raise Problem(
            409, "tracking-number-taken", str(exc), carrier=exc.carrier, tracking_number=exc.tracking_number
        ) from None
    return await asyncio.to_thread(_created_document, container, shipment)


def _created_document(container: Container, shipment: Shipment) -> dict[str, Any]:
    with _read(container) as conn:
        return _with_delay(container, conn, shipment, shipment_document(shipment, lifecycle=container.lifecycle))


@router.post("/v1/shipments/{shipment_id}/telemetry", summary="Cold-chain and GPS telemetry for a shipment")
async def post_telemetry(request: Request, tenant_id: Tenant, shipment_id: str, body: TelemetryBatch) -> dict[str, Any]:
    """Readings in any order: > 8 °C for > 120 s continuous raises ``orderloom.shipment.cold_chain_breached``; a
    position within the radius of the delivery address raises ``orderloom.shipment.arriving_soon`` (each once)."""
    container = container_of(request)
    readings = [Reading(r.at.astimezone(UTC), r.temperature_c, r.latitude, r.longitude) for r in body.readings]
    if any((r.latitude is None) != (r.longitude is None) for r in readings):
        raise Problem(
            422,
            "validation-error",
            "latitude and longitude come together",
            errors=[{"field": "readings", "message": "latitude and longitude come together"}],
        )
    fn = partial(record_telemetry, tenant_id=tenant_id, shipment_id=shipment_id, readings=readings, now=utc_now())
    try:
        result: dict[str, Any] = await container.writer.submit(lambda uow: fn(uow=uow))  # type: ignore[arg-type]
    except ShipmentNotFound as exc:
        raise Problem(404, "not-found", str(exc)) from None
    return result


def _read(container: Container) -> Any:
    return container.engines.read.connect()


def _with_delay(container: Container, conn: Any, shipment: Shipment, doc: dict[str, Any]) -> dict[str, Any]:
    """The document with its ``delay_risk``: the model's risk now and the delay prediction raised, if any."""
    view = delay_view(uow=SqlUnitOfWork(conn), predictor=container.delay_model, shipment=shipment, now=utc_now())
    return {**doc, "delay_risk": view}


@router.get("/v1/shipments/{shipment_id}", summary="One shipment with its carrier scans")
def get_shipment(request: Request, tenant_id: Tenant, shipment_id: str) -> dict[str, Any]:
    """The shipment, its semantic status and every stored scan (newest first, with mapping and flags)."""
    container = container_of(request)
    with _read(container) as conn:
        repo = SqlShipmentRepository(conn)
        try:
            shipment = repo.get(tenant_id, shipment_id)
        except ShipmentNotFound as exc:
            raise Problem(404, "not-found", str(exc)) from None
        doc = shipment_document(shipment, repo.scans(tenant_id, shipment_id), lifecycle=container.lifecycle)
        return _with_delay(container, conn, shipment, doc)


@router.get("/v1/orders/{order_id}/shipments", summary="The shipments of an order")
def order_shipments(request: Request, tenant_id: Tenant, order_id: str) -> dict[str, Any]:
    """Every shipment of the order with its status (404 if the order does not exist)."""
    container = container_of(request)
    container.queries.get_document(tenant_id, order_id)  # OrderNotFound → 404
    with _read(container) as conn:
        repo = SqlShipmentRepository(conn)
        items = repo.for_order(tenant_id, order_id)
        return {"items": [shipment_document(s, lifecycle=container.lifecycle) for s in items]}
