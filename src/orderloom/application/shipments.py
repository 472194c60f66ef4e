"""Shipment use cases: register a shipment, apply carrier tracking to it, and let its order follow.

The order follows its shipments through real lifecycle actions (``data/shipment_actions.yaml``); when the state
machine refuses, the refusal is recorded on the shipment as an event, never raised back to the carrier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from orderloom.application.delay import DelayPredictor
from orderloom.application.orders import apply_action
from orderloom.application.shipment_delay import assess_shipment
from orderloom.application.tracking import event_document
from orderloom.application.tracking_ports import TrackingUnitOfWork
from orderloom.domain.errors import DomainError
from orderloom.domain.lifecycle import Lifecycle, Status
from orderloom.domain.shipments import ScanBatch, Shipment, order_target
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
    ``delay`` predictor, re-score each shipment that got an accepted scan (alerting once per shipment)."""
    reports = []
    for outcome in outcomes:
        if isinstance(outcome, NoTracking):
            error = {"kind": outcome.error.kind, "code": outcome.error.code, "message": outcome.error.message}
            reports.append(IngestReport(outcome.tracking_number, None, error=error))
            continue
        shipment = uow.shipments.find_by_number(tenant_id, carrier, outcome.tracking_number)
        if shipment is None:
            reason = f"unknown {carrier} tracking number {outcome.tracking_number}"
            qid = uow.quarantine.put(tenant_id=tenant_id, source=f"carrier:{carrier}", reason=reason, payload=payload)
            error = {"kind": "unknown_tracking_number", "code": None, "message": reason, "quarantine_id": qid}
            reports.append(IngestReport(outcome.tracking_number, None, error=error))
            continue
        report = _apply_one(uow, shipment, outcome, lifecycle=lifecycle, actions=actions, now=now)
        if delay is not None and report.recorded > report.flagged:
            assess_shipment(uow=uow, predictor=delay, shipment=shipment, now=now)
        reports.append(report)
    return reports


def _apply_one(
    uow: TrackingUnitOfWork,
    shipment: Shipment,
    outcome: TrackingResult,
    *,
    lifecycle: Lifecycle,
    actions: Mapping[str, str],
    now: datetime,
) -> IngestReport:
    times = [e.occurred_at for e in outcome.events]
    known = uow.shipments.known_keys(shipment.tenant_id, shipment.carrier, outcome.tracking_number, times)
    version = shipment.version
    batch: ScanBatch = shipment.apply_scans(
        tracking_number=outcome.tracking_number,
        incoming=outcome.events,
        known=known,
        now=now,
        eta=outcome.estimated_delivery,
    )
    uow.shipments.add_scans(shipment.tenant_id, shipment.id, batch.recorded, now)
    uow.shipments.count_unmapped(shipment.tenant_id, shipment.carrier, batch.recorded, now)
    if shipment.version != version:
        uow.shipments.save(shipment)
    sync, order_status = None, None
    if batch.status_changed:
        sync, order_status = sync_order(
            uow=uow, shipment=shipment, lifecycle=lifecycle, actions=actions, now=now, path=batch.path
        )
    uow.outbox.add(shipment.pull_events())
    return IngestReport(
        tracking_number=outcome.tracking_number,
        shipment_id=shipment.id,
        recorded=len(batch.recorded),
        duplicates=batch.duplicates,
        flagged=batch.flagged,
        unmapped=batch.unmapped,
        status=str(shipment.status) if shipment.status else None,
        status_changed=batch.status_changed,
        order_status=order_status,
        order_sync=sync,
    )


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
) -> tuple[str | None, str | None]:
    """Move the order toward what its shipments say; returns (what happened, the order's status). Tries the precise
    action (``ship`` first for an order not shipped yet); if refused and the target came from this shipment, walks
    the statuses the shipment passed through in this batch and tries again (so out for delivery → failed attempt is
    not flattened to an exception); then the main-level fallback; else records the refusal."""
    siblings = uow.shipments.for_order(shipment.tenant_id, shipment.order_id)
    target = order_target([s.status for s in siblings])
    order = uow.orders.get(shipment.tenant_id, shipment.order_id)
    if target is None or (order.status.main, order.status.sub) == (target.main, target.sub):
        return None, str(order.status)
    errors: list[str] = []
    precise, fallback = actions.get(str(target)), _FALLBACK.get(target.main)
    done = _first_plan(uow, shipment, _plan(order.status.main, precise, target), lifecycle, now, errors)
    walked: list[str] = []
    if done is None and target == shipment.status and len(path) > 1:
        for step in path[:-1]:  # walk this batch's statuses, then try the precise action again
            action = actions.get(str(step))
            if action and _try_plan(uow, shipment, [action], lifecycle, now) is None:
                walked.append(action)
        current = uow.orders.get(shipment.tenant_id, shipment.order_id).status.main
        done = _first_plan(uow, shipment, _plan(current, precise, target), lifecycle, now, errors)
    if done is None and fallback and fallback != precise:
        current = uow.orders.get(shipment.tenant_id, shipment.order_id).status.main
        done = _first_plan(uow, shipment, _plan(current, fallback, target), lifecycle, now, errors)
    if done is not None:
        order = uow.orders.get(shipment.tenant_id, shipment.order_id)
        return "applied:" + "+".join([*walked, *done]), str(order.status)
    shipment.refuse_order_sync(action=actions.get(str(target), "?"), reason="; ".join(errors), now=now)
    order = uow.orders.get(shipment.tenant_id, shipment.order_id)
    return "refused: " + (errors[0] if errors else "no action for " + str(target)), str(order.status)


def _first_plan(
    uow: TrackingUnitOfWork,
    shipment: Shipment,
    plans: Sequence[Sequence[str]],
    lifecycle: Lifecycle,
    now: datetime,
    errors: list[str],
) -> Sequence[str] | None:
    """The first plan that applies (collecting the refusals), or None."""
    for plan in plans:
        error = _try_plan(uow, shipment, plan, lifecycle, now)
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
