"""Delay risk in the shipment flow: score a shipment at creation and after every applied carrier scan, and raise
``orderloom.shipment.delay_predicted`` once per shipment when the model alerts.

What a shipment knows is mapped onto the model's inputs (``ShipmentFacts``); what it does not know stays None and each
tree sends it the way it learned for missing values:

* promised time: the end of the promised date (00:00 UTC the next day; Olist counts a parcel late when it arrives
  on a later calendar day than the estimate). No promised date → no assessment.
* hand-over: ``shipped_at``, else when the shipment was registered.
* purchase time: the order's ``placed_at``.
* origin: the coordinates and region of the origin location (when it is one of the tenant's locations);
  destination: the shipment's destination, else the coordinates of the order's shipping address.
* regions (state late rates, typical transit of the route, hence the slack against the promise): the origin
  location's and the shipping address's region, only when in Brazil, the model's training ground (a US ``PA`` is
  not the state of Pará). Elsewhere the model still sees the times and the distance.
* category, freight, goods value, weights and volumes: not on a shipment, left unknown.

The alert is recorded once: the outbox holds the event (never pruned), and a shipment with one there is not alerted
again. It also goes into the order's audit trail so it shows on the order timeline.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from orderloom.application.delay import DelayAssessment, DelayPredictor, ShipmentFacts, assess_delay_risk, delay_event
from orderloom.application.ports import UnitOfWork
from orderloom.application.tracking_ports import TrackingUnitOfWork
from orderloom.domain.audit import AuditEntry
from orderloom.domain.errors import DomainError
from orderloom.domain.inventory import Location
from orderloom.domain.shipments import Shipment
from orderloom.domain.values import Address

__all__ = ["DELAY_ACTOR", "assess_shipment", "delay_view", "promised_at", "shipment_facts"]

DELAY_ACTOR = "delay-model"
_MODEL_COUNTRY = "BR"


def promised_at(shipment: Shipment) -> datetime | None:
    """The end of the promised date (aware UTC), or None without a promise."""
    if shipment.promised_date is None:
        return None
    return datetime.combine(shipment.promised_date + timedelta(days=1), time(0), tzinfo=UTC)


def _brazilian(country: str | None) -> bool:
    return (country or "").upper() == _MODEL_COUNTRY


def shipment_facts(
    *, shipment: Shipment, ordered_at: datetime | None, address: Address | None, origin: Location | None
) -> ShipmentFacts | None:
    """The model's view of a shipment, its order's placing time and delivery address and its origin location (None
    when it has no promised date)."""
    promise = promised_at(shipment)
    if promise is None:
        return None
    start = None
    if origin is not None and origin.latitude is not None and origin.longitude is not None:
        start = (origin.latitude, origin.longitude)
    end = shipment.destination
    if end is None and address is not None and address.latitude is not None and address.longitude is not None:
        end = (address.latitude, address.longitude)
    return ShipmentFacts(
        tenant_id=shipment.tenant_id,
        shipment_id=shipment.id,
        order_id=shipment.order_id,
        carrier=shipment.carrier,
        handed_over_at=shipment.shipped_at or shipment.created_at,
        promised_at=promise,
        ordered_at=ordered_at,
        origin=start,
        destination=end,
        origin_region=origin.region if origin is not None and _brazilian(origin.country) else None,
        destination_region=address.region if address is not None and _brazilian(address.country) else None,
    )


def _origin(uow: UnitOfWork, shipment: Shipment) -> Location | None:
    if shipment.origin_location_id is None:
        return None
    try:
        return uow.inventory.get_location(shipment.tenant_id, shipment.origin_location_id)
    except DomainError:  # an origin id that is not one of our locations: no coordinates
        return None


def _facts(uow: UnitOfWork, shipment: Shipment) -> ShipmentFacts | None:
    order = uow.orders.get(shipment.tenant_id, shipment.order_id)
    return shipment_facts(
        shipment=shipment, ordered_at=order.placed_at, address=order.shipping_address, origin=_origin(uow, shipment)
    )


def assess_shipment(
    *, uow: TrackingUnitOfWork, predictor: DelayPredictor, shipment: Shipment, now: datetime
) -> DelayAssessment | None:
    """Score the shipment now; on the first alert, record the delay_predicted event and an order audit entry."""
    facts = _facts(uow, shipment)
    if facts is None:
        return None
    assessment = assess_delay_risk(predictor=predictor, shipment=facts, now=now)
    if not assessment.alert or uow.shipments.delay_alert(shipment.tenant_id, shipment.id) is not None:
        return assessment
    event = delay_event(shipment=facts, assessment=assessment)
    uow.outbox.add([event])
    uow.audit.append(
        AuditEntry(
            tenant_id=shipment.tenant_id,
            actor=DELAY_ACTOR,
            action="shipment.delay_predicted",
            entity_type="order",
            entity_id=shipment.order_id,
            at=now,
            before=None,
            after=dict(event.data),
        )
    )
    return assessment


def delay_view(
    *, uow: TrackingUnitOfWork, predictor: DelayPredictor, shipment: Shipment, now: datetime
) -> dict[str, Any]:
    """The ``delay_risk`` block of a shipment document: the risk now, and the delay prediction raised (if any)."""
    raised = uow.shipments.delay_alert(shipment.tenant_id, shipment.id)
    facts = _facts(uow, shipment)
    if facts is None:
        return {"probability": None, "reason": "no promised date", "predicted": raised}
    assessment = assess_delay_risk(predictor=predictor, shipment=facts, now=now)
    return {**assessment.as_dict(), "promised_at": _z(facts.promised_at), "predicted": raised}


def _z(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
