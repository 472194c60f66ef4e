"""The delay-risk runtime: features, the pure-Python tree evaluation on fixed inputs, metrics, and the alert rule."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from orderloom.adapters.delay_model_file import load_delay_model, predict_delay_risk
from orderloom.application.delay import ShipmentFacts, assess_delay_risk, delay_event
from orderloom.domain.delay_risk import (
    FEATURES,
    DelayFeatures,
    DelayModel,
    feature_vector,
    haversine_km,
    precision_recall_at,
    roc_auc,
)

HANDOVER = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
SAO_PAULO = (-23.5505, -46.6333)
RIO = (-22.9068, -43.1729)
MANAUS = (-3.1190, -60.0217)


def _i(name: str) -> int:
    return FEATURES.index(name)


def tiny_model(threshold: float = 0.5) -> DelayModel:
    """Two stumps by hand: little time to the promise raises the risk; unknown distance goes right (far)."""
    return DelayModel.from_dict(
        {
            "features": list(FEATURES),
            "baseline": -2.0,
            "threshold": threshold,
            "encodings": {"region": {"SP": 0.05, "AM": 0.2}},
            "trees": [
                {
                    "feature": [_i("hours_to_promise"), -1, -1],
                    "threshold": [48.0, 0, 0],
                    "missing_left": [0, 0, 0],
                    "left": [1, -1, -1],
                    "right": [2, -1, -1],
                    "value": [0, 1.5, -0.5],
                },
                {
                    "feature": [_i("distance_km"), -1, -1],
                    "threshold": [1000.0, 0, 0],
                    "missing_left": [0, 0, 0],
                    "left": [1, -1, -1],
                    "right": [2, -1, -1],
                    "value": [0, -0.25, 0.75],
                },
            ],
        }
    )


def facts(**kw: Any) -> ShipmentFacts:
    base: dict[str, Any] = {
        "tenant_id": "ten_1",
        "shipment_id": "shp_1",
        "order_id": "ord_1",
        "carrier": "ups",
        "handed_over_at": HANDOVER,
        "promised_at": HANDOVER + timedelta(days=2),
        "origin": SAO_PAULO,
        "destination": RIO,
    }
    return ShipmentFacts(**(base | kw))


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_haversine_between_known_cities() -> None:
    assert haversine_km(*SAO_PAULO, *RIO) == pytest.approx(361, abs=2)
    assert haversine_km(*SAO_PAULO, *SAO_PAULO) == 0


def test_feature_vector_from_known_facts() -> None:
    f = DelayFeatures(
        handed_over_at=HANDOVER,
        promised_at=HANDOVER + timedelta(hours=30),
        purchased_at=HANDOVER - timedelta(days=2),
        approved_at=HANDOVER - timedelta(days=2) + timedelta(minutes=90),
        origin=SAO_PAULO,
        destination=MANAUS,
        origin_region="SP",
        destination_region="AM",
        category="unknown_category",
        freight_value=30.0,
        goods_value=120.0,
        weight_g=2500,
    )
    x = dict(zip(FEATURES, feature_vector(f, {"region": {"SP": 0.05, "AM": 0.2}}), strict=True))
    assert x["hours_to_promise"] == 30
    assert x["handover_days"] == 2 and x["approval_hours"] == 1.5
    assert x["promised_days"] == pytest.approx(2 + 30 / 24)
    assert x["same_state"] == 0.0 and x["dest_state_rate"] == 0.2 and x["origin_state_rate"] == 0.05
    assert x["category_rate"] is None  # not seen in training: the trees' missing-value branch decides
    assert x["freight_ratio"] == 0.25 and x["weight_kg"] == 2.5 and x["item_count"] is None
    assert x["distance_km"] == pytest.approx(2690, abs=30)
    assert x["handover_weekday"] == 4.0 and x["handover_hour"] == 14.0


def test_runtime_trees_on_fixed_inputs() -> None:
    model = tiny_model()
    near = DelayFeatures(
        handed_over_at=HANDOVER, promised_at=HANDOVER + timedelta(hours=24), origin=SAO_PAULO, destination=RIO
    )
    far = replace(near, destination=MANAUS)
    roomy = replace(near, promised_at=HANDOVER + timedelta(hours=96))
    unknown_place = replace(near, origin=None)
    assert model.predict(near) == pytest.approx(sigmoid(-2.0 + 1.5 - 0.25))
    assert model.predict(far) == pytest.approx(sigmoid(-2.0 + 1.5 + 0.75))
    assert model.predict(roomy) == pytest.approx(sigmoid(-2.0 - 0.5 - 0.25))
    assert model.predict(unknown_place) == pytest.approx(sigmoid(-2.0 + 1.5 + 0.75))  # missing goes right here


def test_model_file_must_match_the_feature_list() -> None:
    with pytest.raises(ValueError, match="differ"):
        DelayModel.from_dict({"features": ["x"], "baseline": 0, "threshold": 0.5, "trees": []})


def test_shipped_model_loads_and_ranks_tight_promises_higher() -> None:
    model = load_delay_model()
    assert len(model.trees) > 10 and 0 < model.threshold < 1
    assert model.metrics["auc"] > 0.7
    ordered = HANDOVER - timedelta(days=3)
    base = DelayFeatures(
        handed_over_at=HANDOVER,
        promised_at=HANDOVER + timedelta(days=2),
        purchased_at=ordered,
        approved_at=ordered + timedelta(hours=1),
        origin=SAO_PAULO,
        destination=MANAUS,
        origin_region="SP",
        destination_region="AM",
        freight_value=45.0,
        goods_value=150.0,
        item_count=1,
        weight_g=3000,
    )
    tight = predict_delay_risk(base)
    roomy = predict_delay_risk(replace(base, promised_at=HANDOVER + timedelta(days=30)))
    assert 0 < roomy < tight < 1
    assert predict_delay_risk(base) == tight  # deterministic


def test_auc_and_precision_recall() -> None:
    assert roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75
    assert roc_auc([0.5, 0.5], [False, True]) == 0.5  # ties count half
    assert roc_auc([0.9, 0.1], [True, False]) == 1.0
    with pytest.raises(ValueError):
        roc_auc([0.1, 0.2], [False, False])
    assert precision_recall_at([0.9, 0.8, 0.2, 0.7], [True, False, True, False], 0.75) == (0.5, 0.5, 2)


def test_alert_needs_the_threshold_and_four_hours_of_lead() -> None:
    model = tiny_model(threshold=0.4)  # near: sigmoid(-0.75) = 0.32; far: sigmoid(0.25) = 0.56
    far = facts(destination=MANAUS, promised_at=HANDOVER + timedelta(hours=24))
    early = assess_delay_risk(predictor=model, shipment=far, now=HANDOVER)
    assert early.alert and early.probability == pytest.approx(sigmoid(0.25))
    assert early.lead == timedelta(hours=24)
    late = assess_delay_risk(predictor=model, shipment=far, now=HANDOVER + timedelta(hours=21))
    assert not late.alert and "before the promised time" in late.reason
    low = assess_delay_risk(predictor=model, shipment=facts(promised_at=HANDOVER + timedelta(hours=24)), now=HANDOVER)
    assert not low.alert and "below the alert threshold" in low.reason
    assert assess_delay_risk(predictor=model, shipment=far, now=HANDOVER, threshold=0.6).alert is False
    event = delay_event(shipment=far, assessment=early)
    assert event.type == "orderloom.shipment.delay_predicted" and event.aggregate_id == "shp_1"
    assert event.data["probability"] == round(sigmoid(0.25), 4) and event.data["hours_before_promise"] == 24
    assert event.data["order_id"] == "ord_1" and event.data["promised_at"] == "2026-11-21T14:00:00Z"
    with pytest.raises(ValueError, match="no delay alert"):
        delay_event(shipment=far, assessment=late)


def test_money_and_naive_times() -> None:
    f = facts(freight=Decimal("12.50"), goods_value=Decimal("50.00")).features()
    assert f.freight_value == 12.5 and f.goods_value == 50.0
    with pytest.raises(ValueError, match="aware"):
        assess_delay_risk(predictor=tiny_model(), shipment=facts(), now=datetime(2026, 11, 20, 14, 0))
