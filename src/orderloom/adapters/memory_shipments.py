"""In-memory twin of the shipment repository (passes the same contract tests as the SQL one)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderloom.application.tracking_ports import UnmappedCode
from orderloom.domain.errors import ConcurrencyConflict
from orderloom.domain.events import Event
from orderloom.domain.shipments import RecordedScan, Shipment, ShipmentNotFound, TrackingNumberTaken
from orderloom.domain.telemetry import Reading, TelemetryState

__all__ = ["MemoryShipments", "ShipmentTables"]

DELAY_PREDICTED = "orderloom.shipment.delay_predicted"


@dataclass
class ShipmentTables:
    """The committed shipment state (part of MemoryStore)."""

    shipments: dict[tuple[str, str], Shipment] = field(default_factory=dict)
    numbers: dict[tuple[str, str, str], str] = field(default_factory=dict)
    scans: dict[tuple[str, str], list[RecordedScan]] = field(default_factory=dict)
    keys: set[tuple[str, str, str, datetime, str]] = field(default_factory=set)
    unmapped: dict[tuple[str, str, str], UnmappedCode] = field(default_factory=dict)
    telemetry: dict[tuple[str, str], TelemetryState] = field(default_factory=dict)
    readings: list[tuple[str, str, Reading, bool]] = field(default_factory=list)


class MemoryShipments:
    """ShipmentRepository over ShipmentTables."""

    def __init__(self, tables: ShipmentTables, outbox: Callable[[], Sequence[Event]] = tuple) -> None:
        self.t = tables
        self._outbox = outbox

    def add(self, shipment: Shipment) -> None:
        for number in shipment.tracking_numbers:
            if (shipment.tenant_id, shipment.carrier, number) in self.t.numbers:
                raise TrackingNumberTaken(shipment.carrier, number)
        for number in shipment.tracking_numbers:
            self.t.numbers[(shipment.tenant_id, shipment.carrier, number)] = shipment.id
        self.t.shipments[(shipment.tenant_id, shipment.id)] = self._copy(shipment)

    def add_many(self, shipments: Sequence[Shipment]) -> None:
        for shipment in shipments:
            self.add(shipment)

    def taken(self, tenant_id: str, numbers: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        return {(c, n) for c, n in numbers if (tenant_id, c, n) in self.t.numbers}

    @staticmethod
    def _copy(shipment: Shipment) -> Shipment:
        clone = copy.copy(shipment)
        clone._events = []
        return clone

    def get(self, tenant_id: str, shipment_id: str) -> Shipment:
        found = self.t.shipments.get((tenant_id, shipment_id))
        if found is None:
            raise ShipmentNotFound(shipment_id)
        return self._copy(found)

    def save(self, shipment: Shipment) -> None:
        stored = self.t.shipments.get((shipment.tenant_id, shipment.id))
        if stored is None or stored.version != shipment.version - 1:
            raise ConcurrencyConflict(shipment.id)
        self.t.shipments[(shipment.tenant_id, shipment.id)] = self._copy(shipment)

    def for_order(self, tenant_id: str, order_id: str) -> list[Shipment]:
        found = [s for (t, _), s in self.t.shipments.items() if t == tenant_id and s.order_id == order_id]
        return [self._copy(s) for s in sorted(found, key=lambda s: (s.created_at, s.id))]

    def for_orders(self, tenant_id: str, order_ids: Sequence[str]) -> dict[str, list[Shipment]]:
        return {o: self.for_order(tenant_id, o) for o in dict.fromkeys(order_ids)}

    def find_by_number(self, tenant_id: str, carrier: str, tracking_number: str) -> Shipment | None:
        owner = self.t.numbers.get((tenant_id, carrier, tracking_number))
        return None if owner is None else self.get(tenant_id, owner)

    def find_by_numbers(self, tenant_id: str, carrier: str, numbers: Sequence[str]) -> dict[str, Shipment]:
        loaded: dict[str, Shipment] = {}
        out = {}
        for number in dict.fromkeys(numbers):
            owner = self.t.numbers.get((tenant_id, carrier, number))
            if owner is not None:
                out[number] = loaded.get(owner) or loaded.setdefault(owner, self.get(tenant_id, owner))
        return out

    def save_many(self, changed: Sequence[tuple[Shipment, int]]) -> None:
        for shipment, read_at in changed:
            stored = self.t.shipments.get((shipment.tenant_id, shipment.id))
            if stored is None or stored.version != read_at:
                raise ConcurrencyConflict(shipment.id)
        for shipment, _ in changed:
            self.t.shipments[(shipment.tenant_id, shipment.id)] = self._copy(shipment)

    def known_keys_for(
        self, tenant_id: str, carrier: str, wanted: Mapping[str, Sequence[datetime]]
    ) -> set[tuple[str, str, datetime, str]]:
        pairs = {(n, t) for n, times in wanted.items() for t in times}
        return {k[1:] for k in self.t.keys if k[0] == tenant_id and k[1] == carrier and (k[2], k[3]) in pairs}

    def scans(self, tenant_id: str, shipment_id: str) -> list[RecordedScan]:
        return sorted(self.t.scans.get((tenant_id, shipment_id), []), key=lambda s: s.event.occurred_at)

    def known_keys(
        self, tenant_id: str, carrier: str, tracking_number: str, times: Sequence[datetime]
    ) -> set[tuple[str, str, datetime, str]]:
        wanted = set(times)
        return {
            k[1:]
            for k in self.t.keys
            if k[0] == tenant_id and k[1] == carrier and k[2] == tracking_number and k[3] in wanted
        }

    def add_scans(self, tenant_id: str, shipment_id: str, scans: Sequence[RecordedScan], now: datetime) -> None:
        del now
        for scan in scans:
            key = (tenant_id, *scan.key)
            if key in self.t.keys:
                raise ConcurrencyConflict(shipment_id)  # the SQL unique key refuses it too
            self.t.keys.add(key)
            self.t.scans.setdefault((tenant_id, shipment_id), []).append(scan)

    def add_scans_many(self, tenant_id: str, scans: Sequence[tuple[str, RecordedScan]], now: datetime) -> None:
        for shipment_id, scan in scans:
            self.add_scans(tenant_id, shipment_id, [scan], now)

    def count_unmapped(self, tenant_id: str, carrier: str, scans: Sequence[RecordedScan], now: datetime) -> None:
        for scan in scans:
            if scan.event.mapping != "unmapped":
                continue
            key = (tenant_id, carrier, scan.event.code_key)
            old = self.t.unmapped.get(key)
            self.t.unmapped[key] = UnmappedCode(
                carrier=carrier,
                code_key=scan.event.code_key,
                raw_code=old.raw_code if old else scan.event.raw_code,
                sample_description=old.sample_description if old else scan.event.raw_description,
                count=(old.count if old else 0) + 1,
                first_seen=old.first_seen if old else now,
                last_seen=now,
            )

    def telemetry_state(self, tenant_id: str, shipment_id: str) -> TelemetryState:
        return self.t.telemetry.get((tenant_id, shipment_id), TelemetryState())

    def save_telemetry(
        self,
        tenant_id: str,
        shipment_id: str,
        state: TelemetryState,
        readings: Sequence[tuple[Reading, bool]],
        now: datetime,
    ) -> None:
        del now
        self.t.readings.extend((tenant_id, shipment_id, r, ignored) for r, ignored in readings)
        self.t.telemetry[(tenant_id, shipment_id)] = state

    def delay_alert(self, tenant_id: str, shipment_id: str) -> dict[str, Any] | None:
        for event in self._outbox():
            if event.type == DELAY_PREDICTED and event.tenant_id == tenant_id and event.aggregate_id == shipment_id:
                return dict(event.data)
        return None

    def open_numbers(self, limit: int) -> list[tuple[str, str, str]]:
        done = ("delivered", "returning", "closed")
        open_ = [s for s in self.t.shipments.values() if s.status is None or s.status.main not in done]
        open_.sort(key=lambda s: (s.last_event_at is not None, s.last_event_at or s.created_at, s.id))
        return [(s.tenant_id, s.carrier, n) for s in open_ for n in s.tracking_numbers][:limit]

    def unmapped(self, tenant_id: str, carrier: str | None = None) -> list[UnmappedCode]:
        rows = [u for (t, c, _), u in self.t.unmapped.items() if t == tenant_id and (carrier is None or c == carrier)]
        return sorted(rows, key=lambda u: (-u.count, u.code_key))
