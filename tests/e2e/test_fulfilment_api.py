"""Fulfilment over HTTP on SQLite and PostgreSQL: allocation opens fulfilment orders, waves release them, the WMS
confirms picked/packed/shipped (partial, replayed, over-confirmed), rejection re-routes, BOPIS, cancellation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orderloom.adapters.fulfilment_release import SignedWebhookRelease
from orderloom.application.fulfilment import dispatch_releases, expire_pickups
from orderloom.bootstrap import Container, utc_now
from orderloom.entrypoints.api.app import create_app
from tests.conftest import example_order
from tests.contract.test_inventory_contract import settle_outbox

PROBLEM = "application/problem+json"
BASE = "https://orderloom.dev/problems/"
SF = {
    "id": "US-SF1",
    "name": "San Francisco warehouse",
    "type": "warehouse",
    "country": "US",
    "latitude": 37.7749,
    "longitude": -122.4194,
    "cutoff_time": "15:00",
    "time_zone": "America/Los_Angeles",
}
LA = {
    "id": "US-LA1",
    "name": "Los Angeles store",
    "type": "store",
    "country": "US",
    "latitude": 34.0522,
    "longitude": -118.2437,
    "capabilities": ["ship", "pickup"],
    "daily_capacity": 50,
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


def _network(client: TestClient, auth: dict[str, str], la_mugs: int = 0) -> None:
    for loc in (SF, LA):
        assert client.post("/v1/locations", json=loc, headers=auth).status_code == 201
    lines = [
        {"sku": "TSHIRT-BLK-M", "location_id": "US-SF1", "quantity": 10},
        {"sku": "MUG-WHT", "location_id": "US-SF1", "quantity": 5},
        {"sku": "TSHIRT-BLK-M", "location_id": "US-LA1", "quantity": 4},
    ]
    if la_mugs:
        lines.append({"sku": "MUG-WHT", "location_id": "US-LA1", "quantity": la_mugs})
    r = client.post("/v1/inventory/receipts", json={"reference": "PO-1", "lines": lines}, headers=auth)
    assert r.status_code == 201, r.text


def _allocated(client: TestClient, auth: dict[str, str], container: Container, **custom: Any) -> dict[str, Any]:
    body = example_order()
    if custom:
        body["custom_fields"] = custom
    order: dict[str, Any] = client.post("/v1/orders", json=body, headers=auth).json()
    assert client.post(f"/v1/orders/{order['id']}/actions/confirm", headers=auth).status_code == 200
    container.relay.drain()
    assert _status(client, auth, order["id"]) == "allocated.reserved"
    return order


def _status(client: TestClient, auth: dict[str, str], order_id: str) -> str:
    s = client.get(f"/v1/orders/{order_id}", headers=auth).json()["status"]
    return f"{s['main']}.{s['sub']}"


def _fos(client: TestClient, auth: dict[str, str], order_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(f"/v1/orders/{order_id}/fulfilment-orders", headers=auth).json()["items"]
    return items


def _stock(client: TestClient, auth: dict[str, str], sku: str, location_id: str) -> tuple[int, int]:
    for loc in client.get(f"/v1/inventory/{sku}", headers=auth).json()["locations"]:
        if loc["location_id"] == location_id:
            return loc["on_hand"], loc["reserved"]
    raise AssertionError(f"{sku} has no stock at {location_id}")


def _event(
    client: TestClient,
    auth: dict[str, str],
    fo_id: str,
    event_id: str,
    kind: str,
    lines: list[tuple[int, int]],
    **kw: Any,
) -> Any:
    body = {"event_id": event_id, "type": kind, "lines": [{"line_no": n, "quantity": q} for n, q in lines], **kw}
    return client.post(f"/v1/fulfilment-orders/{fo_id}/events", json=body, headers=auth)


def _package(number: str) -> list[dict[str, Any]]:
    return [
        {"weight": 0.8, "dimensions": [30, 20, 10], "carrier": "ups", "service": "ground", "tracking_number": number}
    ]


def _release(client: TestClient, auth: dict[str, str], location_id: str) -> dict[str, Any]:
    r = client.post(f"/v1/locations/{location_id}/waves", json={}, headers=auth)
    assert r.status_code == 201, r.text
    wave: dict[str, Any] = r.json()["wave"]
    return wave


def test_order_released_in_a_wave_partially_then_fully_shipped(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    _network(client, auth)
    order = _allocated(client, auth, container, gift_message="Happy birthday", service_level="express")
    [fo] = _fos(client, auth, order["id"])
    assert (fo["location_id"], fo["status"], fo["service_level"]) == ("US-SF1", "open", "express")
    assert [(ln["line_no"], ln["sku"], ln["quantity"]) for ln in fo["lines"]] == [
        (1, "TSHIRT-BLK-M", 2),
        (2, "MUG-WHT", 1),
    ]
    assert fo["ship_by"] is not None and fo["notes"] == {"gift_message": "Happy birthday"}
    # a wave releases it; the order follows to fulfilling.released_to_warehouse
    wave = _release(client, auth, "US-SF1")
    assert wave["fulfilment_order_ids"] == [fo["id"]]
    assert client.post("/v1/locations/US-SF1/waves", headers=auth).json() == {"wave": None}
    assert _status(client, auth, order["id"]) == "fulfilling.released_to_warehouse"
    pulled = client.get("/v1/locations/US-SF1/fulfilment-orders?status=released", headers=auth).json()["items"]
    assert [x["id"] for x in pulled] == [fo["id"]]
    csv_text = client.get(f"/v1/waves/{wave['id']}/pick-list?format=csv", headers=auth).text
    assert csv_text.splitlines()[0].startswith("wave_id,location_id,fulfilment_order_id")
    assert len(csv_text.splitlines()) == 3 and "Happy birthday" in csv_text
    nd = client.get(f"/v1/waves/{wave['id']}/pick-list?format=ndjson", headers=auth).text.splitlines()
    assert len(nd) == 2
    assert client.post(f"/v1/fulfilment-orders/{fo['id']}/accept", headers=auth).json()["status"] == "accepted"
    # pick everything, ship one T-shirt first
    assert _event(client, auth, fo["id"], "wms-1", "picked", [(1, 2), (2, 1)]).status_code == 200
    assert _status(client, auth, order["id"]) == "fulfilling.released_to_warehouse"
    first = _event(client, auth, fo["id"], "wms-2", "shipped", [(1, 1)], packages=_package("1Z0001"))
    assert first.status_code == 200, first.text
    assert first.json()["order_status"] == "fulfilling.partially_shipped"
    assert _stock(client, auth, "TSHIRT-BLK-M", "US-SF1") == (9, 1)  # 1 left, 1 still reserved
    # the same event again is a replay: same answer, nothing moves twice
    again = _event(client, auth, fo["id"], "wms-2", "shipped", [(1, 1)], packages=_package("1Z0001"))
    assert again.json()["replayed"] is True
    assert again.json()["shipment_ids"] == first.json()["shipment_ids"]
    assert _stock(client, auth, "TSHIRT-BLK-M", "US-SF1") == (9, 1)
    _problem(
        _event(client, auth, fo["id"], "wms-2", "shipped", [(1, 2)], packages=_package("1Z9")), 409, "event-id-reused"
    )
    over = _problem(
        _event(client, auth, fo["id"], "wms-3", "shipped", [(1, 2)], packages=_package("1Z0002")),
        422,
        "over-confirmation",
    )
    assert (over["line_no"], over["requested"], over["already_confirmed"], over["released"]) == (1, 2, 1, 2)
    # the rest leaves: the order is shipped and every reservation of it is fulfilled
    rest = _event(client, auth, fo["id"], "wms-4", "shipped", [(1, 1), (2, 1)], packages=_package("1Z0003"))
    assert rest.json()["order_status"] == "shipped.handed_to_carrier"
    assert rest.json()["fulfilment_order"]["status"] == "shipped"
    assert _stock(client, auth, "TSHIRT-BLK-M", "US-SF1") == (8, 0)
    assert _stock(client, auth, "MUG-WHT", "US-SF1") == (4, 0)
    shipments = client.get(f"/v1/orders/{order['id']}/shipments", headers=auth).json()
    numbers = sorted(n for s in shipments["items"] for n in s["tracking_numbers"])
    assert numbers == ["1Z0001", "1Z0003"]
    # confirmations on a finished FO and unknown FOs are refused with their own problems
    _problem(_event(client, auth, fo["id"], "wms-5", "picked", [(1, 1)]), 409, "fulfilment-order-closed")
    _problem(_event(client, auth, "fo_nope", "wms-6", "picked", [(1, 1)]), 404, "fulfilment-order-not-found")
    _problem(client.get("/v1/waves/wav_nope/pick-list", headers=auth), 404, "wave-not-found")
    container.relay.drain()  # the order's own shipped transition finds nothing left to fulfil
    assert _stock(client, auth, "TSHIRT-BLK-M", "US-SF1") == (8, 0)


def test_bad_confirmations(client: TestClient, auth: dict[str, str], container: Container) -> None:
    _network(client, auth)
    order = _allocated(client, auth, container)
    [fo] = _fos(client, auth, order["id"])
    _problem(_event(client, auth, fo["id"], "e-1", "picked", [(1, 1)]), 409, "fulfilment-order-closed")  # not released
    _release(client, auth, "US-SF1")
    _problem(_event(client, auth, fo["id"], "e-2", "picked", [(9, 1)]), 422, "validation-error")
    _problem(_event(client, auth, fo["id"], "e-3", "picked", [(1, 0)]), 422, "validation-error")
    _problem(_event(client, auth, fo["id"], "e-4", "shipped", [(1, 1)]), 422, "validation-error")  # no tracking number
    _problem(_event(client, auth, fo["id"], "e-5", "teleported", [(1, 1)]), 422, "validation-error")
    body = _problem(_event(client, auth, fo["id"], "e-6", "picked", [(1, 3)]), 422, "over-confirmation")
    assert "picked 3 more but 0 already picked of 2 released" in body["detail"]
    _problem(_event(client, auth, fo["id"], "e-7", "cancel_confirmed", []), 409, "fulfilment-order-closed")
    _problem(client.post("/v1/fulfilment-orders/fo_x/accept", headers=auth), 404, "fulfilment-order-not-found")
    _problem(
        client.put("/v1/locations/US-SF1/fulfilment-settings", json={"release_mode": "webhook"}, headers=auth),
        422,
        "validation-error",
    )


def test_rejection_reroutes_just_the_missing_line(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    _network(client, auth, la_mugs=2)
    order = _allocated(client, auth, container)
    [fo] = _fos(client, auth, order["id"])
    _release(client, auth, "US-SF1")
    # the mug is not on the shelf at SF: only line 2 moves (to LA), the T-shirts carry on at SF
    r = client.post(
        f"/v1/fulfilment-orders/{fo['id']}/reject",
        json={"reason": "shelf empty", "missing": [{"line_no": 2, "quantity": 1}]},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["fulfilment_order"]["status"] == "released"
    assert [(x["location_id"], [ln["line_no"] for ln in x["lines"]]) for x in doc["rerouted_to"]] == [("US-LA1", [2])]
    assert doc["unsourced"] == []
    assert _stock(client, auth, "MUG-WHT", "US-SF1") == (4, 0)  # written off, reservation given back
    assert _stock(client, auth, "MUG-WHT", "US-LA1") == (2, 1)
    _release(client, auth, "US-LA1")
    sf_fo, la_fo = fo["id"], doc["rerouted_to"][0]["id"]
    _event(client, auth, sf_fo, "sf-1", "shipped", [(1, 2)], packages=_package("SF-1"))
    assert _status(client, auth, order["id"]) == "fulfilling.partially_shipped"
    r = _event(client, auth, la_fo, "la-1", "shipped", [(2, 1)], packages=_package("LA-1"))
    assert r.json()["order_status"] == "shipped.handed_to_carrier"
    # a second rejection of a finished FO is refused
    _problem(
        client.post(f"/v1/fulfilment-orders/{sf_fo}/reject", json={"reason": "x"}, headers=auth),
        409,
        "fulfilment-order-closed",
    )


def test_bopis_pickup_code(client: TestClient, auth: dict[str, str], container: Container) -> None:
    _network(client, auth, la_mugs=2)
    body = example_order()
    body["custom_fields"] = {"fulfilment_type": "bopis", "pickup_location": "US-LA1"}
    order = client.post("/v1/orders", json=body, headers=auth).json()
    client.post(f"/v1/orders/{order['id']}/actions/confirm", headers=auth)
    container.relay.drain()
    [fo] = _fos(client, auth, order["id"])
    assert fo["kind"] == "bopis"
    loc = fo["location_id"]
    assert loc == "US-LA1"  # reserved at the pickup store although SF is nearer to the address
    _release(client, auth, loc)
    r = _event(client, auth, fo["id"], "st-1", "packed", [(1, 2), (2, 1)])
    assert r.status_code == 200, r.text
    code = r.json()["pickup_code"]
    assert r.json()["fulfilment_order"]["status"] == "ready_for_pickup" and len(code) == 8
    assert _status(client, auth, order["id"]) == "fulfilling.packed"
    _problem(
        client.post(f"/v1/fulfilment-orders/{fo['id']}/pickup", json={"code": "WRONG"}, headers=auth),
        422,
        "pickup-code-mismatch",
    )
    r = client.post(f"/v1/fulfilment-orders/{fo['id']}/pickup", json={"code": code.lower()}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["order_status"] == "delivered.collected"
    assert _stock(client, auth, "TSHIRT-BLK-M", loc) == (2, 0)
    assert _stock(client, auth, "MUG-WHT", loc) == (1, 0)
    _problem(
        client.post(f"/v1/fulfilment-orders/{fo['id']}/pickup", json={"code": code}, headers=auth),
        409,
        "fulfilment-order-closed",
    )


def test_cancellation_at_each_stage(client: TestClient, auth: dict[str, str], container: Container) -> None:
    _network(client, auth)
    # before release: free, stock back at once, order cancelled
    first = _allocated(client, auth, container)
    bad = {"lines": [{"line_no": 1, "quantity": -1}]}
    _problem(
        client.post(f"/v1/orders/{first['id']}/fulfilment-cancellation", json=bad, headers=auth),
        422,
        "validation-error",
    )
    _problem(client.post("/v1/orders/ord_nope/fulfilment-cancellation", json={}, headers=auth), 404, "not-found")
    r = client.post(f"/v1/orders/{first['id']}/fulfilment-cancellation", json={"reason": "changed mind"}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["order_status"] == "closed.cancelled"
    assert _stock(client, auth, "TSHIRT-BLK-M", "US-SF1") == (10, 0)
    # after release: a request the location answers; refused first, then a partial cancel of one line confirmed
    second = _allocated(client, auth, container)
    [fo] = _fos(client, auth, second["id"])
    _release(client, auth, "US-SF1")
    r = client.post(f"/v1/orders/{second['id']}/fulfilment-cancellation", json={}, headers=auth)
    assert r.json()["fulfilment_orders"][0]["status"] == "cancel_requested"
    _problem(_event(client, auth, fo["id"], "c-0", "picked", [(1, 1)]), 409, "fulfilment-order-closed")
    r = _event(client, auth, fo["id"], "c-1", "cancel_refused", [])
    assert r.json()["fulfilment_order"]["status"] == "released"
    r = client.post(
        f"/v1/orders/{second['id']}/fulfilment-cancellation",
        json={"lines": [{"line_no": 2, "quantity": 1}]},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    r = _event(client, auth, fo["id"], "c-2", "cancel_confirmed", [])
    assert r.json()["fulfilment_order"]["status"] == "released"
    assert [ln["cancelled"] for ln in r.json()["fulfilment_order"]["lines"]] == [0, 1]
    assert _stock(client, auth, "MUG-WHT", "US-SF1") == (5, 0)
    # after shipment: refused, it must become a return
    _event(client, auth, fo["id"], "c-3", "shipped", [(1, 2)], packages=_package("C-1"))
    assert _status(client, auth, second["id"]) == "shipped.handed_to_carrier"
    body = _problem(
        client.post(f"/v1/orders/{second['id']}/fulfilment-cancellation", json={}, headers=auth),
        409,
        "cancel-requires-return",
    )
    assert "return" in body["detail"]
    # a released order cancelled entirely and confirmed by the location ends cancelled
    third = _allocated(client, auth, container)
    [fo3] = _fos(client, auth, third["id"])
    _release(client, auth, "US-SF1")
    client.post(f"/v1/orders/{third['id']}/fulfilment-cancellation", json={}, headers=auth)
    r = _event(client, auth, fo3["id"], "c-4", "cancel_confirmed", [])
    assert (r.json()["fulfilment_order"]["status"], r.json()["order_status"]) == ("cancelled", "closed.cancelled")
    assert _stock(client, auth, "TSHIRT-BLK-M", "US-SF1") == (8, 0)


class _Wms:
    """A fake WMS endpoint: records what it receives, answers with a status."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[str, bytes, dict[str, str]]] = []

    def send(self, url: str, *, body: bytes, headers: dict[str, str]) -> int:
        self.received.append((url, body, headers))
        return self.status


