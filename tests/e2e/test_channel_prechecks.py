"""Inventory pre-check and compliance rules through ``POST /v1/channels/{name}/webhooks`` on SQLite and PostgreSQL:
an unknown SKU is held with ``sku_unknown``, a fired compliance rule with its rule id, a clean order passes."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import yaml
from fastapi.testclient import TestClient

from orderloom.bootstrap import Container
from tests.e2e import test_channel_webhooks as webhooks
from tests.e2e.test_channel_webhooks import FIXTURES, post

client = webhooks.client  # the same fixtures: a TestClient, a tenant with channel secrets
acme = webhooks.acme

SF = {
    "id": "US-SF1",
    "name": "San Francisco warehouse",
    "type": "warehouse",
    "country": "US",
    "latitude": 37.7749,
    "longitude": -122.4194,
    "time_zone": "America/Los_Angeles",
}
STOCKED = ("IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK", "KINDER-SURPRISE-3")


def _shopify(order_id: int, **skus: str) -> bytes:
    order = json.loads((FIXTURES / "shopify" / "order.json").read_text())["order"]
    order["id"] = order_id
    order["name"] = f"#{order_id}"
    order["total_price"] = "608.94"  # the fixture's total leaves 199.00 unexplained (a totals_unreconciled finding)
    for line in order["line_items"]:
        line["sku"] = skus.get(line["sku"], line["sku"])
    return json.dumps(order).encode()


def _setup(client: TestClient, container: Container, tenant_id: str, key: str) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    assert client.post("/v1/locations", json=SF, headers=auth).status_code == 201
    lines = [{"sku": sku, "location_id": "US-SF1", "quantity": 5} for sku in STOCKED]
    r = client.post("/v1/inventory/receipts", json={"reference": "PO-1", "lines": lines}, headers=auth)
    assert r.status_code == 201, r.text
    text = resources.files("orderloom.data").joinpath("demo_rules.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(text)["compliance"]
    v = container.rules.create_version(tenant_id=tenant_id, kind="compliance", document=document, actor="test")
    container.rules.activate(tenant_id=tenant_id, kind="compliance", version=v.version, actor="test")


def _status(client: TestClient, key: str, order_id: str) -> dict[str, Any]:
    doc = client.get(f"/v1/orders/{order_id}", headers={"Authorization": f"Bearer {key}"}).json()
    status: dict[str, Any] = doc["status"]
    return status


def test_unknown_sku_and_compliance_rule_hold_a_clean_order_passes(
    client: TestClient,
    container: Container,
    acme: tuple[str, str, str],
) -> None:
    tenant_id, key, name = acme
    before = post(client, name, _shopify(9001), webhook_id="w-before")  # no locations yet: the pre-check passes
    assert before.status_code == 200, before.text
    assert before.json()["findings"] == [] and before.json()["applied"] == []
    _setup(client, container, tenant_id, key)

    clean = post(client, name, _shopify(9002), webhook_id="w-clean")
    assert clean.json()["findings"] == [] and clean.json()["applied"] == [], clean.text
    assert _status(client, key, clean.json()["order_ids"][0])["main"] != "on_hold"

    unknown = post(client, name, _shopify(9003, IPOD2008RED="IPOD2008PINK"), webhook_id="w-unknown")
    assert unknown.json()["applied"] == ["fail_validation"], unknown.text
    (finding,) = unknown.json()["findings"]
    assert (finding["code"], finding["level"], finding["field"]) == ("sku_unknown", "inventory", "/lines/1/sku")
    assert "IPOD2008PINK" in finding["message"]
    order_id = unknown.json()["order_ids"][0]
    assert _status(client, key, order_id) == {"main": "on_hold", "sub": "validation_failed"}
    timeline = client.get(f"/v1/orders/{order_id}/timeline", headers={"Authorization": f"Bearer {key}"})
    assert timeline.status_code == 200 and "sku_unknown" in timeline.text

    banned = post(client, name, _shopify(9004, IPOD2008BLACK="KINDER-SURPRISE-3"), webhook_id="w-banned")
    assert banned.json()["applied"] == ["fail_validation"], banned.text
    (finding,) = banned.json()["findings"]
    assert (finding["code"], finding["field"]) == ("compliance_rule", "/rules/restricted-kinder-surprise-us")
    assert finding["message"].startswith("restricted-kinder-surprise-us: ")
    assert _status(client, key, banned.json()["order_ids"][0]) == {"main": "on_hold", "sub": "validation_failed"}
