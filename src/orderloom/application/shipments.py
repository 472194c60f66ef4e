"""Shipment use cases: register a shipment, apply carrier tracking to it, and let its order follow.

The order follows its shipments through real lifecycle actions (``data/shipment_actions.yaml``); when the state
machine refuses, the refusal is recorded on the shipment as an event, never raised back to the carrier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from orderloom.application.delay import DelayPredictor
from orderloom.application.orders import apply_action
from orderloom.application.shipment_delay import assess_shipment
from orderloom.application.tracking import event_document
from orderloom.application.tracking_ports import TrackingUnitOfWork
from orderloom.domain.errors import DomainError
from orderloom.domain.lifecycle import Lifecycle, Status
from orderloom.domain.orders import Order
from orderloom.domain.shipments import RecordedScan, ScanBatch, Shipment, order_target
from orderloom.domain.telemetry import ColdChainRule, Geofence, Reading, evaluate
from orderloom.domain.tracking import NoTracking, ShipmentStatus, TrackingOutcome, TrackingResult

__all__ = [
    "IngestReport",
    "apply_tracking",
    "create_shipment",
    "record_telemetry",
    "shipment_document",
    "sync_order",
]

_BEFORE_SHIPPED = ("pending", "confirmed", "on_hold", "allocated", "fulfilling")
_FALLBACK = {
    "shipped": "ship",
    "in_transit": "mark_in_transit",
    "out_for_delivery": "out_for_delivery",
    "delivered": "deliver",
    "delivery_issue": "report_issue",
}


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one tracking number in a carrier payload did."""

    tracking_number: str | None
    shipment_id: str | None
    recorded: int = 0
    duplicates: int = 0
    flagged: int = 0
    unmapped: int = 0
    status: str | None = None
    status_changed: bool = False
    order_status: str | None = None
    order_sync: str | None = None
    error: dict[str, Any] | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "tracking_number": self.tracking_number,
            "shipment_id": self.shipment_id,
            "recorded": self.recorded,
            "duplicates": self.duplicates,
            "flagged": self.flagged,
            "unmapped": self.unmapped,
            "status": self.status,
            "status_changed": self.status_changed,
            "order_status": self.order_status,
            "order_sync": self.order_sync,
            "error": self.error,
        }


def create_shipment(
    *,
    uow: TrackingUnitOfWork,
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
    delay: DelayPredictor | None = None,
) -> Shipment:
    """Register a shipment for an existing order (OrderNotFound otherwise) with its ShipmentCreated event; with a
    ``delay`` predictor, score its delay risk (a first alert records ``orderloom.shipment.delay_predicted``)."""
    uow.orders.get(tenant_id, order_id)
    shipment = Shipment.create(
        tenant_id=tenant_id,
        order_id=order_id,
        carrier=carrier,
        tracking_numbers=tracking_numbers,
        now=now,
        service=service,
        origin_location_id=origin_location_id,
        promised_date=promised_date,
        shipped_at=shipped_at,
        destination=destination,
        arrival_radius_m=arrival_radius_m,
    )
    uow.shipments.add(shipment)
    uow.outbox.add(shipment.pull_events())
    if delay is not None:
        assess_shipment(uow=uow, predictor=delay, shipment=shipment, now=now)
    return shipment


def apply_tracking(
    *,
    uow: TrackingUnitOfWork,
    tenant_id: str,
    carrier: str,
    outcomes: Sequence[TrackingOutcome],
    lifecycle: Lifecycle,
    actions: Mapping[str, str],
    now: datetime,
    payload: bytes = b"",
    delay: DelayPredictor | None = None,
) -> list[IngestReport]:
    """Record the scans of every tracking number in a parsed carrier response and let the orders follow; with a
    ``delay`` predictor, re-score each shipment that got an accepted scan (alerting once per shipment).

    Batched: one lookup of the shipments, one of the already stored scan keys, one insert of the new scans, one
    update per changed shipment and one order sync per shipment whose status moved, however many tracking numbers
    (or payloads for the same number) the outcomes hold."""
    found = _TrackingBatch(uow, tenant_id, carrier, outcomes, now)
    reports: list[IngestReport] = []
    for outcome in outcomes:
        if isinstance(outcome, NoTracking):
            error = {"kind": outcome.error.kind, "code": outcome.error.code, "message": outcome.error.message}
            reports.append(IngestReport(outcome.tracking_number, None, error=error))
            continue
        shipment = found.shipments.get(outcome.tracking_number)
        if shipment is None:
            reason = f"unknown {carrier} tracking number {outcome.tracking_number}"
            qid = uow.quarantine.put(tenant_id=tenant_id, source=f"carrier:{carrier}", reason=reason, payload=payload)
            error = {"kind": "unknown_tracking_number", "code": None, "message": reason, "quarantine_id": qid}
            reports.append(IngestReport(outcome.tracking_number, None, error=error))
            continue
        reports.append(found.apply(shipment, outcome))
    found.store()
    moved = found.moved()
    siblings = uow.shipments.for_orders(tenant_id, [s.order_id for s in moved.values()]) if moved else {}
    synced = {
        sid: sync_order(
            uow=uow,
            shipment=s,
            lifecycle=lifecycle,
            actions=actions,
            now=now,
            path=found.paths.get(sid, []),
            siblings=siblings.get(s.order_id),
        )
        for sid, s in moved.items()
    }
    uow.outbox.add([e for shipment in found.touched.values() for e in shipment.pull_events()])
    reports = [_with_sync(r, synced) for r in reports]
    if delay is not None:
        for shipment in found.accepted.values():
            assess_shipment(uow=uow, predictor=delay, shipment=shipment, now=now)
    return reports


