"""Ports of fulfilment execution: the fulfilment-order store, how releases reach a location, and carrier booking."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from orderloom.domain.fulfilment import FulfilmentOrder

__all__ = [
    "RELEASE_MODES",
    "CarrierBooking",
    "FulfilmentRepository",
    "Label",
    "LocationFulfilment",
    "Rate",
    "ReleaseChannel",
    "Shipment",
    "StoredConfirmation",
    "Wave",
]

RELEASE_MODES = ("pull", "webhook", "file")


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationFulfilment:
    """How a location receives work: release mode (pull API, signed webhook to its WMS, pick-list files), wave size
    and horizon, and how long store pickups wait."""

    tenant_id: str
    location_id: str
    release_mode: str = "pull"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    max_batch: int = 500
    horizon_hours: int | None = None  # release only FOs whose ship-by falls within this many hours (None: all)
    pickup_days: int = 3

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the secret is never shown)."""
        return {
            "location_id": self.location_id,
            "release_mode": self.release_mode,
            "webhook_url": self.webhook_url,
            "max_batch": self.max_batch,
            "horizon_hours": self.horizon_hours,
            "pickup_days": self.pickup_days,
        }


@dataclass(frozen=True, slots=True)
class Wave:
    """Fulfilment orders released to one location together."""

    id: str
    tenant_id: str
    location_id: str
    released_at: datetime
    count: int
    fulfilment_order_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredConfirmation:
    """A confirmation already applied: its digest (to tell a replay from a reuse) and the answer it got."""

    fo_id: str
    digest: str
    result: dict[str, Any]


class FulfilmentRepository(Protocol):
    """Fulfilment orders, waves, location settings and applied confirmations, in the caller's transaction."""

    def add_many(self, fos: Sequence[FulfilmentOrder]) -> None:
        """Insert new fulfilment orders."""

    def get(self, tenant_id: str, fo_id: str) -> FulfilmentOrder:
        """One FO (locked for update where the store can); FulfilmentNotFound otherwise."""

    def get_many(self, tenant_id: str, fo_ids: Sequence[str]) -> list[FulfilmentOrder]:
        """These FOs (missing ids are skipped)."""

    def save_many(self, fos: Sequence[FulfilmentOrder]) -> None:
        """Write changed FOs (their version is bumped; ConcurrencyConflict if one changed meanwhile)."""

    def of_order(self, tenant_id: str, order_id: str) -> list[FulfilmentOrder]:
        """Every FO of an order, oldest first."""

    def of_orders(self, tenant_id: str, order_ids: Sequence[str]) -> list[FulfilmentOrder]:
        """Every FO of these orders."""

    def open_at(self, tenant_id: str, location_id: str) -> list[tuple[str, datetime | None]]:
        """(id, ship-by) of the location's open FOs."""

    def at_location(
        self, tenant_id: str, location_id: str, status: str | None, limit: int, after: str | None
    ) -> list[FulfilmentOrder]:
        """A location's FOs (of one status) by id, after a cursor."""

    def pickups_due(self, now: datetime, limit: int, tenant_id: str | None = None) -> list[FulfilmentOrder]:
        """FOs waiting for pickup whose time ran out (of one tenant, or all)."""

    def undispatched(self, limit: int) -> list[FulfilmentOrder]:
        """Released FOs of webhook-mode locations not yet delivered to the WMS."""

    def mark_dispatched(self, tenant_id: str, fo_id: str, at: datetime | None, error: str | None) -> None:
        """Record a webhook dispatch attempt (``at`` set when it was delivered)."""

    def add_wave(self, wave: Wave) -> None:
        """Insert a wave."""

    def get_wave(self, tenant_id: str, wave_id: str) -> Wave:
        """A wave with its FO ids; WaveNotFound otherwise."""

    def settings(self, tenant_id: str, location_id: str) -> LocationFulfilment:
        """A location's fulfilment settings (defaults when never set)."""

    def put_settings(self, settings: LocationFulfilment) -> None:
        """Create or replace a location's fulfilment settings."""

    def confirmations(self, tenant_id: str, event_ids: Sequence[str]) -> dict[str, StoredConfirmation]:
        """Confirmations already applied under these event ids, by event id."""

    def add_confirmations(
        self, tenant_id: str, applied: Sequence[tuple[str, StoredConfirmation]], at: datetime
    ) -> None:
        """Remember applied confirmations (event id, what it was and the answer it got)."""


class ReleaseChannel(Protocol):
    """Delivers a released FO to a webhook-mode location's WMS (a signed CloudEvent)."""

    def send(self, *, url: str, secret: str, event: dict[str, Any]) -> int:
        """POST the event signed with the location's secret; the HTTP status (raises on a transport error)."""


@dataclass(frozen=True, slots=True)
class Shipment:
    """What a carrier is asked to carry (EasyPost/Shippo ``shipment``: from, to, parcel)."""

    from_country: str | None
    to_country: str | None
    to_postal_code: str | None
    weight_kg: float
    dimensions_cm: tuple[float, float, float] | None = None


@dataclass(frozen=True, slots=True)
class Rate:
    """A carrier's price for a service (EasyPost/Shippo ``rate``)."""

    id: str
    carrier: str
    service: str
    amount: Decimal
    currency: str
    delivery_days: int | None


@dataclass(frozen=True, slots=True)
class Label:
    """A bought label (EasyPost ``postage_label`` / Shippo ``transaction``)."""

    id: str
    rate_id: str
    carrier: str
    service: str
    tracking_number: str
    label_url: str
    status: str = "purchased"  # purchased | voided


class CarrierBooking(Protocol):
    """Multi-carrier booking, shaped after EasyPost/Shippo/karrio: quote rates, buy a label, void a label."""

    def rates(self, shipment: Shipment) -> list[Rate]:
        """Every service's rate for the shipment, cheapest first."""

    def buy(self, rate_id: str) -> Label:
        """Buy the label of a quoted rate (LookupError for an unknown or expired rate)."""

    def void(self, label_id: str) -> Label:
        """Cancel (void / refund) a label not yet used (LookupError if unknown)."""
