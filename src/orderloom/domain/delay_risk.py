"""Delay risk: the features known when a parcel is handed to the carrier, and a gradient-boosted tree model
evaluated in pure Python from its JSON export.

The same ``feature_vector`` is used by the training script (``bench/train_delay_model.py``) and at run time, so
what the model learned and what it is asked agree. Missing facts are ``None``: each tree sends them the way it
learned for missing values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from orderloom.domain.events import Event

__all__ = [
    "FEATURES",
    "DelayFeatures",
    "DelayModel",
    "ShipmentDelayPredicted",
    "feature_vector",
    "haversine_km",
    "precision_recall_at",
    "roc_auc",
    "route_key",
]

FEATURES = (
    "hours_to_promise",
    "route_transit_days",
    "slack_days",
    "promised_days",
    "handover_days",
    "approval_hours",
    "handover_vs_limit_hours",
    "distance_km",
    "same_state",
    "origin_lat",
    "origin_lon",
    "dest_lat",
    "dest_lon",
    "dest_state_rate",
    "origin_state_rate",
    "category_rate",
    "freight_value",
    "goods_value",
    "freight_ratio",
    "item_count",
    "weight_kg",
    "volume_l",
    "purchase_month",
    "purchase_weekday",
    "handover_weekday",
    "handover_hour",
)

_EARTH_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True, kw_only=True)
class DelayFeatures:
    """What is known about a shipment when it is handed to the carrier (aware UTC times; None = unknown)."""

    handed_over_at: datetime
    promised_at: datetime
    purchased_at: datetime | None = None
    approved_at: datetime | None = None
    ship_by: datetime | None = None
    origin: tuple[float, float] | None = None
    destination: tuple[float, float] | None = None
    origin_region: str | None = None
    destination_region: str | None = None
    category: str | None = None
    freight_value: float | None = None
    goods_value: float | None = None
    item_count: int | None = None
    weight_g: float | None = None
    volume_cm3: float | None = None


def _hours(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else (b - a).total_seconds() / 3600.0


def _lookup(table: Mapping[str, float], key: str | None) -> float | None:
    return None if key is None else table.get(key)


def _geo(f: DelayFeatures) -> dict[str, float | None]:
    out: dict[str, float | None] = {"distance_km": None, "origin_lat": None, "origin_lon": None}
    out |= {"dest_lat": None, "dest_lon": None}
    if f.origin is not None:
        out["origin_lat"], out["origin_lon"] = f.origin
    if f.destination is not None:
        out["dest_lat"], out["dest_lon"] = f.destination
    if f.origin is not None and f.destination is not None:
        out["distance_km"] = haversine_km(*f.origin, *f.destination)
    return out


def _goods(f: DelayFeatures) -> dict[str, float | None]:
    ratio = None
    if f.freight_value is not None and f.goods_value:
        ratio = f.freight_value / f.goods_value
    return {
        "freight_value": f.freight_value,
        "goods_value": f.goods_value,
        "freight_ratio": ratio,
        "item_count": None if f.item_count is None else float(f.item_count),
        "weight_kg": None if f.weight_g is None else f.weight_g / 1000.0,
        "volume_l": None if f.volume_cm3 is None else f.volume_cm3 / 1000.0,
    }


def route_key(origin_region: str | None, destination_region: str | None) -> str | None:
    """The key of a route in the transit-time table, e.g. ``SP>RJ``."""
    return None if origin_region is None or destination_region is None else f"{origin_region}>{destination_region}"


def _route_transit(f: DelayFeatures, encodings: Mapping[str, Mapping[str, float]]) -> float | None:
    """Typical (80th percentile) hand-over-to-delivery days on the route in past orders, else to the destination."""
    found = _lookup(encodings.get("route_transit", {}), route_key(f.origin_region, f.destination_region))
    return found if found is not None else _lookup(encodings.get("dest_transit", {}), f.destination_region)


def feature_vector(f: DelayFeatures, encodings: Mapping[str, Mapping[str, float]]) -> list[float | None]:
    """The model's inputs in ``FEATURES`` order; ``encodings`` maps region/category names to learned rates."""
    same = None
    if f.origin_region is not None and f.destination_region is not None:
        same = 1.0 if f.origin_region == f.destination_region else 0.0
    purchase = f.purchased_at
    approval = _hours(purchase, f.approved_at)
    promised = _hours(purchase, f.promised_at)
    handover = _hours(purchase, f.handed_over_at)
    to_promise = _hours(f.handed_over_at, f.promised_at)
    transit = _route_transit(f, encodings)
    values: dict[str, float | None] = {
        "hours_to_promise": to_promise,
        "route_transit_days": transit,
        "slack_days": None if transit is None or to_promise is None else to_promise / 24.0 - transit,
        "promised_days": None if promised is None else promised / 24.0,
        "handover_days": None if handover is None else handover / 24.0,
        "approval_hours": approval,
        "handover_vs_limit_hours": _hours(f.ship_by, f.handed_over_at),
        "same_state": same,
        "dest_state_rate": _lookup(encodings.get("region", {}), f.destination_region),
        "origin_state_rate": _lookup(encodings.get("region", {}), f.origin_region),
        "category_rate": _lookup(encodings.get("category", {}), f.category),
        "purchase_month": None if purchase is None else float(purchase.month),
        "purchase_weekday": None if purchase is None else float(purchase.weekday()),
        "handover_weekday": float(f.handed_over_at.weekday()),
        "handover_hour": float(f.handed_over_at.hour),
        **_geo(f),
        **_goods(f),
    }
    return [values[name] for name in FEATURES]


