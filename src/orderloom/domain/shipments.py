"""Shipments: an order's parcels with their carrier, tracking numbers, dates and semantic status.

Carrier scans are recorded once each (dedupe key: carrier, tracking number, time, code) and applied in time order
whatever order they arrive in: the current status is always the status of the latest accepted, mapped scan. Scans
dated in the future or long before the shipment existed are stored but flagged, and never move the status.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import ClassVar, Literal

from orderloom.domain.errors import DomainError
from orderloom.domain.events import Event
from orderloom.domain.ids import new_id
from orderloom.domain.tracking import ShipmentStatus, TrackingEvent

__all__ = [
    "EventFlag",
    "RecordedScan",
    "ScanBatch",
    "Shipment",
    "ShipmentArrivingSoon",
    "ShipmentColdChainBreached",
    "ShipmentCreated",
    "ShipmentNotFound",
    "ShipmentOrderSyncRefused",
    "ShipmentScanRecorded",
    "ShipmentStatusChanged",
    "TrackingNumberTaken",
    "order_target",
]

EventFlag = Literal["future", "before_shipment"]
FUTURE_TOLERANCE = timedelta(minutes=15)
BEFORE_SHIPMENT_GRACE = timedelta(days=7)


class ShipmentNotFound(DomainError):
    """No shipment with that id (or tracking number) for this tenant."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(f"shipment {what} not found")


class TrackingNumberTaken(DomainError):
    """Another shipment of the tenant already has this carrier tracking number."""

    def __init__(self, carrier: str, tracking_number: str) -> None:
        self.carrier = carrier
        self.tracking_number = tracking_number
        super().__init__(f"{carrier} tracking number {tracking_number} already belongs to another shipment")


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentCreated(Event):
    """A shipment was registered for an order."""

    TYPE: ClassVar[str] = "orderloom.shipment.created"
    AGGREGATE: ClassVar[str] = "shipment"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentScanRecorded(Event):
    """A new carrier scan was recorded (mapped, unmapped or flagged)."""

    TYPE: ClassVar[str] = "orderloom.shipment.scan_recorded"
    AGGREGATE: ClassVar[str] = "shipment"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentStatusChanged(Event):
    """A shipment's semantic status changed."""

    TYPE: ClassVar[str] = "orderloom.shipment.status_changed"
    AGGREGATE: ClassVar[str] = "shipment"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentOrderSyncRefused(Event):
    """The order could not follow its shipment (the state machine refused the action); recorded, not raised."""

    TYPE: ClassVar[str] = "orderloom.shipment.order_sync_refused"
    AGGREGATE: ClassVar[str] = "shipment"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentColdChainBreached(Event):
    """Cold-chain telemetry stayed above the limit for too long."""

    TYPE: ClassVar[str] = "orderloom.shipment.cold_chain_breached"
    AGGREGATE: ClassVar[str] = "shipment"


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentArrivingSoon(Event):
    """A GPS position came within the radius of the delivery address."""

    TYPE: ClassVar[str] = "orderloom.shipment.arriving_soon"
    AGGREGATE: ClassVar[str] = "shipment"


@dataclass(frozen=True, slots=True)
class RecordedScan:
    """A stored carrier scan: the normalized event plus the carrier, number and any flag."""

    carrier: str
    tracking_number: str
    event: TrackingEvent
    flag: EventFlag | None = None

    @property
    def key(self) -> tuple[str, str, datetime, str]:
        """The dedupe key: (carrier, tracking number, time, code)."""
        return (self.carrier, self.tracking_number, self.event.occurred_at, self.event.code_key)


@dataclass(frozen=True, slots=True)
class ScanBatch:
    """What applying a batch of scans did."""

    recorded: tuple[RecordedScan, ...]
    duplicates: int
    flagged: int
    unmapped: int
    status_before: ShipmentStatus | None
    status_after: ShipmentStatus | None
    path: tuple[ShipmentStatus, ...] = ()

    @property
    def status_changed(self) -> bool:
        """True if the shipment's status moved."""
        return self.status_before != self.status_after


