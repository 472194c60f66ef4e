"""Locations and inventory over HTTP on SQLite and PostgreSQL: happy paths, bad input as problem+json, allocation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orderloom.bootstrap import Container
from orderloom.entrypoints.api.app import create_app
from tests.conftest import example_order
from tests.contract.test_inventory_contract import settle_outbox

PROBLEM = "application/problem+json"
BASE = "https://orderloom.dev/problems/"
SH = {
    "id": "SH-WH1",
    "name": "Shanghai warehouse",
    "type": "warehouse",
    "country": "CN",
    "city": "Shanghai",
    "latitude": 31.2304,
    "longitude": 121.4737,
    "capabilities": ["ship", "cross_border"],
    "daily_capacity": 5000,
    "cutoff_time": "16:00",
    "time_zone": "Asia/Shanghai",
}
SF = {
    "id": "US-SF1",
    "name": "San Francisco warehouse",
    "type": "overseas",
    "country": "US",
    "latitude": 37.7749,
    "longitude": -122.4194,
    "time_zone": "America/Los_Angeles",
}


@pytest.fixture
def client(container: Container, tenant: tuple[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(container, manage_lifecycle=False)) as c:
        yield c
    settle_outbox(container.engines.write, [tenant[0]])


@pytest.fixture
def auth(tenant: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant[1]}"}


def _problem(r: Any, status: int, kind: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["type"] == BASE + kind
    return body


def _network(client: TestClient, auth: dict[str, str]) -> None:
    for loc in (SH, SF):
        assert client.post("/v1/locations", json=loc, headers=auth).status_code == 201
    r = client.post(
        "/v1/inventory/receipts",
        json={
            "reference": "PO-1",
            "lines": [
                {"sku": "TSHIRT-BLK-M", "location_id": "SH-WH1", "quantity": 10},
                {"sku": "TSHIRT-BLK-M", "location_id": "US-SF1", "quantity": 3},
                {"sku": "MUG-WHT", "location_id": "US-SF1", "quantity": 1},
            ],
        },
        headers=auth,
    )
    assert r.status_code == 201, r.text


def test_locations_create_read_list_patch(client: TestClient, auth: dict[str, str]) -> None:
    r = client.post("/v1/locations", json=SH, headers=auth)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/v1/locations/SH-WH1"
    doc = r.json()
    assert doc["capabilities"] == ["cross_border", "ship"]
    assert (doc["cutoff_time"], doc["time_zone"], doc["active"]) == ("16:00", "Asia/Shanghai", True)
    assert client.get("/v1/locations/SH-WH1", headers=auth).json() == doc
    assert [x["id"] for x in client.get("/v1/locations", headers=auth).json()["items"]] == ["SH-WH1"]
    r = client.patch("/v1/locations/SH-WH1", json={"active": False, "daily_capacity": 100}, headers=auth)
    assert r.status_code == 200, r.text
    assert (r.json()["active"], r.json()["daily_capacity"]) == (False, 100)


def test_location_bad_input(client: TestClient, auth: dict[str, str]) -> None:
    assert client.post("/v1/locations", json=SH, headers=auth).status_code == 201
    _problem(client.post("/v1/locations", json=SH, headers=auth), 409, "duplicate-location")
    body = _problem(
        client.post("/v1/locations", json={**SH, "id": "X", "time_zone": "Mars/Base"}, headers=auth),
        422,
        "validation-error",
    )
    assert body["errors"][0]["field"] == "time_zone"
    _problem(
        client.post("/v1/locations", json={**SH, "id": "Y", "type": "castle"}, headers=auth), 422, "validation-error"
    )
    _problem(client.get("/v1/locations/NOPE", headers=auth), 404, "location-not-found")
    _problem(client.patch("/v1/locations/NOPE", json={"active": False}, headers=auth), 404, "location-not-found")
    _problem(client.patch("/v1/locations/SH-WH1", json={"active": None}, headers=auth), 422, "validation-error")
    assert client.get("/v1/locations").status_code == 401


def test_receipts_adjustments_view_and_ledger(client: TestClient, auth: dict[str, str]) -> None:
    _network(client, auth)
    view = client.get("/v1/inventory/TSHIRT-BLK-M", headers=auth).json()
    assert (view["on_hand"], view["reserved"], view["atp"]) == (13, 0, 13)
    assert [(x["location_id"], x["available"]) for x in view["locations"]] == [("SH-WH1", 10), ("US-SF1", 3)]
    replay = client.post(
        "/v1/inventory/receipts",
        json={
            "reference": "PO-1",
            "lines": [
                {"sku": "TSHIRT-BLK-M", "location_id": "SH-WH1", "quantity": 10},
                {"sku": "TSHIRT-BLK-M", "location_id": "US-SF1", "quantity": 3},
                {"sku": "MUG-WHT", "location_id": "US-SF1", "quantity": 1},
            ],
        },
        headers=auth,
    )
    assert (replay.status_code, replay.headers["idempotent-replayed"]) == (200, "true")
    assert client.get("/v1/inventory/TSHIRT-BLK-M", headers=auth).json()["atp"] == 13
    r = client.post(
        "/v1/inventory/adjustments",
        json={"sku": "TSHIRT-BLK-M", "location_id": "US-SF1", "change": -5, "reason": "count"},
        headers=auth,
    )
    body = _problem(r, 409, "insufficient-stock")
    assert (body["on_hand"], body["reserved"], body["quantity"]) == (3, 0, -5)
    assert "on hand 3" in body["detail"]
    r = client.post(
        "/v1/inventory/adjustments",
        json={"sku": "TSHIRT-BLK-M", "location_id": "US-SF1", "change": -1, "reason": "damaged"},
        headers=auth,
    )
    assert (r.status_code, r.json()["on_hand"]) == (200, 2)
    r = client.post(
        "/v1/inventory/transfers",
        json={"sku": "TSHIRT-BLK-M", "source": "SH-WH1", "destination": "US-SF1", "quantity": 4, "reference": "T1"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["source"]["on_hand"], r.json()["destination"]["on_hand"]) == (6, 6)
    page1 = client.get("/v1/inventory/TSHIRT-BLK-M/ledger?limit=3", headers=auth).json()
    assert [m["kind"] for m in page1["items"]] == ["receipt", "receipt", "adjustment"]
    page2 = client.get(f"/v1/inventory/TSHIRT-BLK-M/ledger?limit=3&cursor={page1['next_cursor']}", headers=auth).json()
    assert [(m["kind"], m["quantity"]) for m in page2["items"]] == [("transfer", -4), ("transfer", 4)]
    assert page2["next_cursor"] is None


def test_inventory_bad_input(client: TestClient, auth: dict[str, str]) -> None:
    _network(client, auth)
    _problem(client.get("/v1/inventory/NO-SUCH-SKU", headers=auth), 404, "stock-not-found")
    _problem(client.get("/v1/inventory/NO-SUCH-SKU/ledger", headers=auth), 404, "stock-not-found")
    neg = {"reference": "PO-9", "lines": [{"sku": "A", "location_id": "SH-WH1", "quantity": -1}]}
    body = _problem(client.post("/v1/inventory/receipts", json=neg, headers=auth), 422, "validation-error")
    assert body["errors"][0]["field"] == "lines.0.quantity"
    unknown = {"reference": "PO-9", "lines": [{"sku": "A", "location_id": "NOPE", "quantity": 1}]}
    _problem(client.post("/v1/inventory/receipts", json=unknown, headers=auth), 404, "location-not-found")
    # the failed receipt left nothing behind: its reference is still free
    ok = {"reference": "PO-9", "lines": [{"sku": "A", "location_id": "SH-WH1", "quantity": 1}]}
    assert client.post("/v1/inventory/receipts", json=ok, headers=auth).status_code == 201
    other = {"reference": "PO-9", "lines": [{"sku": "A", "location_id": "SH-WH1", "quantity": 2}]}
    _problem(client.post("/v1/inventory/receipts", json=other, headers=auth), 409, "receipt-reference-reused")
    zero = {"sku": "A", "location_id": "SH-WH1", "change": 0, "reason": "x"}
    _problem(client.post("/v1/inventory/adjustments", json=zero, headers=auth), 422, "validation-error")
    bad_sku = {"sku": "!!", "location_id": "SH-WH1", "change": 1, "reason": "x"}
    _problem(client.post("/v1/inventory/adjustments", json=bad_sku, headers=auth), 422, "validation-error")
    _problem(client.get("/v1/inventory/A/ledger?cursor=zz", headers=auth), 422, "validation-error")


def test_confirming_an_order_allocates_it_and_cancel_releases(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    _network(client, auth)
    # the example order ships to San Francisco: 2 x TSHIRT-BLK-M and 1 x MUG-WHT; only US-SF1 holds both
    order = client.post("/v1/orders", json=example_order(), headers=auth).json()
    assert client.post(f"/v1/orders/{order['id']}/actions/confirm", headers=auth).status_code == 200
    container.relay.drain()
    doc = client.get(f"/v1/orders/{order['id']}", headers=auth).json()
    assert doc["status"] == {"main": "allocated", "sub": "reserved"}
    sf = client.get("/v1/inventory/MUG-WHT", headers=auth).json()["locations"][0]
    assert (sf["location_id"], sf["reserved"], sf["available"]) == ("US-SF1", 1, 0)
    # a second identical order finds no single location with a mug: stock shortage hold, not an error
    second = client.post("/v1/orders", json=example_order(), headers=auth).json()
    client.post(f"/v1/orders/{second['id']}/actions/confirm", headers=auth)
    container.relay.drain()
    assert client.get(f"/v1/orders/{second['id']}", headers=auth).json()["status"] == {
        "main": "on_hold",
        "sub": "stock_shortage",
    }
    # cancelling the first gives its stock back; the held one can then be reserved explicitly
    assert client.post(f"/v1/orders/{order['id']}/actions/cancel", headers=auth).status_code == 200
    container.relay.drain()
    assert client.get("/v1/inventory/MUG-WHT", headers=auth).json()["atp"] == 1
    r = client.post("/v1/inventory/reservations", json={"order_id": second["id"]}, headers=auth)
    assert r.status_code == 200, r.text
    assert (r.json()["location_id"], len(r.json()["reservations"])) == ("US-SF1", 2)
    assert client.get(f"/v1/orders/{second['id']}", headers=auth).json()["status"]["main"] == "allocated"
    body = _problem(
        client.post("/v1/inventory/reservations", json={"order_id": order["id"]}, headers=auth),
        409,
        "order-not-reservable",
    )
    assert body["current_status"] == "closed.cancelled"
    _problem(client.post("/v1/inventory/reservations", json={"order_id": "ord_nope"}, headers=auth), 404, "not-found")


def test_other_tenants_stock_is_invisible(client: TestClient, auth: dict[str, str], container: Container) -> None:
    _network(client, auth)
    _, other_key = container.tenants.create(f"other-{uuid.uuid4().hex[:8]}")
    other = {"Authorization": f"Bearer {other_key}"}
    _problem(client.get("/v1/inventory/TSHIRT-BLK-M", headers=other), 404, "stock-not-found")
    _problem(client.get("/v1/locations/SH-WH1", headers=other), 404, "location-not-found")
    assert client.get("/v1/locations", headers=other).json() == {"items": []}


def test_presale_deposit_promises_incoming_supply_and_receipt_allocates(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    assert client.post("/v1/locations", json=SH, headers=auth).status_code == 201
    po = {"reference": "PO-77", "location_id": "SH-WH1", "expected_at": "2026-12-20T00:00:00Z"}
    r = client.post(
        "/v1/inventory/purchase-orders", json={**po, "lines": [{"sku": "PRE-1", "quantity": 2}]}, headers=auth
    )
    assert r.status_code == 201, r.text
    assert r.json()["lines"][0]["promisable"] == 2
    dup = client.post(
        "/v1/inventory/purchase-orders", json={**po, "lines": [{"sku": "PRE-1", "quantity": 1}]}, headers=auth
    )
    _problem(dup, 409, "duplicate-purchase-order")
    naive = {**po, "reference": "PO-78", "expected_at": "2026-12-20T00:00:00", "lines": [{"sku": "A", "quantity": 1}]}
    _problem(client.post("/v1/inventory/purchase-orders", json=naive, headers=auth), 422, "validation-error")
    body = example_order(
        lines=[{"sku": "PRE-1", "quantity": 1, "unit_price": "80.00"}],
        totals={"subtotal": "80.00", "grand_total": "80.00"},
        payment={"status": "pending"},
        status={"main": "pending", "sub": "awaiting_deposit"},
    )
    order = client.post("/v1/orders", json=body, headers=auth).json()
    assert client.post(f"/v1/orders/{order['id']}/actions/record_partial_payment", headers=auth).status_code == 200
    container.relay.drain()
    view = client.get("/v1/inventory/PRE-1", headers=auth).json()
    assert (view["atp"], view["promisable_incoming"], view["incoming"][0]["promised"]) == (0, 1, 1)
    assert client.post(f"/v1/orders/{order['id']}/actions/mark_paid", headers=auth).status_code == 200
    container.relay.drain()
    doc = client.get(f"/v1/orders/{order['id']}", headers=auth).json()
    assert doc["status"] == {"main": "on_hold", "sub": "stock_shortage"}  # paid, goods not here yet
    r = client.post("/v1/inventory/purchase-orders/PO-77/receipt", headers=auth)
    assert (r.status_code, r.json()["served_orders"]) == (200, [order["id"]])
    assert client.get(f"/v1/orders/{order['id']}", headers=auth).json()["status"]["main"] == "allocated"
    view = client.get("/v1/inventory/PRE-1", headers=auth).json()
    assert (view["on_hand"], view["reserved"], view["atp"], view["incoming"]) == (2, 1, 1, [])
    _problem(
        client.post("/v1/inventory/purchase-orders/PO-NOPE/receipt", headers=auth), 404, "purchase-order-not-found"
    )
    cap = client.get("/v1/locations/SH-WH1/capacity?day=2026-12-01", headers=auth).json()
    assert cap == {"location_id": "SH-WH1", "day": "2026-12-01", "capacity": 5000, "used": 0, "remaining": 5000}
