"""Delay risk over HTTP on SQLite and PostgreSQL: a shipment registered with a tight promise carries a raised delay
prediction in GET /v1/shipments/{id} and in its order's timeline, with exactly one event in the outbox; a
comfortable one carries its (low) risk and no prediction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from orderloom.adapters.persistence.tables import outbox
from orderloom.bootstrap import Container
from orderloom.entrypoints.api.app import create_app
from tests.conftest import example_order

DELAY = "orderloom.shipment.delay_predicted"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, manage_lifecycle=False)) as c:
        yield c


@pytest.fixture
def auth(tenant: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant[1]}"}


def _ship(
    client: TestClient, auth: dict[str, str], place: dict[str, Any], *, hours_with_carrier: int, promise_days: int
) -> dict[str, Any]:
    address = {**example_order()["shipping_address"], **place}
    order = example_order(status={"main": "shipped", "sub": "handed_to_carrier"}, shipping_address=address)
    r = client.post("/v1/orders", json=order, headers=auth)
    assert r.status_code == 201, r.text
    now = datetime.now(UTC)
    body = {
        "order_id": r.json()["id"],
        "carrier": "dhl_express",
        "tracking_numbers": [f"BR{now.timestamp():.0f}{promise_days}"],
        "shipped_at": (now - timedelta(hours=hours_with_carrier)).isoformat(),
        "promised_date": (now + timedelta(days=promise_days)).date().isoformat(),
    }
    r = client.post("/v1/shipments", json=body, headers=auth)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _types(container: Container, aggregate_id: str) -> list[str]:
    with container.engines.read.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.type).where(outbox.c.aggregate_id == aggregate_id))
        return [r.type for r in rows]


def test_tight_promise_is_predicted_late_once_and_shown(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    fortaleza = {"city": "Fortaleza", "region": "CE", "country": "BR", "latitude": -3.7319, "longitude": -38.5267}
    created = _ship(client, auth, fortaleza, hours_with_carrier=48, promise_days=1)
    risk = created["delay_risk"]
    assert risk["predicted"] is not None and risk["predicted"]["alert"] is True
    assert risk["probability"] >= risk["threshold"] == container.delay_model.threshold
    doc = client.get(f"/v1/shipments/{created['id']}", headers=auth).json()
    assert doc["delay_risk"]["predicted"] == risk["predicted"]
    assert doc["delay_risk"]["hours_before_promise"] > 4
    assert _types(container, created["id"]).count(DELAY) == 1
    timeline = client.get(f"/v1/orders/{created['order_id']}/timeline", headers=auth).json()
    entries = timeline["entries"]
    hits = [e for e in entries if e.get("action") == "shipment.delay_predicted"]
    assert len(hits) == 1 and hits[0]["actor"] == "delay-model"
    assert hits[0]["after"]["shipment_id"] == created["id"]


def test_comfortable_promise_shows_its_risk_without_a_prediction(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    sao_paulo = {"city": "São Paulo", "region": "SP", "country": "BR", "latitude": -23.5614, "longitude": -46.6559}
    created = _ship(client, auth, sao_paulo, hours_with_carrier=6, promise_days=12)
    doc = client.get(f"/v1/shipments/{created['id']}", headers=auth).json()
    risk = doc["delay_risk"]
    assert risk["predicted"] is None and risk["alert"] is False
    assert 0 <= risk["probability"] < risk["threshold"]
    assert DELAY not in _types(container, created["id"])


def test_shipment_without_a_promise_has_no_risk(client: TestClient, auth: dict[str, str]) -> None:
    created = _ship(client, auth, {}, hours_with_carrier=6, promise_days=3)
    r = client.post(
        "/v1/shipments",
        json={"order_id": created["order_id"], "carrier": "dhl_express", "tracking_numbers": ["NOPROMISE1"]},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    assert r.json()["delay_risk"] == {"probability": None, "reason": "no promised date", "predicted": None}