class _TrackingBatch:
    """The shipments of one apply_tracking call, their stored keys, and what applying the outcomes did to them."""

    def __init__(
        self, uow: TrackingUnitOfWork, tenant_id: str, carrier: str, outcomes: Sequence[TrackingOutcome], now: datetime
    ) -> None:
        self.uow, self.tenant_id, self.carrier, self.now = uow, tenant_id, carrier, now
        results = [o for o in outcomes if isinstance(o, TrackingResult)]
        self.shipments = uow.shipments.find_by_numbers(tenant_id, carrier, [o.tracking_number for o in results])
        wanted: dict[str, list[datetime]] = {}
        for o in results:
            if o.tracking_number in self.shipments:
                wanted.setdefault(o.tracking_number, []).extend(e.occurred_at for e in o.events)
        self.known = uow.shipments.known_keys_for(tenant_id, carrier, wanted) if wanted else set()
        self.read_at = {s.id: s.version for s in self.shipments.values()}
        self.touched: dict[str, Shipment] = {}
        self.accepted: dict[str, Shipment] = {}
        self.scans: list[tuple[str, RecordedScan]] = []
        self.before: dict[str, ShipmentStatus | None] = {}
        self.paths: dict[str, list[ShipmentStatus]] = {}

    def apply(self, shipment: Shipment, outcome: TrackingResult) -> IngestReport:
        """Apply one tracking number's events to its shipment (in memory; ``store`` writes them)."""
        self.before.setdefault(shipment.id, shipment.status)
        batch: ScanBatch = shipment.apply_scans(
            tracking_number=outcome.tracking_number,
            incoming=outcome.events,
            known=self.known,
            now=self.now,
            eta=outcome.estimated_delivery,
        )
        self.known.update(s.key for s in batch.recorded)
        self.scans.extend((shipment.id, s) for s in batch.recorded)
        self.touched[shipment.id] = shipment
        self.paths.setdefault(shipment.id, []).extend(batch.path)
        if len(batch.recorded) > batch.flagged:
            self.accepted[shipment.id] = shipment
        return IngestReport(
            tracking_number=outcome.tracking_number,
            shipment_id=shipment.id,
            recorded=len(batch.recorded),
            duplicates=batch.duplicates,
            flagged=batch.flagged,
            unmapped=batch.unmapped,
            status=str(shipment.status) if shipment.status else None,
            status_changed=batch.status_changed,
        )

    def store(self) -> None:
        """Write the new scans, the unmapped counters and the changed shipments."""
        self.uow.shipments.add_scans_many(self.tenant_id, self.scans, self.now)
        self.uow.shipments.count_unmapped(self.tenant_id, self.carrier, [s for _, s in self.scans], self.now)
        changed = [(s, self.read_at[sid]) for sid, s in self.touched.items() if s.version != self.read_at[sid]]
        self.uow.shipments.save_many(changed)

    def moved(self) -> dict[str, Shipment]:
        """The shipments whose status differs from before this call."""
        return {sid: s for sid, s in self.touched.items() if s.status != self.before[sid]}


def _with_sync(report: IngestReport, synced: Mapping[str, tuple[str | None, str | None]]) -> IngestReport:
    if report.shipment_id is None or report.shipment_id not in synced or not report.status_changed:
        return report
    sync, order_status = synced[report.shipment_id]
    return replace(report, order_sync=sync, order_status=order_status)


