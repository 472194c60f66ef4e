"""Simple sourcing: which single active location can ship a whole order, nearest first (and, for orders whose split
policy allows it, the nearest location for each line).

Distance is the great-circle (haversine) distance from the ship-to coordinates; without coordinates locations in the
ship-to country come first, then the rest, each by location id.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orderloom.domain.inventory import Capability, Location

__all__ = ["EARTH_RADIUS_KM", "Demand", "ShipTo", "haversine_km", "rank_single_locations", "split_lines"]

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True, slots=True)
class Demand:
    """One order line's need: its line number, SKU and quantity."""

    line_no: int
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ShipTo:
    """Where an order goes, as far as sourcing cares."""

    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _sort_key(loc: Location, ship_to: ShipTo) -> tuple[float, int, str]:
    if (
        ship_to.latitude is not None
        and ship_to.longitude is not None
        and loc.latitude is not None
        and loc.longitude is not None
    ):
        return (haversine_km(ship_to.latitude, ship_to.longitude, loc.latitude, loc.longitude), 0, loc.id)
    same_country = ship_to.country is not None and loc.country == ship_to.country
    return (math.inf, 0 if same_country else 1, loc.id)


def rank_single_locations(
    demand: Sequence[Demand],
    ship_to: ShipTo,
    locations: Sequence[Location],
    available: Mapping[tuple[str, str], int],
) -> list[str]:
    """Ids of active shipping locations whose availability covers every line, best first."""
    need: dict[str, int] = {}
    for d in demand:
        need[d.sku] = need.get(d.sku, 0) + d.quantity
    fits = [
        loc
        for loc in locations
        if loc.active
        and Capability.SHIP in loc.capabilities
        and all(available.get((sku, loc.id), 0) >= q for sku, q in need.items())
    ]
    return [loc.id for loc in sorted(fits, key=lambda loc: _sort_key(loc, ship_to))]


def split_lines(
    demand: Sequence[Demand],
    ship_to: ShipTo,
    locations: Sequence[Location],
    available: Mapping[tuple[str, str], int],
) -> dict[int, str]:
    """Each line (whole, never divided) at the nearest active shipping location that still has it; unplaced lines
    are left out. Later lines see what earlier lines took."""
    left = dict(available)
    ranked = sorted(
        (loc for loc in locations if loc.active and Capability.SHIP in loc.capabilities),
        key=lambda loc: _sort_key(loc, ship_to),
    )
    placed: dict[int, str] = {}
    for d in sorted(demand, key=lambda d: d.line_no):
        for loc in ranked:
            if left.get((d.sku, loc.id), 0) >= d.quantity:
                left[(d.sku, loc.id)] -= d.quantity
                placed[d.line_no] = loc.id
                break
    return placed
