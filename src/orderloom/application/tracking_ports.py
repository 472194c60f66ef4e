"""Ports of shipment tracking: carrier parsers and the raw-code maps (adapters implement them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from orderloom.application.ports import UnitOfWork
from orderloom.domain.shipments import RecordedScan, Shipment
from orderloom.domain.telemetry import Reading, TelemetryState
from orderloom.domain.tracking import TrackingOutcome
from orderloom.domain.tracking_mapping import CarrierCodeMap

__all__ = [
    "CarrierParser",
    "CarrierParsers",
    "CodeMaps",
    "ShipmentRepository",
    "TrackingFetcher",
    "TrackingUnitOfWork",
    "UnmappedCode",
]


class CarrierParser(Protocol):
    """Reads one carrier's tracking responses."""

    name: str

    def parse(self, payload: bytes) -> list[TrackingOutcome]:
        """Every tracking number in the payload; TrackingParseError if malformed."""
        ...


class CarrierParsers(Protocol):
    """Carrier name → parser (raises a LookupError for an unknown name)."""

    def get(self, name: str) -> CarrierParser:
        """The parser for a carrier."""
        ...

    def names(self) -> list[str]:
        """Known carriers."""
        ...


class CodeMaps(Protocol):
    """Carrier name → its code map (None when the carrier has no map yet)."""

    def code_map(self, carrier: str) -> CarrierCodeMap | None:
        """The current map of a carrier."""
        ...


@dataclass(frozen=True, slots=True)
class UnmappedCode:
    """A raw code (or, for word-only carriers, a description) that no map knows, with how often it was seen."""

    carrier: str
    code_key: str
    raw_code: str | None
    sample_description: str | None
    count: int
    first_seen: datetime
    last_seen: datetime


class ShipmentRepository(Protocol):
    """Shipments and their scans; every call is scoped by tenant."""

    def add(self, shipment: Shipment) -> None:
        """Insert a new shipment; TrackingNumberTaken if one of its numbers belongs to another shipment."""

    def add_many(self, shipments: Sequence[Shipment]) -> None:
        """Insert new shipments at once; TrackingNumberTaken if one of their numbers is claimed already."""

    def taken(self, tenant_id: str, numbers: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (carrier, tracking number) pairs already belong to a shipment."""

    def get(self, tenant_id: str, shipment_id: str) -> Shipment:
        """The shipment, or ShipmentNotFound (also for another tenant's shipment)."""

    def save(self, shipment: Shipment) -> None:
        """Write a changed shipment; ConcurrencyConflict if it changed since it was read."""

    def for_order(self, tenant_id: str, order_id: str) -> list[Shipment]:
        """The shipments of an order, oldest first."""

    def for_orders(self, tenant_id: str, order_ids: Sequence[str]) -> dict[str, list[Shipment]]:
        """The shipments of each of these orders, oldest first (every order id is a key)."""

    def find_by_number(self, tenant_id: str, carrier: str, tracking_number: str) -> Shipment | None:
        """The shipment that has this carrier tracking number, if any."""

    def find_by_numbers(self, tenant_id: str, carrier: str, numbers: Sequence[str]) -> dict[str, Shipment]:
        """Tracking number → its shipment, for those of ``numbers`` that have one (one object per shipment)."""

    def save_many(self, changed: Sequence[tuple[Shipment, int]]) -> None:
        """Write changed shipments, each with the version it was read at; ConcurrencyConflict if one moved since."""

    def known_keys_for(
        self, tenant_id: str, carrier: str, wanted: Mapping[str, Sequence[datetime]]
    ) -> set[tuple[str, str, datetime, str]]:
        """The dedupe keys already stored for these numbers at these times (``known_keys`` for many numbers)."""

    def scans(self, tenant_id: str, shipment_id: str) -> list[RecordedScan]:
        """The stored scans of a shipment, oldest first."""

    def known_keys(
        self, tenant_id: str, carrier: str, tracking_number: str, times: Sequence[datetime]
    ) -> set[tuple[str, str, datetime, str]]:
        """The dedupe keys already stored for this number at these times."""

    def add_scans(self, tenant_id: str, shipment_id: str, scans: Sequence[RecordedScan], now: datetime) -> None:
        """Store new scans (already deduplicated by the caller)."""

    def add_scans_many(self, tenant_id: str, scans: Sequence[tuple[str, RecordedScan]], now: datetime) -> None:
        """``add_scans`` for many shipments at once: (shipment id, scan) pairs."""

    def count_unmapped(self, tenant_id: str, carrier: str, scans: Sequence[RecordedScan], now: datetime) -> None:
        """Add the unmapped scans to the per-code counters."""

    def unmapped(self, tenant_id: str, carrier: str | None = None) -> list[UnmappedCode]:
        """Unmapped codes, most frequent first."""

    def telemetry_state(self, tenant_id: str, shipment_id: str) -> TelemetryState:
        """The telemetry monitor's state for a shipment (a fresh one if none yet)."""

    def save_telemetry(
        self,
        tenant_id: str,
        shipment_id: str,
        state: TelemetryState,
        readings: Sequence[tuple[Reading, bool]],
        now: datetime,
    ) -> None:
        """Store readings (with an ``ignored`` flag for out-of-order ones) and the new monitor state."""

    def delay_alert(self, tenant_id: str, shipment_id: str) -> dict[str, Any] | None:
        """The data of the ``orderloom.shipment.delay_predicted`` event already recorded for the shipment, if any."""

    def open_numbers(self, limit: int) -> list[tuple[str, str, str]]:
        """(tenant, carrier, tracking number) of shipments not delivered or returned yet, least recently scanned
        first, across tenants (for the polling worker)."""


class TrackingFetcher(Protocol):
    """Fetches a carrier's raw tracking response for a number (raises an exception when it cannot)."""

    def fetch(self, carrier: str, tracking_number: str) -> bytes:
        """The raw response body."""
        ...


class TrackingUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also holds shipments."""

    @property
    def shipments(self) -> ShipmentRepository: ...
