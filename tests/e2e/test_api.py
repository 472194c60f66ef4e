"""The HTTP API end to end (ASGI in process) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from orderloom.adapters.persistence.tables import orders, quarantine
from orderloom.bootstrap import Container
from orderloom.entrypoints.api.app import create_app
from tests.conftest import example_order

PROBLEM = "application/problem+json"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, manage_lifecycle=False)) as c:
        yield c


@pytest.fixture
def auth(tenant: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant[1]}"}


def _count(container: Container, table: sa.Table, tenant_id: str) -> int:
    with container.engines.read.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
            ).scalar_one()
        )


def _post(client: TestClient, auth: dict[str, str], body: Any, **headers: str) -> Any:
    return client.post("/v1/orders", json=body, headers={**auth, **headers})


def test_place_read_and_replay_with_idempotency_key(client: TestClient, auth: dict[str, str]) -> None:
    body = example_order()
    r1 = _post(client, auth, body, **{"Idempotency-Key": "k-1"})
    assert r1.status_code == 201, r1.text
    doc = r1.json()
    assert doc["id"].startswith("ord_")
    assert r1.headers["location"] == f"/v1/orders/{doc['id']}"
    assert doc["totals"] == {
        "subtotal": "62.48",
        "discount": "5.00",
        "shipping": "7.95",
        "tax": "4.60",
        "grand_total": "70.03",
    }
    assert doc["status"] == {"main": "pending", "sub": "awaiting_confirmation"}
    r2 = _post(client, auth, body, **{"Idempotency-Key": "k-1"})
    assert r2.status_code == 201 and r2.json()["id"] == doc["id"]
    assert r2.headers["idempotent-replayed"] == "true"
    r3 = _post(client, auth, {**body, "channel_order_id": "other"}, **{"Idempotency-Key": "k-1"})
    assert r3.status_code == 422 and r3.headers["content-type"] == PROBLEM
    assert r3.json()["type"].endswith("/idempotency-key-reused")
    got = client.get(f"/v1/orders/{doc['id']}", headers=auth).json()
    assert got["lines"][0]["unit_price"] == "24.99"
    assert "confirm" in got["available_actions"]


def test_full_lifecycle_pending_to_closed_and_timeline(client: TestClient, auth: dict[str, str]) -> None:
    oid = _post(client, auth, example_order(status=None, payment={"status": "pending"})).json()["id"]
    path = [
        "mark_paid",
        "allocate",
        "start_fulfilment",
        "pick",
        "pack",
        "ship",
        "mark_in_transit",
        "out_for_delivery",
        "deliver",
        "close",
    ]
    for action in path:
        r = client.post(f"/v1/orders/{oid}/actions/{action}", json={}, headers=auth)
        assert r.status_code == 200, (action, r.text)
    assert r.json()["status"] == {"main": "closed", "sub": "completed"}
    illegal = client.post(f"/v1/orders/{oid}/actions/confirm", headers=auth)
    assert illegal.status_code == 409 and illegal.headers["content-type"] == PROBLEM
    problem = illegal.json()
    assert problem["type"].endswith("/illegal-transition")
    assert f"can't confirm order {oid}: it is closed" in problem["detail"]
    assert problem["current_status"] == "closed.completed"
    tl = client.get(f"/v1/orders/{oid}/timeline", headers=auth).json()["entries"]
    audits = [e for e in tl if e["kind"] == "audit"]
    events = [e for e in tl if e["kind"] == "event"]
    assert [a["action"] for a in audits] == ["order.place"] + [f"order.{a}" for a in path]
    assert len(events) == len(path) + 1
    assert audits[-1]["after"]["status"] == {"main": "closed", "sub": "completed"}


def test_cancel_with_empty_body_and_reason(client: TestClient, auth: dict[str, str]) -> None:
    oid = _post(client, auth, example_order()).json()["id"]
    r = client.post(f"/v1/orders/{oid}/actions/hold", content=b"", headers=auth)
    assert r.status_code == 200 and r.json()["status"]["main"] == "on_hold"
    r = client.post(f"/v1/orders/{oid}/actions/cancel", json={"reason": "customer asked"}, headers=auth)
    assert r.json()["status"] == {"main": "closed", "sub": "cancelled"}
    tl = client.get(f"/v1/orders/{oid}/timeline", headers=auth).json()["entries"]
    assert tl[-1]["kind"] == "event" and tl[-1]["data"]["reason"] == "customer asked"


def test_unknown_action_is_404_with_the_known_ones(client: TestClient, auth: dict[str, str]) -> None:
    oid = _post(client, auth, example_order()).json()["id"]
    r = client.post(f"/v1/orders/{oid}/actions/teleport", json={}, headers=auth)
    assert r.status_code == 404 and "cancel" in r.json()["known_actions"]


def test_cross_tenant_access_is_404(client: TestClient, container: Container, auth: dict[str, str]) -> None:
    oid = _post(client, auth, example_order()).json()["id"]
    _, other_key = container.tenants.create("intruder-" + oid[-6:])
    other = {"Authorization": f"Bearer {other_key}"}
    assert client.get(f"/v1/orders/{oid}", headers=other).status_code == 404
    assert client.get(f"/v1/orders/{oid}/timeline", headers=other).status_code == 404
    assert client.post(f"/v1/orders/{oid}/actions/cancel", json={}, headers=other).status_code == 404
    assert client.get("/v1/orders", headers=other).json()["items"] == []
    assert client.get(f"/v1/orders/{oid}", headers=auth).json()["status"]["main"] == "pending"


def test_list_filters_and_cursor_pagination(client: TestClient, auth: dict[str, str]) -> None:
    ids = [_post(client, auth, example_order(channel="shopify" if i % 2 else "web")).json()["id"] for i in range(7)]
    client.post(f"/v1/orders/{ids[0]}/actions/cancel", json={}, headers=auth)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/orders", params=params, headers=auth).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(ids, reverse=True)
    shopify = client.get("/v1/orders", params={"channel": "shopify"}, headers=auth).json()["items"]
    assert {o["id"] for o in shopify} == set(ids[1::2])
    closed = client.get("/v1/orders", params={"status": "closed"}, headers=auth).json()["items"]
    assert [o["id"] for o in closed] == [ids[0]]
    window = client.get(
        "/v1/orders", params={"placed_from": "2026-11-24T00:00:00Z", "placed_to": "2026-11-25T00:00:00Z"}, headers=auth
    ).json()["items"]
    assert len(window) == 7
    naive = client.get("/v1/orders", params={"placed_from": "2026-11-24T00:00:00"}, headers=auth)
    assert naive.status_code == 422
    assert client.get("/v1/orders", params={"cursor": "garbage"}, headers=auth).status_code == 422


@pytest.mark.parametrize(
    ("mutate", "status", "kind", "field"),
    [
        (lambda b: b.update(currency="XYZ"), 422, "validation-error", "currency"),
        (lambda b: b["lines"][0].update(quantity=-1), 422, "validation-error", "lines[0].quantity"),
        (lambda b: b["lines"][0].update(quantity="2"), 422, "validation-error", "lines[0].quantity"),
        (lambda b: b["totals"].update(grand_total="70.04"), 422, "validation-error", "totals.grand_total"),
        (lambda b: b["totals"].update(subtotal="1.00"), 422, "validation-error", "totals.subtotal"),
        (lambda b: b.pop("lines"), 422, "validation-error", "lines"),
        (lambda b: b.update(placed_at="2026-11-24T15:04:05"), 422, "validation-error", "placed_at"),
        (lambda b: b["shipping_address"].update(country="USA"), 422, "validation-error", "shipping_address.country"),
    ],
)
def test_bad_orders_name_the_field_and_write_nothing_but_quarantine(
    client: TestClient,
    container: Container,
    tenant: tuple[str, str],
    auth: dict[str, str],
    mutate: Any,
    status: int,
    kind: str,
    field: str,
) -> None:
    body = example_order()
    mutate(body)
    r = _post(client, auth, body)
    assert r.status_code == status and r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["type"].endswith("/" + kind)
    assert field in [e["field"] for e in problem["errors"]]
    assert _count(container, orders, tenant[0]) == 0
    assert _count(container, quarantine, tenant[0]) == 1


def test_malformed_json_duplicate_auth_and_size(
    client: TestClient, container: Container, tenant: tuple[str, str], auth: dict[str, str]
) -> None:
    r = client.post("/v1/orders", content=b'{"channel": ', headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["type"].endswith("/malformed-json")
    body = example_order()
    first = _post(client, auth, body).json()["id"]
    dup = _post(client, auth, body)
    assert dup.status_code == 409 and dup.json()["existing_order_id"] == first
    assert _count(container, orders, tenant[0]) == 1
    assert client.get("/v1/orders").status_code == 401
    bad = client.get("/v1/orders", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.headers["content-type"] == PROBLEM
    big = json.dumps({"pad": "x" * (1024 * 1024 + 10)}).encode()
    r = client.post("/v1/orders", content=big, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["type"].endswith("/payload-too-large")


def test_public_endpoints(client: TestClient) -> None:
    tax = client.get("/v1/statuses").json()
    assert [s["name"] for s in tax["statuses"]][:3] == ["pending", "confirmed", "on_hold"]
    assert sum(len(s["substatuses"]) for s in tax["statuses"]) >= 41
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    client.get("/v1/statuses")
    metrics = client.get("/metrics").text
    assert 'orderloom_http_requests_total{method="GET",route="/v1/statuses",status="200"}' in metrics
    spec = client.get("/openapi.json").json()
    content = spec["paths"]["/v1/orders"]["post"]["requestBody"]["content"]["application/json"]
    assert content["example"]["channel_order_id"] == "WEB-100234"
    assert "NewOrder" in spec["components"]["schemas"]


def test_events_reach_the_bus_once(client: TestClient, container: Container, auth: dict[str, str]) -> None:
    oid = _post(client, auth, example_order()).json()["id"]
    client.post(f"/v1/orders/{oid}/actions/cancel", json={}, headers=auth)
    assert container.relay.drain() >= 2
    assert container.relay.drain() == 0
    tl = client.get(f"/v1/orders/{oid}/timeline", headers=auth).json()["entries"]
    assert all(e["published"] for e in tl if e["kind"] == "event")


def test_metrics_show_the_outbox_backlog_and_relay_figures(
    client: TestClient, container: Container, auth: dict[str, str]
) -> None:
    _post(client, auth, example_order())
    text = client.get("/metrics").text
    pending = [float(line.split()[-1]) for line in text.splitlines() if line.startswith("orderloom_outbox_pending ")]
    assert pending[0] >= 1
    container.relay.drain()
    text = client.get("/metrics").text
    assert "orderloom_outbox_pending 0.0" in text
    assert "orderloom_outbox_oldest_age_seconds 0.0" in text
    published = next(
        float(line.split()[-1]) for line in text.splitlines() if line.startswith("orderloom_relay_published_total ")
    )
    assert published >= 1
    assert "orderloom_relay_lag_seconds_bucket" in text