def test_webhook_release_is_a_signed_cloudevent(client: TestClient, auth: dict[str, str], container: Container) -> None:
    _network(client, auth)
    settings = {"release_mode": "webhook", "webhook_url": "https://wms.example/hooks", "webhook_secret": "whsec_abc"}
    r = client.put("/v1/locations/US-SF1/fulfilment-settings", json=settings, headers=auth)
    assert r.status_code == 200 and "webhook_secret" not in r.json()
    order = _allocated(client, auth, container)
    [fo] = _fos(client, auth, order["id"])
    _release(client, auth, "US-SF1")
    down = _Wms(status=503)
    assert dispatch_releases(runner=container.tx, channel=SignedWebhookRelease(down), now=utc_now) == (0, 1)
    wms = _Wms()
    assert dispatch_releases(runner=container.tx, channel=SignedWebhookRelease(wms), now=utc_now) == (1, 0)
    assert dispatch_releases(runner=container.tx, channel=SignedWebhookRelease(wms), now=utc_now) == (0, 0)
    [(url, body, headers)] = wms.received
    event = json.loads(body)
    assert (url, event["type"], event["data"]["id"]) == (
        "https://wms.example/hooks",
        "orderloom.fulfilment_order.released",
        fo["id"],
    )
    assert headers["content-type"] == "application/cloudevents+json"
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(b"whsec_abc", signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"


def test_uncollected_pickup_returns_to_stock(client: TestClient, auth: dict[str, str], container: Container) -> None:
    _network(client, auth, la_mugs=2)
    body = example_order()
    body["custom_fields"] = {"fulfilment_type": "bopis", "pickup_location": "US-LA1"}
    order = client.post("/v1/orders", json=body, headers=auth).json()
    client.post(f"/v1/orders/{order['id']}/actions/confirm", headers=auth)
    container.relay.drain()
    [fo] = _fos(client, auth, order["id"])
    client.put("/v1/locations/US-LA1/fulfilment-settings", json={"pickup_days": 2}, headers=auth)
    _release(client, auth, "US-LA1")
    _event(client, auth, fo["id"], "p-1", "packed", [(1, 2), (2, 1)])
    assert _stock(client, auth, "MUG-WHT", "US-LA1") == (2, 1)
    setup = container.fulfilment
    assert setup is not None
    tenant_id = container.tenants.tenant_for_key(auth["Authorization"].split()[1])
    soon = utc_now() + timedelta(days=1)
    assert container.tx.run(lambda uow: expire_pickups(uow=uow, setup=setup, now=soon, tenant_id=tenant_id)) == 0
    later = utc_now() + timedelta(days=2, minutes=1)
    assert container.tx.run(lambda uow: expire_pickups(uow=uow, setup=setup, now=later, tenant_id=tenant_id)) == 1
    assert _stock(client, auth, "MUG-WHT", "US-LA1") == (2, 0)
    assert _fos(client, auth, order["id"])[0]["status"] == "cancelled"
    assert _status(client, auth, order["id"]) == "closed.cancelled"


def test_ropo_reservation_is_held_until_the_pickup_window_ends_and_paid_at_the_counter(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    _network(client, auth, la_mugs=2)
    body = example_order()
    body["payment"] = {"status": "pending", "method": "in_store"}
    body["custom_fields"] = {"fulfilment_type": "ropo", "pickup_location": "US-LA1"}
    order = client.post("/v1/orders", json=body, headers=auth).json()
    assert client.post(f"/v1/orders/{order['id']}/actions/confirm", headers=auth).status_code == 200
    container.relay.drain()
    [fo] = _fos(client, auth, order["id"])
    assert fo["kind"] == "ropo"
    tenant_id = container.tenants.tenant_for_key(auth["Authorization"].split()[1])
    assert tenant_id
    held = container.tx.run(lambda uow: uow.inventory.reservations_of(tenant_id, order["id"], None))
    assert held and all(r.expires_at is not None and r.expires_at > utc_now() + timedelta(days=2) for r in held)
    _release(client, auth, "US-LA1")
    code = _event(client, auth, fo["id"], "r-1", "packed", [(1, 2), (2, 1)]).json()["pickup_code"]
    _problem(
        client.post(f"/v1/fulfilment-orders/{fo['id']}/pickup", json={"code": code}, headers=auth),
        422,
        "validation-error",
    )
    r = client.post(f"/v1/fulfilment-orders/{fo['id']}/pickup", json={"code": code, "paid": True}, headers=auth)
    assert r.json()["order_status"] == "delivered.collected"
    assert _stock(client, auth, "MUG-WHT", "US-LA1") == (1, 0)


def test_batch_of_confirmations_answers_each_one(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    _network(client, auth)
    order = _allocated(client, auth, container)
    [fo] = _fos(client, auth, order["id"])
    _release(client, auth, "US-SF1")
    events = [
        {
            "fulfilment_order_id": fo["id"],
            "event_id": "b-1",
            "type": "picked",
            "lines": [{"line_no": 1, "quantity": 2}],
        },
        {
            "fulfilment_order_id": fo["id"],
            "event_id": "b-2",
            "type": "picked",
            "lines": [{"line_no": 1, "quantity": 1}],
        },
        {
            "fulfilment_order_id": "fo_nope",
            "event_id": "b-3",
            "type": "picked",
            "lines": [{"line_no": 1, "quantity": 1}],
        },
        {
            "fulfilment_order_id": fo["id"],
            "event_id": "b-4",
            "type": "shipped",
            "lines": [{"line_no": 1, "quantity": 2}, {"line_no": 2, "quantity": 1}],
            "packages": _package("B-1"),
        },
        {
            "fulfilment_order_id": fo["id"],
            "event_id": "b-1",
            "type": "picked",
            "lines": [{"line_no": 1, "quantity": 2}],
        },
    ]
    r = client.post("/v1/fulfilment-events", json={"events": events}, headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["refused"] == 2
    first, over, unknown, shipped, replay = body["results"]
    assert first["replayed"] is False and replay["replayed"] is True
    assert over["problem"]["type"] == BASE + "over-confirmation" and over["problem"]["already_confirmed"] == 2
    assert unknown["problem"]["status"] == 404
    assert shipped["order_status"] == "shipped.handed_to_carrier"
    assert _stock(client, auth, "TSHIRT-BLK-M", "US-SF1") == (8, 0)
    # a cancelled or finished FO takes no more confirmations
    _problem(_event(client, auth, fo["id"], "b-5", "packed", [(1, 1)]), 409, "fulfilment-order-closed")


def test_shipping_units_whose_reservations_are_gone_is_refused(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    _network(client, auth)
    order = _allocated(client, auth, container)
    [fo] = _fos(client, auth, order["id"])
    _release(client, auth, "US-SF1")
    # an operator cancels the order directly (not through the location): its stock is given back
    assert client.post(f"/v1/orders/{order['id']}/actions/cancel", headers=auth).status_code == 200
    container.relay.drain()
    body = _problem(
        _event(client, auth, fo["id"], "g-1", "shipped", [(1, 2)], packages=_package("G-1")), 409, "units-not-reserved"
    )
    assert (body["confirmed"], body["reserved"]) == (2, 0)
    assert [ln["shipped"] for ln in _fos(client, auth, order["id"])[0]["lines"]] == [0, 0]
    assert client.get(f"/v1/orders/{order['id']}/shipments", headers=auth).json()["items"] == []
