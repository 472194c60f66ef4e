"""The in-memory twin of the inventory store (part of ``MemoryStore``); passes the same contract tests as SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from orderloom.adapters.persistence.inventory_store import compare_figures
from orderloom.application.inventory_ports import Drift
from orderloom.domain.inventory import (
    Balance,
    DuplicateLocation,
    IncomingSupply,
    Location,
    LocationNotFound,
    Movement,
    Reservation,
    ReservationStatus,
)

__all__ = ["InventoryState", "MemoryInventory"]


@dataclass
class InventoryState:
    """Committed inventory data."""

    locations: dict[tuple[str, str], Location] = field(default_factory=dict)
    balances: dict[tuple[str, str, str], Balance] = field(default_factory=dict)
    ledger: list[Movement] = field(default_factory=list)
    reservations: dict[str, Reservation] = field(default_factory=dict)
    receipts: dict[tuple[str, str], str] = field(default_factory=dict)
    incoming: dict[tuple[str, str, str, str], IncomingSupply] = field(default_factory=dict)
    capacity: dict[tuple[str, str, str], int] = field(default_factory=dict)
    claims: dict[tuple[str, str, str], tuple[str, bool]] = field(default_factory=dict)  # -> (day, active)


class MemoryInventory:
    """The inventory port over an InventoryState."""

    def __init__(self, state: InventoryState) -> None:
        self.s = state

    def add_location(self, location: Location) -> None:
        key = (location.tenant_id, location.id)
        if key in self.s.locations:
            raise DuplicateLocation(location.id)
        self.s.locations[key] = location

    def get_location(self, tenant_id: str, location_id: str) -> Location:
        loc = self.s.locations.get((tenant_id, location_id))
        if loc is None:
            raise LocationNotFound(location_id)
        return loc

    def list_locations(self, tenant_id: str) -> list[Location]:
        return sorted((v for (t, _), v in self.s.locations.items() if t == tenant_id), key=lambda loc: loc.id)

    def save_location(self, location: Location) -> None:
        self.s.locations[(location.tenant_id, location.id)] = location

    def get_balance(self, tenant_id: str, sku: str, location_id: str) -> Balance | None:
        return self.s.balances.get((tenant_id, sku, location_id))

    def balances(self, tenant_id: str, skus: Sequence[str]) -> list[Balance]:
        wanted = set(skus)
        found = [b for (t, sku, _), b in self.s.balances.items() if t == tenant_id and sku in wanted]
        return sorted(found, key=lambda b: (b.sku, b.location_id))

    def record(self, movement: Movement) -> Balance:
        key = (movement.tenant_id, movement.sku, movement.location_id)
        current = self.s.balances.get(key) or Balance(movement.sku, movement.location_id)
        after = current.apply(movement.kind, movement.quantity)  # InsufficientStock names the figures
        self.s.balances[key] = after
        self.s.ledger.append(replace(movement, id=len(self.s.ledger) + 1))
        return after

    def set_safety_stock(self, tenant_id: str, sku: str, location_id: str, safety_stock: int) -> Balance:
        key = (tenant_id, sku, location_id)
        after = replace(self.s.balances.get(key) or Balance(sku, location_id), safety_stock=safety_stock)
        self.s.balances[key] = after
        return after

    def movements(self, tenant_id: str, sku: str, *, after: int | None, limit: int) -> list[Movement]:
        rows = [
            m
            for m in self.s.ledger
            if m.tenant_id == tenant_id and m.sku == sku and (after is None or (m.id or 0) > after)
        ]
        return rows[:limit]

    def add_reservation(self, reservation: Reservation) -> None:
        self.s.reservations[reservation.id] = reservation

    def reservations_of(self, tenant_id: str, order_id: str, status: ReservationStatus | None) -> list[Reservation]:
        found = [
            r
            for r in self.s.reservations.values()
            if r.tenant_id == tenant_id and r.order_id == order_id and (status is None or r.status == status)
        ]
        return sorted(found, key=lambda r: (r.line_no, r.location_id, r.id))

    def set_reservation_status(self, tenant_id: str, reservation_id: str, status: ReservationStatus) -> None:
        r = self.s.reservations.get(reservation_id)
        if r is not None and r.tenant_id == tenant_id:
            self.s.reservations[reservation_id] = replace(r, status=status)

    def record_many(self, movements: Sequence[Movement]) -> list[Balance]:
        return [self.record(m) for m in movements]

    def active_reservations_of(self, tenant_id: str, order_ids: Sequence[str]) -> dict[str, list[Reservation]]:
        wanted = set(order_ids)
        found: dict[str, list[Reservation]] = {}
        for r in sorted(self.s.reservations.values(), key=lambda r: (r.order_id, r.line_no, r.location_id, r.id)):
            active = r.status == ReservationStatus.ACTIVE and r.kind == "stock"
            if active and r.tenant_id == tenant_id and r.order_id in wanted:
                found.setdefault(r.order_id, []).append(r)
        return found

    def set_reservation_statuses(
        self, tenant_id: str, reservation_ids: Sequence[str], status: ReservationStatus
    ) -> None:
        for rid in reservation_ids:
            self.set_reservation_status(tenant_id, rid, status)

    def resize_reservation(
        self, tenant_id: str, reservation_id: str, quantity: int, expires_at: datetime | None = None
    ) -> None:
        r = self.s.reservations.get(reservation_id)
        if r is not None and r.tenant_id == tenant_id:
            self.s.reservations[reservation_id] = replace(r, quantity=quantity, expires_at=expires_at or r.expires_at)

    def expired_reservations(self, now: datetime, limit: int) -> list[Reservation]:
        found = [
            r
            for r in self.s.reservations.values()
            if r.status == ReservationStatus.ACTIVE and r.expires_at is not None and r.expires_at <= now
        ]
        return sorted(found, key=lambda r: (r.expires_at or now, r.id))[:limit]

    def claim_receipt(self, tenant_id: str, reference: str, summary: str) -> str | None:
        earlier = self.s.receipts.get((tenant_id, reference))
        if earlier is None:
            self.s.receipts[(tenant_id, reference)] = summary
        return earlier

    def reconcile(self, tenant_id: str | None) -> list[Drift]:
        def mine(t: str) -> bool:
            return tenant_id is None or t == tenant_id

        stored = {k: (b.on_hand, b.reserved) for k, b in self.s.balances.items() if mine(k[0])}
        ledger: dict[tuple[str, str, str], tuple[int, int]] = {}
        for m in self.s.ledger:
            if mine(m.tenant_id):
                key = (m.tenant_id, m.sku, m.location_id)
                on_hand, reserved = ledger.get(key, (0, 0))
                ledger[key] = (on_hand + m.rule.on_hand, reserved + m.rule.reserved)
        held: dict[tuple[str, str, str], int] = {}
        for r in self.s.reservations.values():
            if r.status == ReservationStatus.ACTIVE and r.kind == "stock" and mine(r.tenant_id):
                key = (r.tenant_id, r.sku, r.location_id)
                held[key] = held.get(key, 0) + r.quantity
        return compare_figures(stored, ledger, held)

    def promises_against(self, tenant_id: str, reference: str) -> list[Reservation]:
        found = [
            r
            for r in self.s.reservations.values()
            if r.tenant_id == tenant_id
            and r.source_ref == reference
            and r.kind == "incoming"
            and r.status == ReservationStatus.ACTIVE
        ]
        return sorted(found, key=lambda r: (r.sku, r.location_id, r.id))

    def add_incoming(self, supply: IncomingSupply) -> bool:
        key = (supply.tenant_id, supply.reference, supply.sku, supply.location_id)
        if key in self.s.incoming:
            return False
        self.s.incoming[key] = replace(supply, promised=0, received=False)
        return True

    def incoming(self, tenant_id: str, skus: Sequence[str]) -> list[IncomingSupply]:
        wanted = set(skus)
        found = [
            v for (t, _, sku, _), v in self.s.incoming.items() if t == tenant_id and sku in wanted and not v.received
        ]
        return sorted(found, key=lambda v: (v.expected_at, v.reference, v.sku, v.location_id))

    def incoming_of(self, tenant_id: str, reference: str) -> list[IncomingSupply]:
        found = [v for (t, ref, _, _), v in self.s.incoming.items() if t == tenant_id and ref == reference]
        return sorted(found, key=lambda v: (v.sku, v.location_id))

    def promise_incoming(self, tenant_id: str, reference: str, sku: str, location_id: str, quantity: int) -> bool:
        key = (tenant_id, reference, sku, location_id)
        line = self.s.incoming.get(key)
        if line is None or line.promisable < quantity:
            return False
        self.s.incoming[key] = replace(line, promised=line.promised + quantity)
        return True

    def unpromise_incoming(self, tenant_id: str, reference: str, sku: str, location_id: str, quantity: int) -> None:
        key = (tenant_id, reference, sku, location_id)
        line = self.s.incoming.get(key)
        if line is not None and line.promised >= quantity:
            self.s.incoming[key] = replace(line, promised=line.promised - quantity)

    def mark_incoming_received(self, tenant_id: str, reference: str) -> None:
        for key, line in list(self.s.incoming.items()):
            if key[0] == tenant_id and key[1] == reference:
                self.s.incoming[key] = replace(line, received=True, promised=0)

    def take_capacity(self, tenant_id: str, location_id: str, day: date, limit: int, order_id: str) -> bool:
        key = (tenant_id, location_id, day.isoformat())
        if self.s.capacity.get(key, 0) >= limit:
            return False
        self.s.capacity[key] = self.s.capacity.get(key, 0) + 1
        self.s.claims[(tenant_id, order_id, location_id)] = (day.isoformat(), True)
        return True

    def return_capacity(self, tenant_id: str, order_id: str) -> bool:
        returned = False
        for (t, o, location_id), (day, active) in sorted(self.s.claims.items()):
            if t == tenant_id and o == order_id and active:
                key = (tenant_id, location_id, day)
                self.s.capacity[key] = max(self.s.capacity.get(key, 0) - 1, 0)
                self.s.claims[(t, o, location_id)] = (day, False)
                returned = True
        return returned

    def capacity_used(self, tenant_id: str, location_id: str, day: date) -> int:
        return self.s.capacity.get((tenant_id, location_id, day.isoformat()), 0)