@dataclass(slots=True)
class Shipment:
    """The shipment aggregate."""

    id: str
    tenant_id: str
    order_id: str
    carrier: str
    tracking_numbers: tuple[str, ...]
    created_at: datetime
    service: str | None = None
    origin_location_id: str | None = None
    promised_date: date | None = None
    eta: date | None = None
    status: ShipmentStatus | None = None
    last_event_at: datetime | None = None
    shipped_at: datetime | None = None
    status_at: datetime | None = None
    destination: tuple[float, float] | None = None
    arrival_radius_m: float | None = None
    version: int = 1
    _events: list[Event] = field(default_factory=list, repr=False)

    @classmethod
    def create(
        cls,
        *,
        tenant_id: str,
        order_id: str,
        carrier: str,
        tracking_numbers: Sequence[str],
        now: datetime,
        service: str | None = None,
        origin_location_id: str | None = None,
        promised_date: date | None = None,
        shipped_at: datetime | None = None,
        destination: tuple[float, float] | None = None,
        arrival_radius_m: float | None = None,
    ) -> Shipment:
        """A new shipment, with its ShipmentCreated event."""
        numbers = tuple(dict.fromkeys(n.strip() for n in tracking_numbers if n.strip()))
        shipment = cls(
            id=new_id("shp"),
            tenant_id=tenant_id,
            order_id=order_id,
            carrier=carrier,
            tracking_numbers=numbers,
            created_at=now,
            service=service,
            origin_location_id=origin_location_id,
            promised_date=promised_date,
            shipped_at=shipped_at,
            destination=destination,
            arrival_radius_m=arrival_radius_m,
        )
        shipment._record(ShipmentCreated, now, {"order_id": order_id, "carrier": carrier, "tracking_numbers": numbers})
        return shipment

    def _record(self, kind: type[Event], at: datetime, data: dict[str, object]) -> None:
        payload = {"shipment_id": self.id, "order_id": self.order_id, "carrier": self.carrier, **data}
        self._events.append(kind(tenant_id=self.tenant_id, aggregate_id=self.id, occurred_at=at, data=payload))

    def pull_events(self) -> list[Event]:
        """The events recorded since the last pull."""
        events, self._events = self._events, []
        return events

    def flag_for(self, event: TrackingEvent, now: datetime) -> EventFlag | None:
        """Why a scan must not move the status: dated in the future, or a week before the shipment left (its
        ``shipped_at``, else when it was registered)."""
        if event.occurred_at > now + FUTURE_TOLERANCE:
            return "future"
        if event.occurred_at < (self.shipped_at or self.created_at) - BEFORE_SHIPMENT_GRACE:
            return "before_shipment"
        return None

    def apply_scans(
        self,
        *,
        tracking_number: str,
        incoming: Iterable[TrackingEvent],
        known: set[tuple[str, str, datetime, str]],
        now: datetime,
        eta: date | None = None,
    ) -> ScanBatch:
        """Record the new scans (skipping ``known`` keys, the stored ones among them) and apply them in time order:
        the status is that of the newest accepted mapped scan ever seen (``status_at``), so a late-arriving older
        scan never overrides a newer one."""
        fresh: list[RecordedScan] = []
        seen = set(known)
        duplicates = 0
        for event in sorted(incoming, key=lambda e: e.occurred_at):
            scan = RecordedScan(self.carrier, tracking_number, event)
            if scan.key in seen:
                duplicates += 1
                continue
            seen.add(scan.key)
            fresh.append(RecordedScan(self.carrier, tracking_number, event, self.flag_for(event, now)))
        before = self.status
        previous_at = self.status_at
        latest = _latest_mapped(fresh)
        if latest is not None and (self.status_at is None or latest.event.occurred_at >= self.status_at):
            self.status = latest.event.status
            self.status_at = latest.event.occurred_at
        accepted = [s.event.occurred_at for s in fresh if s.flag is None]
        if accepted and (self.last_event_at is None or max(accepted) > self.last_event_at):
            self.last_event_at = max(accepted)
        eta_changed = eta is not None and eta != self.eta
        if eta_changed:
            self.eta = eta
        self._note(fresh, before, now, bump=eta_changed)
        return ScanBatch(
            recorded=tuple(fresh),
            duplicates=duplicates,
            flagged=sum(1 for s in fresh if s.flag),
            unmapped=sum(1 for s in fresh if s.event.mapping == "unmapped"),
            status_before=before,
            status_after=self.status,
            path=_path(fresh, previous_at),
        )

    def _note(self, fresh: Sequence[RecordedScan], before: ShipmentStatus | None, now: datetime, *, bump: bool) -> None:
        for scan in fresh:
            e = scan.event
            self._record(
                ShipmentScanRecorded,
                now,
                {
                    "tracking_number": scan.tracking_number,
                    "occurred_at": e.occurred_at.isoformat(),
                    "raw_code": e.raw_code,
                    "raw_description": e.raw_description,
                    "status": str(e.status) if e.status else None,
                    "mapping": e.mapping,
                    "flag": scan.flag,
                },
            )
        if fresh or bump or before != self.status:
            self.version += 1
        if before != self.status:
            self._record(
                ShipmentStatusChanged,
                now,
                {"from": str(before) if before else None, "to": str(self.status) if self.status else None},
            )

    def telemetry_alert(self, *, kind: str, at: datetime, data: dict[str, object]) -> None:
        """Record a telemetry alert (``cold_chain_breached`` or ``arriving_soon``) as an event."""
        event = ShipmentColdChainBreached if kind == "cold_chain_breached" else ShipmentArrivingSoon
        self._record(event, at, data)

    def refuse_order_sync(self, *, action: str, reason: str, now: datetime) -> None:
        """Record that the order could not follow this shipment."""
        self._record(ShipmentOrderSyncRefused, now, {"action": action, "reason": reason})


