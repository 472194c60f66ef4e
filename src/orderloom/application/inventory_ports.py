"""Inventory ports: the stock store (one transaction's view, reached as ``uow.inventory``) and sourcing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from orderloom.domain.inventory import Balance, IncomingSupply, Location, Movement, Reservation, ReservationStatus
from orderloom.domain.sourcing import Demand, ShipTo

__all__ = ["Drift", "InventoryRepository", "Sourcing", "SourcingContext", "SourcingPlan"]


@dataclass(frozen=True, slots=True)
class Drift:
    """A balance figure that disagrees with the ledger (or with the active reservations)."""

    tenant_id: str
    sku: str
    location_id: str
    figure: str  # on_hand | reserved | reservations
    stored: int
    expected: int


class InventoryRepository(Protocol):
    """Locations, balances, the append-only movement ledger and reservations of one transaction."""

    def add_location(self, location: Location) -> None:
        """Insert a location; DuplicateLocation if the id is taken for the tenant."""

    def get_location(self, tenant_id: str, location_id: str) -> Location:
        """The location, or LocationNotFound (also for another tenant's)."""

    def list_locations(self, tenant_id: str) -> list[Location]:
        """Every location of the tenant by id."""

    def save_location(self, location: Location) -> None:
        """Write a changed location."""

    def get_balance(self, tenant_id: str, sku: str, location_id: str) -> Balance | None:
        """The balance row, if any."""

    def balances(self, tenant_id: str, skus: Sequence[str]) -> list[Balance]:
        """Balance rows of these SKUs at every location, by (sku, location)."""

    def record(self, movement: Movement) -> Balance:
        """Atomically check the movement's guard, apply it to the balance and append it to the ledger.

        Raises InsufficientStock naming the figures when the guard fails; nothing is written then.
        """

    def set_safety_stock(self, tenant_id: str, sku: str, location_id: str, safety_stock: int) -> Balance:
        """Set the safety stock of a SKU at a location (creating the balance row if needed)."""

    def movements(self, tenant_id: str, sku: str, *, after: int | None, limit: int) -> list[Movement]:
        """Ledger rows of a SKU in the order written, after the given row id."""

    def add_reservation(self, reservation: Reservation) -> None:
        """Insert a reservation row (its movement is recorded separately)."""

    def reservations_of(self, tenant_id: str, order_id: str, status: ReservationStatus | None) -> list[Reservation]:
        """An order's reservations (of one status, or all) by line then location."""

    def set_reservation_status(self, tenant_id: str, reservation_id: str, status: ReservationStatus) -> None:
        """Mark a reservation released or fulfilled."""

    def record_many(self, movements: Sequence[Movement]) -> list[Balance]:
        """``record`` for several movements of one kind (one guarded update per SKU and location, one ledger
        insert); returns the balance after each. InsufficientStock when a guard fails (the caller's transaction
        is then unusable for this work)."""

    def active_reservations_of(self, tenant_id: str, order_ids: Sequence[str]) -> dict[str, list[Reservation]]:
        """The active stock reservations of these orders, per order (locked on PostgreSQL), in one query."""

    def set_reservation_statuses(
        self, tenant_id: str, reservation_ids: Sequence[str], status: ReservationStatus
    ) -> None:
        """``set_reservation_status`` for many, in one statement."""

    def resize_reservation(
        self, tenant_id: str, reservation_id: str, quantity: int, expires_at: datetime | None = None
    ) -> None:
        """Change an active reservation's quantity (and expiry) when part of it is split off (no movement)."""

    def expired_reservations(self, now: datetime, limit: int) -> list[Reservation]:
        """Active reservations whose expiry has passed, oldest expiry first (every tenant)."""

    def claim_receipt(self, tenant_id: str, reference: str, summary: str) -> str | None:
        """Claim a receipt reference; returns the summary stored by an earlier claim (a replay), else None."""

    def reconcile(self, tenant_id: str | None) -> list[Drift]:
        """Balances recomputed from the ledger and active stock reservations; every disagreement found."""

    def promises_against(self, tenant_id: str, reference: str) -> list[Reservation]:
        """Active incoming (presale) reservations against a purchase order, by sku, location and id."""

    def add_incoming(self, supply: IncomingSupply) -> bool:
        """Record a purchase order line; False if that (reference, sku, location) is already recorded."""

    def incoming(self, tenant_id: str, skus: Sequence[str]) -> list[IncomingSupply]:
        """Open (not yet received) supply of these SKUs, earliest expected first."""

    def incoming_of(self, tenant_id: str, reference: str) -> list[IncomingSupply]:
        """Every line of a purchase order, by sku and location."""

    def promise_incoming(self, tenant_id: str, reference: str, sku: str, location_id: str, quantity: int) -> bool:
        """Atomically promise units of an open supply line if that many are still unpromised."""

    def unpromise_incoming(self, tenant_id: str, reference: str, sku: str, location_id: str, quantity: int) -> None:
        """Give promised units back to a supply line."""

    def mark_incoming_received(self, tenant_id: str, reference: str) -> None:
        """Close a purchase order's lines: its units are now stock."""

    def take_capacity(self, tenant_id: str, location_id: str, day: date, limit: int, order_id: str) -> bool:
        """Atomically count an order against a location's capacity for a day; False if the day is full."""

    def return_capacity(self, tenant_id: str, order_id: str) -> bool:
        """Give back the capacity an order took (if it holds any); True if something was returned."""

    def capacity_used(self, tenant_id: str, location_id: str, day: date) -> int:
        """Orders counted against a location for a day."""


@dataclass(frozen=True, slots=True)
class SourcingPlan:
    """Candidate locations for an order, best first; each could cover every line when the plan was made."""

    candidates: tuple[str, ...]
    split: tuple[tuple[int, str], ...] = ()  # (line number, location) when the order may be split and none fits alone
    prefer_split: bool = False  # the split is the better plan: try it before the single locations
    no_source: bool = False  # stock is there but no location may ship it (rules, cold chain, capacity, region)
    explanation: Mapping[str, Any] | None = None  # the router's record: candidates, costs, rules fired, summary


@dataclass(frozen=True, slots=True)
class SourcingContext:
    """What a cost-based router may use beyond stock: the order, the time, capacity left per location."""

    tenant_id: str
    order_id: str
    now: datetime
    split_policy: str = "never"  # never | allow | ship_complete
    capacity_left: Mapping[str, int] | None = None  # locations with a daily capacity: orders still possible today
    document: Mapping[str, Any] | None = None  # the order document (for routing rule sets)
    promised_by: date | None = None


class Sourcing(Protocol):
    """Chooses where an order's stock comes from (the routing issue replaces the simple rule behind this port)."""

    def plan(
        self,
        *,
        demand: Sequence[Demand],
        ship_to: ShipTo,
        locations: Sequence[Location],
        available: Mapping[tuple[str, str], int],
        allow_split: bool = False,
        context: SourcingContext | None = None,
    ) -> SourcingPlan:
        """Rank the locations able to ship the order (and, if it may be split, place each line)."""