def _plan(current_main: str, action: str | None, target: ShipmentStatus) -> list[list[str]]:
    """Action sequences to try for one action: alone, and with ``ship`` first for an order not shipped yet."""
    if not action:
        return []
    if current_main in _BEFORE_SHIPPED and target.main != "shipped":
        return [["ship", action], [action]]
    return [[action]]


def sync_order(
    *,
    uow: TrackingUnitOfWork,
    shipment: Shipment,
    lifecycle: Lifecycle,
    actions: Mapping[str, str],
    now: datetime,
    path: Sequence[ShipmentStatus] = (),
    siblings: Sequence[Shipment] | None = None,
) -> tuple[str | None, str | None]:
    """Move the order toward what its shipments say; returns (what happened, the order's status). Tries the precise
    action (``ship`` first for an order not shipped yet); if refused and the target came from this shipment, walks
    the statuses the shipment passed through in this batch and tries again (so out for delivery → failed attempt is
    not flattened to an exception); then the main-level fallback; else records the refusal. ``siblings``: the
    order's shipments as stored now, when the caller already read them.

    The tries run on the order in memory (the state machine is pure); only the actions that apply are then written,
    with ``apply_action`` in one savepoint, so a refused try costs no SQL."""
    if siblings is None:
        siblings = uow.shipments.for_order(shipment.tenant_id, shipment.order_id)
    target = order_target([s.status for s in siblings])
    order = uow.orders.get(shipment.tenant_id, shipment.order_id)
    if target is None or (order.status.main, order.status.sub) == (target.main, target.sub):
        return None, str(order.status)
    trial = _Trial(order, lifecycle, shipment, now)
    errors: list[str] = []
    precise, fallback = actions.get(str(target)), _FALLBACK.get(target.main)
    done = trial.first(_plan(order.status.main, precise, target), errors)
    if done is None and target == shipment.status and len(path) > 1:
        for step in path[:-1]:  # walk this batch's statuses, then try the precise action again
            action = actions.get(str(step))
            if action:
                trial.attempt([action])
        done = trial.first(_plan(order.status.main, precise, target), errors)
    if done is None and fallback and fallback != precise:
        done = trial.first(_plan(order.status.main, fallback, target), errors)
    if done is not None:
        error = _try_plan(uow, shipment, trial.applied, lifecycle, now)
        if error is None:
            return "applied:" + "+".join(trial.applied), str(order.status)
        errors.append(error)  # the stored order refused what the copy accepted: record it like any refusal
    elif trial.applied:  # walked steps applied although the target was not reached: keep them, as before
        _try_plan(uow, shipment, trial.applied, lifecycle, now)
    shipment.refuse_order_sync(action=actions.get(str(target), "?"), reason="; ".join(errors), now=now)
    current = uow.orders.get(shipment.tenant_id, shipment.order_id)
    return "refused: " + (errors[0] if errors else "no action for " + str(target)), str(current.status)


class _Trial:
    """Lifecycle actions tried on the order in memory: a refused plan leaves it as it was; ``applied`` lists the
    actions that went through, in order."""

    def __init__(self, order: Order, lifecycle: Lifecycle, shipment: Shipment, now: datetime) -> None:
        self.order, self.lifecycle, self.now = order, lifecycle, now
        self.params = {"shipment_id": shipment.id, "reason": f"carrier scan on shipment {shipment.id}"}
        self.actor = f"carrier:{shipment.carrier}"
        self.applied: list[str] = []

    def attempt(self, plan: Sequence[str]) -> str | None:
        """Apply every action of the plan, or none of them; None if applied, else the refusal."""
        o = self.order
        saved = (o.status, o.updated_at, o.version, o.payment, list(o.events))
        try:
            for action in plan:
                o.apply(action=action, lifecycle=self.lifecycle, params=self.params, actor=self.actor, now=self.now)
        except DomainError as exc:
            o.status, o.updated_at, o.version, o.payment, o.events = saved
            return str(exc)
        self.applied.extend(plan)
        return None

    def first(self, plans: Sequence[Sequence[str]], errors: list[str]) -> Sequence[str] | None:
        """The first plan that applies (collecting the refusals), or None."""
        for plan in plans:
            error = self.attempt(plan)
            if error is None:
                return plan
            errors.append(error)
        return None