@dataclass(frozen=True, slots=True)
class _Tree:
    feature: tuple[int, ...]  # -1 marks a leaf
    threshold: tuple[float, ...]
    missing_left: tuple[bool, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    value: tuple[float, ...]

    def leaf_value(self, x: Sequence[float | None]) -> float:
        node = 0
        while self.feature[node] >= 0:
            v = x[self.feature[node]]
            go_left = self.missing_left[node] if v is None or math.isnan(v) else v <= self.threshold[node]
            node = self.left[node] if go_left else self.right[node]
        return self.value[node]


@dataclass(frozen=True)
class DelayModel:
    """A binary gradient-boosted tree ensemble: probability = sigmoid(baseline + sum of leaf values)."""

    features: tuple[str, ...]
    baseline: float
    trees: tuple[_Tree, ...]
    encodings: Mapping[str, Mapping[str, float]]
    threshold: float
    metrics: Mapping[str, Any]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DelayModel:
        """Build from the JSON export; ValueError if it does not match this code's feature list."""
        features = tuple(str(n) for n in data["features"])
        if features != FEATURES:
            raise ValueError(f"model features {features} differ from the code's {FEATURES}")
        trees = tuple(
            _Tree(
                feature=tuple(int(i) for i in t["feature"]),
                threshold=tuple(float(v) for v in t["threshold"]),
                missing_left=tuple(bool(m) for m in t["missing_left"]),
                left=tuple(int(i) for i in t["left"]),
                right=tuple(int(i) for i in t["right"]),
                value=tuple(float(v) for v in t["value"]),
            )
            for t in data["trees"]
        )
        return cls(
            features=features,
            baseline=float(data["baseline"]),
            trees=trees,
            encodings={k: dict(v) for k, v in data.get("encodings", {}).items()},
            threshold=float(data["threshold"]),
            metrics=dict(data.get("metrics", {})),
        )

    def raw_score(self, x: Sequence[float | None]) -> float:
        """The log-odds for a feature vector."""
        return self.baseline + sum(t.leaf_value(x) for t in self.trees)

    def probability(self, x: Sequence[float | None]) -> float:
        """The probability of missing the promised date for a feature vector."""
        z = self.raw_score(x)
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def predict(self, features: DelayFeatures) -> float:
        """The probability of missing the promised date."""
        return self.probability(feature_vector(features, self.encodings))


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve (the Mann-Whitney statistic, ties counted half)."""
    pairs = sorted(zip(scores, labels, strict=True), key=lambda p: p[0])
    positives = sum(1 for _, y in pairs if y)
    negatives = len(pairs) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both classes")
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mid_rank = (i + 1 + j) / 2  # ranks i+1..j share their mean
        rank_sum += mid_rank * sum(1 for _, y in pairs[i:j] if y)
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def precision_recall_at(scores: Sequence[float], labels: Sequence[bool], threshold: float) -> tuple[float, float, int]:
    """(precision, recall, alerts) when alerting on score >= threshold."""
    alerts = [y for s, y in zip(scores, labels, strict=True) if s >= threshold]
    hits = sum(alerts)
    positives = sum(labels)
    precision = hits / len(alerts) if alerts else 0.0
    recall = hits / positives if positives else 0.0
    return precision, recall, len(alerts)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentDelayPredicted(Event):
    """The delay model expects a shipment to miss its promised date (raised ahead of time, once per shipment)."""

    TYPE: ClassVar[str] = "orderloom.shipment.delay_predicted"
    AGGREGATE: ClassVar[str] = "shipment"
