"""Compensation for a predicted delay over HTTP on SQLite and PostgreSQL: a shipment predicted late gets one
``orderloom.customer.compensation_offered`` event with a coupon from the default rule set, shown in its order's
timeline; a tenant's own activated ``compensation`` rule set version replaces the default; a relay replay offers
nothing twice."""

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

OFFERED = "orderloom.customer.compensation_offered"
FORTALEZA = {"city": "Fortaleza", "region": "CE", "country": "BR", "latitude": -3.7319, "longitude": -38.5267}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, manage_lifecycle=False)) as c:
        yield c


@pytest.fixture
def auth(tenant: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant[1]}"}


def _late_shipment(client: TestClient, auth: dict[str, str], container: Container, **order: Any) -> dict[str, Any]:
    address = {**example_order()["shipping_address"], **FORTALEZA}
    body = example_order(status={"main": "shipped", "sub": "handed_to_carrier"}, shipping_address=address, **order)
    r = client.post("/v1/orders", json=body, headers=auth)
    assert r.status_code == 201, r.text
    now = datetime.now(UTC)
    shipment = {
        "order_id": r.json()["id"],
        "carrier": "dhl_express",
        "tracking_numbers": [f"BR{now.timestamp():.0f}{r.json()['id'][-6:]}"],
        "shipped_at": (now - timedelta(hours=48)).isoformat(),
        "promised_date": (now + timedelta(days=1)).date().isoformat(),
    }
    r = client.post("/v1/shipments", json=shipment, headers=auth)
    assert r.status_code == 201, r.text
    assert r.json()["delay_risk"]["predicted"] is not None
    while container.relay.drain():
        pass
    return dict(r.json())


def _offers(client: TestClient, auth: dict[str, str], order_id: str) -> list[dict[str, Any]]:
    entries = client.get(f"/v1/orders/{order_id}/timeline", headers=auth).json()["entries"]
    return [e for e in entries if e.get("type") == OFFERED]


def test_predicted_delay_offers_the_default_coupon_once(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    shipment = _late_shipment(client, auth, container)
    offers = _offers(client, auth, shipment["order_id"])
    assert len(offers) == 1
    data = offers[0]["data"]
    assert data["shipment_id"] == shipment["id"] and data["rule_set_version"] is None  # the default rule set
    assert data["coupon"]["amount"] == "5.00" and data["coupon"]["currency"] == "USD"
    assert data["coupon"]["rule_id"] == "everyone" and data["coupon"]["code"].startswith("SORRY-")
    entries = client.get(f"/v1/orders/{shipment['order_id']}/timeline", headers=auth).json()["entries"]
    audit = [e for e in entries if e.get("action") == "customer.compensation_offered"]
    assert len(audit) == 1 and audit[0]["actor"] == "compensation-rules"
    # a replay of the delay event (relay restart, redelivery) is refused by the ledger: still one offer
    with container.engines.write.begin() as conn:
        conn.execute(sa.update(outbox).where(outbox.c.aggregate_id == shipment["id"]).values(published_at=None))
    while container.relay.drain():
        pass
    assert len(_offers(client, auth, shipment["order_id"])) == 1


def test_vip_customer_gets_the_percentage_coupon(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    shipment = _late_shipment(client, auth, container, custom_fields={"customer_tier": "vip"})
    (offer,) = _offers(client, auth, shipment["order_id"])
    assert offer["data"]["coupon"]["rule_id"] in ("vip", "vip-high-risk")
    assert offer["data"]["coupon"]["percent"] in ("10", "15")


def test_tenant_rule_version_replaces_the_default(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    doc = {
        "rules": [
            {
                "id": "web-generous",
                "when": 'order.channel == "web" && delay.risk > 0.0',
                "then": ['coupon("12.5", "sorry")'],
            },
        ]
    }
    r = client.post("/v1/rules/compensation/versions", json=doc, headers=auth)
    assert r.status_code == 201, r.text
    version = r.json()["version"]
    assert client.post(f"/v1/rules/compensation/versions/{version}/activate", json={}, headers=auth).status_code == 200
    shipment = _late_shipment(client, auth, container)
    (offer,) = _offers(client, auth, shipment["order_id"])
    assert offer["data"]["rule_set_version"] == version
    assert offer["data"]["coupon"]["amount"] == "12.50" and offer["data"]["coupon"]["rule_id"] == "web-generous"


def test_tenant_rule_that_grants_nothing_is_recorded_without_an_event(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    doc = {"rules": [{"id": "never", "when": "true", "then": ['no_coupon("we do not compensate")']}]}
    version = client.post("/v1/rules/compensation/versions", json=doc, headers=auth).json()["version"]
    client.post(f"/v1/rules/compensation/versions/{version}/activate", json={}, headers=auth)
    shipment = _late_shipment(client, auth, container)
    assert _offers(client, auth, shipment["order_id"]) == []
    entries = client.get(f"/v1/orders/{shipment['order_id']}/timeline", headers=auth).json()["entries"]
    declined = [e for e in entries if e.get("action") == "customer.compensation_not_offered"]
    assert len(declined) == 1 and "never" in declined[0]["after"]["reason"]