def _try_plan(
    uow: TrackingUnitOfWork, shipment: Shipment, plan: Sequence[str], lifecycle: Lifecycle, now: datetime
) -> str | None:
    """Apply actions to the shipment's order in one savepoint; None if they all applied, else the refusal."""
    try:
        with uow.savepoint():
            for action in plan:
                apply_action(
                    uow=uow,
                    tenant_id=shipment.tenant_id,
                    order_id=shipment.order_id,
                    action=action,
                    params={"shipment_id": shipment.id, "reason": f"carrier scan on shipment {shipment.id}"},
                    lifecycle=lifecycle,
                    actor=f"carrier:{shipment.carrier}",
                    now=now,
                )
    except DomainError as exc:
        return str(exc)
    return None


def _guidance(shipment: Shipment, lifecycle: Lifecycle | None) -> dict[str, Any]:
    """What the status means, who must act next, and the order actions it offers (from the lifecycle data)."""
    if lifecycle is None or shipment.status is None:
        return {"meaning": None, "owner": None, "next_actions": []}
    status = Status(shipment.status.main, shipment.status.sub)
    if not lifecycle.has_status(status):
        return {"meaning": None, "owner": None, "next_actions": []}
    sub = lifecycle.substatus(status)
    return {"meaning": sub.meaning, "owner": sub.owner, "next_actions": list(sub.actions)}


def shipment_document(
    shipment: Shipment, scans: Sequence[Any] = (), *, lifecycle: Lifecycle | None = None
) -> dict[str, Any]:
    """The public JSON of a shipment (``scans``: RecordedScan list, newest first in the output); with the lifecycle,
    also what its status means, who owns the next step and which actions are offered."""
    latest = next((s for s in reversed(scans) if s.flag is None and s.event.location is not None), None)
    return {
        **_guidance(shipment, lifecycle),
        "last_location": latest.event.location.as_dict() if latest is not None else None,
        "id": shipment.id,
        "order_id": shipment.order_id,
        "carrier": shipment.carrier,
        "service": shipment.service,
        "tracking_numbers": list(shipment.tracking_numbers),
        "origin_location_id": shipment.origin_location_id,
        "promised_date": shipment.promised_date.isoformat() if shipment.promised_date else None,
        "eta": shipment.eta.isoformat() if shipment.eta else None,
        "status": {"main": shipment.status.main, "sub": shipment.status.sub} if shipment.status else None,
        "last_event_at": shipment.last_event_at.isoformat().replace("+00:00", "Z") if shipment.last_event_at else None,
        "destination": (
            {"latitude": shipment.destination[0], "longitude": shipment.destination[1]}
            if shipment.destination
            else None
        ),
        "arrival_radius_m": shipment.arrival_radius_m,
        "shipped_at": shipment.shipped_at.isoformat().replace("+00:00", "Z") if shipment.shipped_at else None,
        "created_at": shipment.created_at.isoformat().replace("+00:00", "Z"),
        "events": [
            {**event_document(s.event), "tracking_number": s.tracking_number, "flag": s.flag} for s in reversed(scans)
        ],
    }


def record_telemetry(
    *,
    uow: TrackingUnitOfWork,
    tenant_id: str,
    shipment_id: str,
    readings: Sequence[Reading],
    now: datetime,
    rule: ColdChainRule | None = None,
) -> dict[str, Any]:
    """Store telemetry readings; a cold-chain breach or arrival near the delivery address becomes an event."""
    shipment = uow.shipments.get(tenant_id, shipment_id)
    fence = None
    if shipment.destination is not None:
        lat, lon = shipment.destination
        fence = Geofence(lat, lon, shipment.arrival_radius_m or Geofence(lat, lon).radius_m)
    before = uow.shipments.telemetry_state(tenant_id, shipment_id)
    state, alerts, ignored = evaluate(before, readings, rule=rule, fence=fence)
    last = before.last_at
    flagged = [(r, last is not None and r.at <= last) for r in readings]
    uow.shipments.save_telemetry(tenant_id, shipment_id, state, flagged, now)
    for alert in alerts:
        shipment.telemetry_alert(kind=alert.kind, at=alert.at, data=alert.data)
    uow.outbox.add(shipment.pull_events())
    return {
        "shipment_id": shipment_id,
        "accepted": len(readings) - ignored,
        "ignored_out_of_order": ignored,
        "alerts": [{"kind": a.kind, "at": a.at.isoformat().replace("+00:00", "Z"), **a.data} for a in alerts],
        "excursion_since": state.excursion_since.isoformat() if state.excursion_since else None,
    }
