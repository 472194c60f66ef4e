"""/v1/locations: the stock network — warehouses, stores, bonded and overseas warehouses, drop-ship suppliers."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from orderloom.application.inventory import create_location, update_location
from orderloom.application.inventory_ports import InventoryRepository
from orderloom.application.ports import UnitOfWork
from orderloom.bootstrap import utc_now
from orderloom.domain.errors import FieldError, ValidationFailed
from orderloom.domain.inventory import Capability, Location, LocationType, capacity_day
from orderloom.entrypoints.api.auth import Tenant, container_of
from orderloom.entrypoints.api.schemas import encode

__all__ = ["NewLocation", "location_document", "router"]

router = APIRouter(prefix="/v1/locations", tags=["locations"])
JSON = "application/json"


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: LocationType | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2", examples=["CN"])
    region: str | None = Field(default=None, max_length=120)
    city: str | None = Field(default=None, max_length=120)
    postal_code: str | None = Field(default=None, max_length=32)
    line1: str | None = Field(default=None, max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    capabilities: list[Capability] | None = None
    daily_capacity: int | None = Field(default=None, ge=0, description="orders per day")
    cutoff_time: str | None = Field(default=None, description="local HH:MM", examples=["16:00"])
    time_zone: str | None = Field(default=None, description="IANA time zone", examples=["Asia/Shanghai"])
    active: bool | None = None


class NewLocation(_Fields):
    """A location to create."""

    id: str = Field(min_length=1, max_length=40, examples=["SH-WH1"])
    name: str = Field(min_length=1, max_length=120, examples=["Shanghai warehouse"])
    type: LocationType  # required on create (a missing type was a 500, found by Schemathesis)


class LocationChanges(_Fields):
    """Fields to change; ``"active": false`` takes the location offline."""

    name: str | None = Field(default=None, min_length=1, max_length=120)


def location_document(loc: Location) -> dict[str, Any]:
    """The JSON form of a location."""
    doc = asdict(loc)
    doc.pop("tenant_id")
    doc["type"] = str(loc.type)
    doc["capabilities"] = sorted(str(c) for c in loc.capabilities)
    return doc


_REQUIRED = ("name", "type", "capabilities", "time_zone", "active")


def _changes(model: _Fields) -> dict[str, Any]:
    changes = model.model_dump(exclude_unset=True)
    nulls = [k for k in _REQUIRED if k in changes and changes[k] is None]
    if nulls:
        raise ValidationFailed([FieldError(k, "must not be null") for k in nulls])
    if "capabilities" in changes and changes["capabilities"] is not None:
        changes["capabilities"] = frozenset(changes["capabilities"])
    return changes


def _create(uow: UnitOfWork, *, loc: Location) -> Location:
    return create_location(uow=uow, location=loc, now=utc_now())


def _update(uow: UnitOfWork, *, tenant_id: str, location_id: str, changes: dict[str, Any]) -> Location:
    return update_location(uow=uow, tenant_id=tenant_id, location_id=location_id, changes=changes, now=utc_now())


@router.get("", summary="List locations")
def list_locations(request: Request, tenant_id: Tenant) -> Response:
    """Every location of the tenant, by id."""
    locs = container_of(request).inventory_reads.read(lambda inv: inv.list_locations(tenant_id))
    return Response(encode({"items": [location_document(loc) for loc in locs]}), media_type=JSON)


@router.post("", status_code=201, summary="Create a location")
async def post_location(request: Request, tenant_id: Tenant, body: Annotated[NewLocation, Body()]) -> Response:
    """Add a stock location; 409 if the id is taken."""
    fields = {k: v for k, v in _changes(body).items() if v is not None}
    loc = Location(tenant_id=tenant_id, **fields)
    created = await container_of(request).inventory_writer.submit(partial(_create, loc=loc))
    return Response(
        encode(location_document(created)),
        status_code=201,
        media_type=JSON,
        headers={"Location": f"/v1/locations/{created.id}"},
    )


@router.get("/{location_id}", summary="One location")
def get_location(request: Request, tenant_id: Tenant, location_id: str) -> Response:
    """A location, or 404."""
    loc = container_of(request).inventory_reads.read(lambda inv: inv.get_location(tenant_id, location_id))
    return Response(encode(location_document(loc)), media_type=JSON)


@router.get("/{location_id}/capacity", summary="Orders counted against a location's daily capacity")
def get_capacity(
    request: Request,
    tenant_id: Tenant,
    location_id: str,
    day: Annotated[
        date | None, Query(description="local date; default: the day an order placed now counts for")
    ] = None,
) -> Response:
    """Capacity (orders/day), used and remaining for a local shipping day."""

    def read(inv: InventoryRepository) -> dict[str, Any]:
        loc = inv.get_location(tenant_id, location_id)
        when = day or capacity_day(loc, utc_now())
        used = inv.capacity_used(tenant_id, location_id, when)
        remaining = None if loc.daily_capacity is None else max(loc.daily_capacity - used, 0)
        return {
            "location_id": location_id,
            "day": when.isoformat(),
            "capacity": loc.daily_capacity,
            "used": used,
            "remaining": remaining,
        }

    return Response(encode(container_of(request).inventory_reads.read(read)), media_type=JSON)


@router.patch("/{location_id}", summary="Change a location (or take it offline)")
async def patch_location(
    request: Request, tenant_id: Tenant, location_id: str, body: Annotated[LocationChanges, Body()]
) -> Response:
    """Change fields; ``active: false`` records LocationWentOffline and removes the location from ATP and sourcing."""
    changes = _changes(body)
    loc = await container_of(request).inventory_writer.submit(
        partial(_update, tenant_id=tenant_id, location_id=location_id, changes=changes)
    )
    return Response(encode(location_document(loc)), media_type=JSON)
