"""Delay risk of a shipment: the model's probability of missing the promised time, and whether to warn ahead.

At hand-over and on every later scan the shipment's facts are turned into ``DelayFeatures`` and scored. An alert
(``orderloom.shipment.delay_predicted``) is due when the probability reaches the model's alert threshold while
there are still at least ``min_lead`` (4 h) before the promised time; later than that it is no longer a prediction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from orderloom.domain.delay_risk import DelayFeatures, ShipmentDelayPredicted

__all__ = ["MIN_LEAD", "DelayAssessment", "DelayPredictor", "ShipmentFacts", "assess_delay_risk", "delay_event"]

MIN_LEAD = timedelta(hours=4)


class DelayPredictor(Protocol):
    """Scores a shipment (the shipped GBDT model, or any other)."""

    @property
    def threshold(self) -> float:
        """The alert threshold the predictor was tuned for."""

    def predict(self, features: DelayFeatures) -> float:
        """The probability of missing the promised time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentFacts:
    """What a shipment record knows: ids, times (aware UTC), places, parcel. Unknown facts stay None."""

    tenant_id: str
    shipment_id: str
    handed_over_at: datetime
    promised_at: datetime
    order_id: str | None = None
    carrier: str | None = None
    ordered_at: datetime | None = None
    approved_at: datetime | None = None
    ship_by: datetime | None = None
    origin: tuple[float, float] | None = None  # (lat, lon)
    destination: tuple[float, float] | None = None
    origin_region: str | None = None
    destination_region: str | None = None
    category: str | None = None
    freight: Decimal | None = None
    goods_value: Decimal | None = None
    item_count: int | None = None
    weight_g: float | None = None
    volume_cm3: float | None = None

    def features(self) -> DelayFeatures:
        """The model's view of these facts (money as plain numbers: the model only compares magnitudes)."""
        return DelayFeatures(
            handed_over_at=self.handed_over_at,
            promised_at=self.promised_at,
            purchased_at=self.ordered_at,
            approved_at=self.approved_at,
            ship_by=self.ship_by,
            origin=self.origin,
            destination=self.destination,
            origin_region=self.origin_region,
            destination_region=self.destination_region,
            category=self.category,
            freight_value=None if self.freight is None else float(self.freight),
            goods_value=None if self.goods_value is None else float(self.goods_value),
            item_count=self.item_count,
            weight_g=self.weight_g,
            volume_cm3=self.volume_cm3,
        )


@dataclass(frozen=True, slots=True)
class DelayAssessment:
    """The model's verdict at ``assessed_at``."""

    probability: float
    threshold: float
    alert: bool
    reason: str
    assessed_at: datetime
    lead: timedelta  # time left before the promised time

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "probability": round(self.probability, 4),
            "threshold": self.threshold,
            "alert": self.alert,
            "reason": self.reason,
            "hours_before_promise": round(self.lead.total_seconds() / 3600, 2),
        }


def assess_delay_risk(
    *,
    predictor: DelayPredictor,
    shipment: ShipmentFacts,
    now: datetime,
    threshold: float | None = None,
    min_lead: timedelta = MIN_LEAD,
) -> DelayAssessment:
    """Score a shipment; ``alert`` when the risk reaches the threshold at least ``min_lead`` before the promise."""
    if now.tzinfo is None or shipment.promised_at.tzinfo is None or shipment.handed_over_at.tzinfo is None:
        raise ValueError("delay risk needs aware UTC times")
    limit = predictor.threshold if threshold is None else threshold
    probability = predictor.predict(shipment.features())
    lead = shipment.promised_at - now
    if probability < limit:
        alert, reason = False, f"risk {probability:.0%} below the alert threshold {limit:.0%}"
    elif lead < min_lead:
        alert, reason = False, f"risk {probability:.0%} but less than {min_lead} before the promised time"
    else:
        alert, reason = True, f"risk {probability:.0%} at or above the alert threshold {limit:.0%}"
    return DelayAssessment(probability, limit, alert, reason, now, lead)


def delay_event(*, shipment: ShipmentFacts, assessment: DelayAssessment) -> ShipmentDelayPredicted:
    """The proactive event for an alerting assessment (ValueError for one that does not alert)."""
    if not assessment.alert:
        raise ValueError(f"no delay alert for shipment {shipment.shipment_id}: {assessment.reason}")
    return ShipmentDelayPredicted(
        tenant_id=shipment.tenant_id,
        aggregate_id=shipment.shipment_id,
        occurred_at=assessment.assessed_at,
        data={
            "shipment_id": shipment.shipment_id,
            "order_id": shipment.order_id,
            "carrier": shipment.carrier,
            "promised_at": shipment.promised_at.isoformat().replace("+00:00", "Z"),
            **assessment.as_dict(),
        },
    )