def _latest_mapped(scans: Iterable[RecordedScan]) -> RecordedScan | None:
    usable = [s for s in scans if s.flag is None and s.event.status is not None]
    if not usable:
        return None
    return max(enumerate(usable), key=lambda pair: (pair[1].event.occurred_at, pair[0]))[1]


def _path(fresh: Iterable[RecordedScan], after: datetime | None) -> tuple[ShipmentStatus, ...]:
    """The statuses this batch's accepted scans passed through, in time order, after the previous status scan."""
    steps: list[ShipmentStatus] = []
    for scan in sorted(fresh, key=lambda s: s.event.occurred_at):
        status = scan.event.status
        if scan.flag or status is None or (after is not None and scan.event.occurred_at < after):
            continue
        if not steps or steps[-1] != status:
            steps.append(status)
    return tuple(steps)


_PROGRESS = ("shipped", "in_transit", "out_for_delivery", "delivered")


def order_target(statuses: Sequence[ShipmentStatus | None]) -> ShipmentStatus | None:
    """The status an order should follow from its shipments: any issue wins; any returning next; all delivered
    → delivered (the latest shipment's sub); else the least advanced shipment."""
    known = [s for s in statuses if s is not None]
    if not known:
        return None
    for main in ("delivery_issue", "returning"):
        hit = next((s for s in known if s.main == main), None)
        if hit is not None:
            return hit
    ranked = [s for s in known if s.main in _PROGRESS]
    if not ranked or len(ranked) < len(known):
        return None
    least = min(ranked, key=lambda s: _PROGRESS.index(s.main))
    if least.main == "delivered" and len(known) < len(statuses):
        return None  # a parcel with no scan yet is not delivered
    return least
