"""Returns and refunds through the HTTP API on SQLite and PostgreSQL: delivered order → return one line → received
(restocked) → refunded with the figures asserted; refusals as problem+json; exchange; cancellation after shipment."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from orderloom.adapters.persistence.tables import outbox
from orderloom.application.orders import apply_action
from orderloom.bootstrap import Container, utc_now
from orderloom.entrypoints.api.app import create_app
from tests.conftest import example_order
from tests.contract.test_inventory_contract import settle_outbox

PROBLEM = "application/problem+json"
BASE = "https://orderloom.dev/problems/"
WH = {
    "id": "RT-WH1",
    "name": "Returns warehouse",
    "type": "warehouse",
    "country": "US",
    "latitude": 37.77,
    "longitude": -122.41,
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


def _act(client: TestClient, auth: dict[str, str], oid: str, *actions: str) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for action in actions:
        r = client.post(f"/v1/orders/{oid}/actions/{action}", json={}, headers=auth)
        assert r.status_code == 200, r.text
        doc = r.json()
    return doc


def _delivered_order(client: TestClient, auth: dict[str, str], **overrides: Any) -> str:
    r = client.post("/v1/orders", json=example_order(**overrides), headers=auth)
    assert r.status_code == 201, r.text
    oid: str = r.json()["id"]
    doc = _act(client, auth, oid, "confirm", "allocate", "ship", "deliver")
    assert doc["status"]["main"] == "delivered"
    return oid


def _status(client: TestClient, auth: dict[str, str], oid: str) -> str:
    s = client.get(f"/v1/orders/{oid}", headers=auth).json()["status"]
    return f"{s['main']}.{s['sub']}"


def test_return_one_line_receive_restock_and_refund(
    client: TestClient, auth: dict[str, str], container: Container, tenant: tuple[str, str]
) -> None:
    assert client.post("/v1/locations", json=WH, headers=auth).status_code == 201
    oid = _delivered_order(client, auth)
    r = client.post(
        f"/v1/orders/{oid}/returns",
        json={"lines": [{"line_no": 1, "quantity": 1, "reason": "wrong_size", "condition": "opened"}]},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    ret = r.json()
    assert r.headers["location"] == f"/v1/returns/{ret['id']}"
    assert ret["status"] == "approved"
    assert ret["label"]["carrier"] == "fakeship" and ret["label"]["tracking_number"].startswith("FK")
    assert ret["lines"][0]["sku"] == "TSHIRT-BLK-M"
    assert _status(client, auth, oid) == "returning.return_approved"

    r = client.post(f"/v1/returns/{ret['id']}/shipped", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_transit"
    assert _status(client, auth, oid) == "returning.return_in_transit"
    r = client.post(
        f"/v1/returns/{ret['id']}/receive",
        json={"location_id": "RT-WH1", "lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}]},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "received"
    assert _status(client, auth, oid) == "returning.inspecting"
    view = client.get("/v1/inventory/TSHIRT-BLK-M", headers=auth).json()
    assert view["on_hand"] == 1
    ledger = client.get("/v1/inventory/TSHIRT-BLK-M/ledger", headers=auth)
    assert ledger.status_code == 200, ledger.text
    moves = [(m["kind"], m["quantity"], m["reason"], m["location_id"]) for m in ledger.json()["items"]]
    assert moves == [("return", 1, "return:restock", "RT-WH1")]

    quote = client.get(f"/v1/returns/{ret['id']}/refund-quote", headers=auth).json()
    assert quote["due"] == "24.29"
    r = client.post(f"/v1/returns/{ret['id']}/refunds", json={}, headers=auth)
    assert r.status_code == 201, r.text
    body = r.json()
    # 1 of 2 T-shirts at 24.99: half of the 5.00 line discount unwound, half of the 3.60 tax refunded, no fee for
    # wrong_size, no shipping (one line of two back)
    assert body["breakdown"]["lines"] == [
        {
            "line_no": 1,
            "quantity": 1,
            "merchandise": "24.99",
            "discount": "2.50",
            "tax": "1.80",
            "restocking_fee": "0.00",
            "amount": "24.29",
        }
    ]
    assert body["breakdown"]["shipping"] == "0"
    assert body["refund"]["amount"] == "24.29"
    assert body["return"]["status"] == "refunded"
    assert _status(client, auth, oid) == "closed.partially_refunded"

    listing = client.get(f"/v1/orders/{oid}/returns", headers=auth).json()
    assert [x["id"] for x in listing["items"]] == [ret["id"]]
    assert [x["amount"] for x in listing["refunds"]] == ["24.29"]
    with container.engines.read.connect() as conn:
        types = list(
            conn.execute(sa.select(outbox.c.type).where(outbox.c.tenant_id == tenant[0], outbox.c.aggregate_id == oid))
            .scalars()
            .all()
        )
    assert "orderloom.refund.issued" in types

    # nothing left to refund on this return; more than what is left paid is refused with the figures
    _problem(client.post(f"/v1/returns/{ret['id']}/refunds", json={}, headers=auth), 409, "nothing-to-refund")
    p = _problem(
        client.post(f"/v1/returns/{ret['id']}/refunds", json={"amount": "50.00"}, headers=auth),
        409,
        "refund-exceeds-paid",
    )
    assert (p["paid"], p["refunded"], p["left"]) == ("70.03", "24.29", "45.74")


def test_full_return_refunds_shipping_and_restocking_fee(client: TestClient, auth: dict[str, str]) -> None:
    oid = _delivered_order(client, auth)
    lines = [
        {"line_no": 1, "quantity": 2, "reason": "changed_mind"},
        {"line_no": 2, "quantity": 1, "reason": "changed_mind"},
    ]
    ret = client.post(f"/v1/orders/{oid}/returns", json={"lines": lines}, headers=auth).json()
    received = [
        {"line_no": 1, "quantity": 2, "disposition": "restock"},
        {"line_no": 2, "quantity": 1, "disposition": "scrap"},
    ]
    r = client.post(f"/v1/returns/{ret['id']}/receive", json={"lines": received}, headers=auth)
    assert r.status_code == 200, r.text
    key = {**auth, "Idempotency-Key": "refund-1"}
    first = client.post(f"/v1/returns/{ret['id']}/refunds", json={}, headers=key)
    assert first.status_code == 201, first.text
    again = client.post(f"/v1/returns/{ret['id']}/refunds", json={}, headers=key)
    assert (again.status_code, again.headers["idempotent-replayed"], again.json()) == (201, "true", first.json())
    other = client.post(f"/v1/returns/{ret['id']}/refunds", json={"amount": "1.00"}, headers=key)
    _problem(other, 422, "idempotency-key-reused")
    assert len(client.get(f"/v1/orders/{oid}/returns", headers=auth).json()["refunds"]) == 1
    body = first.json()
    # line 1: 49.98 - 5.00 + 3.60 - 10% of 44.98 (4.50) = 44.08; line 2: 12.50 + 1.00 - 1.25 = 12.25; shipping 7.95
    assert [x["amount"] for x in body["breakdown"]["lines"]] == ["44.08", "12.25"]
    assert [x["restocking_fee"] for x in body["breakdown"]["lines"]] == ["4.50", "1.25"]
    assert body["breakdown"]["shipping"] == "7.95"
    assert body["refund"]["amount"] == "64.28"
    assert _status(client, auth, oid) == "closed.partially_refunded"


def test_refusals_name_the_figures(
    client: TestClient, auth: dict[str, str], container: Container, tenant: tuple[str, str]
) -> None:
    oid = _delivered_order(client, auth)
    p = _problem(
        client.post(
            f"/v1/orders/{oid}/returns",
            json={"lines": [{"line_no": 1, "quantity": 3, "reason": "defective"}]},
            headers=auth,
        ),
        422,
        "return-exceeds-shipped",
    )
    assert (p["requested"], p["shipped"], p["already_returned"]) == (3, 2, 0)
    p = _problem(
        client.post(
            f"/v1/orders/{oid}/returns",
            json={"lines": [{"line_no": 2, "quantity": 1, "reason": "changed_mind", "condition": "used"}]},
            headers=auth,
        ),
        422,
        "return-not-authorised",
    )
    assert p["rule_id"] == "condition"
    _problem(
        client.post(
            f"/v1/orders/{oid}/returns", json={"lines": [{"line_no": 9, "quantity": 1, "reason": "nope"}]}, headers=auth
        ),
        422,
        "validation-error",
    )
    # an order delivered 45 days ago (its deliver action applied then): outside the 30-day window
    late = client.post("/v1/orders", json=example_order(), headers=auth).json()["id"]
    _act(client, auth, late, "confirm", "allocate", "ship")
    past = utc_now() - timedelta(days=45, hours=1)
    container.tx.run(
        lambda uow: apply_action(
            uow=uow,
            tenant_id=tenant[0],
            order_id=late,
            action="deliver",
            params={},
            lifecycle=container.lifecycle,
            actor="t",
            now=past,
        )
    )
    p = _problem(
        client.post(
            f"/v1/orders/{late}/returns",
            json={"lines": [{"line_no": 1, "quantity": 1, "reason": "defective"}]},
            headers=auth,
        ),
        422,
        "return-not-authorised",
    )
    assert p["rule_id"] == "window"
    assert p["figures"]["days_since_delivery"] == 45
    assert "45" in p["detail"]
    assert list(container.audit.verify()) == []  # the audit chain is intact
    _problem(client.get("/v1/returns/rma_nope", headers=auth), 404, "return-not-found")
    _problem(client.get("/v1/orders/ord_nope/returns", headers=auth), 404, "not-found")
    _problem(
        client.post(
            "/v1/orders/ord_nope/returns",
            json={"lines": [{"line_no": 1, "quantity": 1, "reason": "defective"}]},
            headers=auth,
        ),
        404,
        "not-found",
    )
    _problem(client.post("/v1/returns/rma_nope/refunds", json={"amount": "-1"}, headers=auth), 422, "validation-error")
    _problem(client.post("/v1/returns/rma_nope/refunds", json={}, headers=auth), 404, "return-not-found")


def test_cancel_after_shipment_points_to_returns_and_becomes_one(client: TestClient, auth: dict[str, str]) -> None:
    r = client.post("/v1/orders", json=example_order(), headers=auth)
    oid = r.json()["id"]
    _act(client, auth, oid, "confirm", "allocate", "ship")
    p = _problem(client.post(f"/v1/orders/{oid}/actions/cancel", json={}, headers=auth), 409, "cancel-after-shipment")
    assert p["cancel_as_return_url"] == f"/v1/orders/{oid}/cancel-as-return"
    r = client.post(f"/v1/orders/{oid}/cancel-as-return", json={}, headers=auth)
    assert r.status_code == 201, r.text
    ret = r.json()
    assert ret["source"] == "cancellation"
    assert [(x["line_no"], x["quantity"], x["reason"]) for x in ret["lines"]] == [
        (1, 2, "cancelled_after_shipment"),
        (2, 1, "cancelled_after_shipment"),
    ]
    # everything is asked back now: a second one finds nothing left
    _problem(client.post(f"/v1/orders/{oid}/cancel-as-return", json={}, headers=auth), 422, "validation-error")
    # a not yet shipped order still cancels normally
    r = client.post("/v1/orders", json=example_order(), headers=auth)
    assert _act(client, auth, r.json()["id"], "cancel")["status"]["sub"] == "cancelled"


def test_exchange_creates_a_linked_paid_order(client: TestClient, auth: dict[str, str]) -> None:
    oid = _delivered_order(client, auth)
    ret = client.post(
        f"/v1/orders/{oid}/returns",
        json={"lines": [{"line_no": 1, "quantity": 1, "reason": "exchange"}]},
        headers=auth,
    ).json()
    client.post(
        f"/v1/returns/{ret['id']}/receive",
        json={"lines": [{"line_no": 1, "quantity": 1, "disposition": "restock"}]},
        headers=auth,
    )
    two = [{"line_no": 1, "sku": "TSHIRT-BLK-L", "quantity": 1}, {"line_no": 1, "sku": "TSHIRT-BLK-S", "quantity": 1}]
    _problem(
        client.post(f"/v1/returns/{ret['id']}/exchange", json={"lines": two}, headers=auth), 422, "validation-error"
    )
    r = client.post(
        f"/v1/returns/{ret['id']}/exchange",
        json={"lines": [{"line_no": 1, "sku": "TSHIRT-BLK-L", "quantity": 1}]},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    new = body["exchange_order"]
    assert body["return"]["exchange_order_id"] == new["id"]
    assert new["custom_fields"]["exchange_for_return"] == ret["id"]
    assert new["payment"]["status"] == "paid"
    assert new["totals"]["grand_total"] == "24.29"
    assert _status(client, auth, oid) == "closed.returned"
    _problem(client.post(f"/v1/returns/{ret['id']}/refunds", json={}, headers=auth), 409, "return-state-conflict")


def test_rule_requiring_approval_keeps_the_return_requested(client: TestClient, auth: dict[str, str]) -> None:
    big = example_order()
    big["lines"][1]["unit_price"] = "612.50"
    big["totals"] = {**big["totals"], "subtotal": "662.48", "grand_total": "670.03"}
    oid = _delivered_order(client, auth, lines=big["lines"], totals=big["totals"])
    ret = client.post(
        f"/v1/orders/{oid}/returns",
        json={"lines": [{"line_no": 2, "quantity": 1, "reason": "defective"}]},
        headers=auth,
    ).json()
    assert (ret["status"], ret["approval_needed"], ret["label"]) == ("requested", "returns", None)
    assert _status(client, auth, oid) == "returning.return_requested"
    _problem(
        client.post(
            f"/v1/returns/{ret['id']}/receive",
            json={"lines": [{"line_no": 2, "quantity": 1, "disposition": "scrap"}]},
            headers=auth,
        ),
        409,
        "return-state-conflict",
    )
    approved = client.post(f"/v1/returns/{ret['id']}/approve", headers=auth).json()
    assert approved["status"] == "approved" and approved["label"] is not None
    assert _status(client, auth, oid) == "returning.return_approved"


def test_customer_returns_from_the_tracking_page(client: TestClient, auth: dict[str, str]) -> None:
    oid = _delivered_order(client, auth)
    path = client.get(f"/v1/orders/{oid}/tracking-link", headers=auth).json()["path"]
    assert 'id="return-link"' in client.get(path).text
    form = client.get(f"{path}/return")
    assert form.status_code == 200
    assert 'name="qty_1"' in form.text and 'value="wrong_size"' in form.text
    empty = client.post(f"{path}/return", data={"qty_1": "0", "qty_2": "0"})
    assert empty.status_code == 422 and "at least one item" in empty.text
    too_many = client.post(f"{path}/return", data={"qty_2": "1", "reason_2": "changed_mind", "condition_2": "used"})
    assert too_many.status_code == 422 and "used items" in too_many.text
    r = client.post(f"{path}/return", data={"qty_1": "1", "reason_1": "wrong_size", "condition_1": "unopened"})
    assert r.status_code == 201, r.text
    assert 'id="return-result"' in r.text and "fakeship FK" in r.text
    listing = client.get(f"/v1/orders/{oid}/returns", headers=auth).json()["items"]
    assert [(x["source"], x["lines"][0]["quantity"]) for x in listing] == [("tracking_page", 1)]
    assert _status(client, auth, oid) == "returning.return_approved"
    body, sig = path.removeprefix("/track/").split(".")
    assert client.get(f"/track/{body}.{sig[::-1]}/return").status_code == 404
    assert client.post(f"/track/{body}.{sig[::-1]}/return", data={"qty_1": "1"}).status_code == 404


def test_a_returns_rule_set_through_the_rules_api(client: TestClient, auth: dict[str, str]) -> None:
    doc = {
        "rules": [
            {
                "id": "mugs-final",
                "when": 'rma.sku == "MUG-WHT" && rma.days_since_delivery >= 0',
                "then": ['deny("mugs are final")'],
            }
        ]
    }
    r = client.post("/v1/rules/returns/versions", json=doc, headers=auth)
    assert r.status_code == 201, r.text
    version = r.json()["version"]
    assert client.post(f"/v1/rules/returns/versions/{version}/activate", json={}, headers=auth).status_code == 200
    bad = client.post(
        "/v1/rules/returns/versions",
        json={"rules": [{"id": "x", "when": "rma.nope > 1", "then": ['deny("x")']}]},
        headers=auth,
    )
    assert bad.status_code == 422
    oid = _delivered_order(client, auth)
    p = _problem(
        client.post(
            f"/v1/orders/{oid}/returns",
            json={"lines": [{"line_no": 2, "quantity": 1, "reason": "wrong_size"}]},
            headers=auth,
        ),
        422,
        "return-not-authorised",
    )
    assert (p["rule_id"], p["reason"]) == ("mugs-final", "mugs are final")
    ok = client.post(
        f"/v1/orders/{oid}/returns",
        json={"lines": [{"line_no": 1, "quantity": 2, "reason": "wrong_size"}]},
        headers=auth,
    )
    assert ok.status_code == 201, ok.text


def test_the_order_timeline_shows_the_return(client: TestClient, auth: dict[str, str]) -> None:
    oid = _delivered_order(client, auth)
    ret = client.post(
        f"/v1/orders/{oid}/returns",
        json={"lines": [{"line_no": 2, "quantity": 1, "reason": "defective"}]},
        headers=auth,
    ).json()
    client.post(
        f"/v1/returns/{ret['id']}/receive",
        json={"lines": [{"line_no": 2, "quantity": 1, "disposition": "scrap"}]},
        headers=auth,
    )
    assert client.post(f"/v1/returns/{ret['id']}/refunds", headers=auth).status_code == 201
    entries = client.get(f"/v1/orders/{oid}/timeline", headers=auth).json()["entries"]
    text = str(entries)
    for kind in ("orderloom.return.requested", "orderloom.return.received", "orderloom.refund.issued"):
        assert kind in text, kind
