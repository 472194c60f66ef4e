"""The SLA inbox end to end: orders change status over HTTP, the bus keeps the clocks, a scan with a frozen clock
flags them, and ``GET /v1/sla/breaches`` lists them (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orderloom.application.sla import scan_sla
from orderloom.bootstrap import Container, utc_now
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


def _order(client: TestClient, auth: dict[str, str], *actions: str) -> str:
    r = client.post("/v1/orders", json=example_order(), headers=auth)
    assert r.status_code == 201, r.text
    order_id: str = r.json()["id"]
    for action in actions:
        r = client.post(f"/v1/orders/{order_id}/actions/{action}", json={"reason": "test"}, headers=auth)
        assert r.status_code == 200, r.text
    return order_id


def _inbox(client: TestClient, auth: dict[str, str], **params: Any) -> Any:
    r = client.get("/v1/sla/breaches", params=params, headers=auth)
    assert r.status_code == 200, r.text
    return r.json()


def test_breach_shows_in_the_inbox_and_leaves_it_when_the_order_moves(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    confirmed = _order(client, auth, "confirm")  # confirmed: 2 h to allocate
    held = _order(client, auth, "hold")  # on_hold.manual_review: 24 h
    container.relay.drain()
    start = utc_now()
    summary = scan_sla(store=container.sla_store, now=start + timedelta(hours=3))
    assert summary.breaches >= 1
    body = _inbox(client, auth)
    assert [i["subject"]["id"] for i in body["items"]] == [confirmed]
    item = body["items"][0]
    assert item["level"] == "breach" and item["status"].startswith("confirmed.")
    assert item["owner"] == "system" and item["suggested_action"] == "allocate"
    assert item["overdue_seconds"] >= 3600 - 60 and item["resolved_at"] is None
    scan_sla(store=container.sla_store, now=start + timedelta(hours=20))  # the hold nears its 24 h
    warnings = _inbox(client, auth, level="warning")["items"]
    assert [(i["subject"]["id"], i["owner"], i["suggested_action"]) for i in warnings] == [
        (held, "merchant", "release")
    ]
    assert _inbox(client, auth, owner="merchant", status="on_hold")["items"][0]["subject"]["id"] == held
    assert _inbox(client, auth, kind="shipment")["items"] == []
    r = client.post(f"/v1/orders/{confirmed}/actions/allocate", json={}, headers=auth)
    assert r.status_code == 200, r.text
    container.relay.drain()
    assert [i["subject"]["id"] for i in _inbox(client, auth)["items"]] == [held]
    resolved = _inbox(client, auth, include_resolved="true", status="confirmed")["items"]
    assert resolved[0]["subject"]["id"] == confirmed and resolved[0]["resolved_at"] is not None


def test_inbox_is_tenant_scoped_and_pages_with_a_cursor(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    ids = {_order(client, auth, "confirm") for _ in range(3)}
    container.relay.drain()
    scan_sla(store=container.sla_store, now=utc_now() + timedelta(hours=3))
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = _inbox(client, auth, **params)
        seen += [i["subject"]["id"] for i in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert sorted(seen) == sorted(ids)
    _, other_key = container.tenants.create("sla-other")
    assert _inbox(client, {"Authorization": f"Bearer {other_key}"})["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"owner": "boss"}, "owner"),
        ({"status": "stuck"}, "status"),
        ({"status": "on_hold.nope"}, "status"),
        ({"kind": "parcel"}, "kind"),
        ({"level": "red"}, "level"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_filters_are_422_problems(client: TestClient, auth: dict[str, str], params: Any, field: str) -> None:
    r = client.get("/v1/sla/breaches", params=params, headers=auth)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["type"] == "https://orderloom.dev/problems/validation-error"
    assert [e["field"] for e in problem["errors"]] == [field]


def test_needs_an_api_key_and_lists_the_rules(client: TestClient, auth: dict[str, str]) -> None:
    r = client.get("/v1/sla/breaches")
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    rules = client.get("/v1/sla/rules", headers=auth).json()["rules"]
    confirmed = next(x for x in rules if x["status"] == "confirmed" and x["channel"] is None)
    assert confirmed["within_hours"] == 2 and confirmed["actions"][0] == "allocate"
