"""The rules API end to end on SQLite and PostgreSQL: versions, 422s with positions, activation, gray release,
rollback, dry run, YAML export, intake holds through the bus, approvals and rule errors in the timeline."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from orderloom.bootstrap import Container
from orderloom.entrypoints.api.app import create_app
from tests.conftest import example_order

PROBLEM = "application/problem+json"
HOLD_BIG = {"rules": [{"id": "big", "when": "order.grand_total > 5000.0", "then": ["hold('over 5000')"]}]}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, manage_lifecycle=False)) as c:
        yield c


@pytest.fixture
def auth(tenant: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant[1]}"}


def _version(client: TestClient, auth: dict[str, str], kind: str, doc: dict[str, Any]) -> int:
    r = client.post(f"/v1/rules/{kind}/versions", json=doc, headers=auth)
    assert r.status_code == 201, r.text
    version: int = r.json()["version"]
    return version


def _place(client: TestClient, auth: dict[str, str], **overrides: Any) -> str:
    r = client.post("/v1/orders", json=example_order(**overrides), headers=auth)
    assert r.status_code == 201, r.text
    order_id: str = r.json()["id"]
    return order_id


def _big(total: str) -> dict[str, Any]:
    """Totals that add up to ``total`` (the difference goes to shipping)."""
    t = example_order()["totals"]
    shipping = Decimal(total) - Decimal(t["subtotal"]) + Decimal(t["discount"]) - Decimal(t["tax"])
    return {"totals": {**t, "shipping": str(shipping), "grand_total": total}}


def test_invalid_versions_get_422_with_rule_and_position(client: TestClient, auth: dict[str, str]) -> None:
    bad = {"rules": [{"id": "typo", "when": "order.grand_totl > 1.0", "then": ["hold('x')"]}]}
    r = client.post("/v1/rules/hold/versions", json=bad, headers=auth)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["type"].endswith("/rule-set-invalid")
    assert body["errors"][0] | {"message": ""} == {
        "rule_id": "typo",
        "field": "when",
        "line": 1,
        "column": 6,
        "message": "",
    }
    unknown = {"rules": [{"id": "a", "when": "true", "then": ["launch_rocket()"]}]}
    assert "unknown action" in client.post("/v1/rules/hold/versions", json=unknown, headers=auth).text
    conflict = {
        "rules": [
            {"id": "a", "when": "true", "then": ["route_to('A')"]},
            {"id": "b", "when": "true", "then": ["route_to('B')"]},
        ]
    }
    r = client.post("/v1/rules/routing/versions", json=conflict, headers=auth)
    assert r.status_code == 422 and "conflicts with rule a" in r.json()["errors"][0]["message"]
    assert client.post("/v1/rules/nope/versions", json=HOLD_BIG, headers=auth).status_code == 404
    r = client.post("/v1/rules/hold/versions", content=b"{", headers={**auth, "content-type": "application/json"})
    assert r.status_code == 400
    # nothing invalid was stored; an unknown version can't be activated; a draft can't either
    assert client.get("/v1/rules/hold/versions", headers=auth).json()["items"] == []
    r = client.post("/v1/rules/hold/versions/3/activate", headers=auth)
    assert r.status_code == 404 and r.json()["type"].endswith("/rule-version-not-found")
    r = client.post("/v1/rules/hold/versions?draft=true", json=bad, headers=auth)
    assert r.status_code == 201 and r.json()["status"] == "draft"
    r = client.post("/v1/rules/hold/versions/1/activate", headers=auth)
    assert r.status_code == 422 and "draft" in r.json()["detail"]


def test_activation_holds_new_orders_and_rollback_and_yaml_export(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    v1 = _version(client, auth, "hold", HOLD_BIG)
    r = client.post(f"/v1/rules/hold/versions/{v1}/activate", headers=auth)
    assert r.status_code == 200 and r.json()["active_version"] == v1
    big = _place(client, auth, **_big("6000.00"))
    small = _place(client, auth)
    container.relay.drain()
    assert client.get(f"/v1/orders/{big}", headers=auth).json()["status"] == {"main": "on_hold", "sub": "manual_review"}
    assert client.get(f"/v1/orders/{small}", headers=auth).json()["status"]["main"] == "pending"
    timeline = client.get(f"/v1/orders/{big}/timeline", headers=auth).json()["entries"]
    hold = next(e for e in timeline if e.get("action") == "order.hold")
    assert "big: hold(reason='over 5000')" in hold["after"]["params"]["reason"]
    assert hold["after"]["params"]["rules"][0]["fired"][0]["rule_id"] == "big"
    # YAML export round-trips
    text = client.get(f"/v1/rules/hold/versions/{v1}?format=yaml", headers=auth).text
    assert yaml.safe_load(text)["rules"][0]["id"] == "big"
    r = client.post(
        "/v1/rules/hold/versions", content=text.encode(), headers={**auth, "content-type": "application/yaml"}
    )
    assert r.status_code == 201, r.text
    v2 = r.json()["version"]
    client.post(f"/v1/rules/hold/versions/{v2}/activate", headers=auth)
    r = client.post("/v1/rules/hold/rollback", headers=auth)
    assert r.json()["active_version"] == v1
    history = client.get("/v1/rules/hold/history", headers=auth).json()["items"]
    assert [h["action"] for h in history] == ["rules.activate", "rules.activate", "rules.rollback"]
    assert (history[-1]["before"]["active_version"], history[-1]["after"]["active_version"]) == (v2, v1)
    listed = client.get("/v1/rules/hold/versions", headers=auth).json()
    assert [v["active"] for v in listed["items"]] == [True, False]
    # one stored order against the active version, or a named one
    decision = client.get(f"/v1/rules/hold/evaluate/{big}", headers=auth).json()["decision"]
    assert (decision["version"], decision["outcome"], decision["fired"][0]["rule_id"]) == (v1, "hold", "big")
    assert decision["fired"][0]["why"] == "order.grand_total > 5000.0"
    assert (
        client.get(f"/v1/rules/hold/evaluate/{small}?version={v2}", headers=auth).json()["decision"]["outcome"]
        == "pass"
    )
    assert client.get(f"/v1/rules/routing/evaluate/{small}", headers=auth).json()["decision"] is None
    assert client.get(f"/v1/rules/hold/evaluate/{small}?version=99", headers=auth).status_code == 404
    assert client.get("/v1/rules/hold/evaluate/ord_missing", headers=auth).status_code == 404


def test_dry_run_reports_the_diff_on_history(client: TestClient, auth: dict[str, str]) -> None:
    for total in ("6000.00", "3000.00", "100.00", "2500.00"):
        _place(client, auth, **_big(total))
    v1 = _version(client, auth, "hold", HOLD_BIG)
    client.post(f"/v1/rules/hold/versions/{v1}/activate", headers=auth)
    stricter = {"rules": [{"id": "big", "when": "order.grand_total > 2000.0", "then": ["hold('over 2000')"]}]}
    v2 = _version(client, auth, "hold", stricter)
    r = client.post(f"/v1/rules/hold/versions/{v2}/dry-run?since=30d", headers=auth)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["orders"], report["changed"], report["outcome_changed"]) == (4, 3, 2)
    assert report["active_version"] == v1
    assert report["changes"] == {"pass → hold": 2, "hold → hold": 1}  # the 6000 order: same outcome, new reason
    assert (report["hold_rate_before"], report["hold_rate_after"], report["hold_rate_change"]) == (0.25, 0.75, 0.5)
    assert {e["grand_total"] for e in report["examples"]} == {"6000.00", "3000.00", "2500.00"}
    assert client.post(f"/v1/rules/hold/versions/{v2}/dry-run?since=soon", headers=auth).status_code == 422


def test_approval_flow_and_rule_errors(client: TestClient, auth: dict[str, str], container: Container) -> None:
    validation = {
        "rules": [
            {"id": "bulk", "when": "lines.exists(l, l.quantity > 100)", "then": ["require_approval('finance')"]},
            {"id": "vip", "when": "order.custom.vip == true", "then": ["add_tag('vip')"]},
        ]
    }
    v = _version(client, auth, "validation", validation)
    client.post(f"/v1/rules/validation/versions/{v}/activate", headers=auth)
    line = {"sku": "BOLT-M4", "quantity": 150, "unit_price": "0.10"}
    totals = {"subtotal": "15.00", "grand_total": "15.00"}
    bulk = _place(client, auth, lines=[line], totals=totals, custom_fields={"vip": True})
    broken = _place(client, auth, custom_fields={})
    container.relay.drain()
    doc = client.get(f"/v1/orders/{bulk}", headers=auth).json()
    assert doc["status"] == {"main": "on_hold", "sub": "approval_required"}
    assert "vip" in doc["tags"]
    assert client.get(f"/v1/orders/{broken}", headers=auth).json()["status"]["sub"] == "rule_error"
    wrong = client.post(f"/v1/orders/{bulk}/approvals", json={"decision": "approve", "role": "ops"}, headers=auth)
    assert wrong.status_code == 403 and wrong.headers["content-type"] == PROBLEM
    bad = client.post(f"/v1/orders/{bulk}/approvals", json={"decision": "maybe", "role": "x"}, headers=auth)
    assert bad.status_code == 422
    ok = client.post(
        f"/v1/orders/{bulk}/approvals", json={"decision": "approve", "role": "finance", "note": "ok"}, headers=auth
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == {"main": "confirmed", "sub": "released_from_hold"}


def test_gray_release_at_ten_percent_affects_about_ten_percent_of_new_orders(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    none = {"rules": [{"id": "none", "when": "false", "then": ["hold('never')"]}]}
    everything = {"rules": [{"id": "all", "when": "true", "then": ["add_tag('gray')"]}]}
    v1, v2 = _version(client, auth, "hold", none), _version(client, auth, "hold", everything)
    client.post(f"/v1/rules/hold/versions/{v1}/activate", headers=auth)
    r = client.post(f"/v1/rules/hold/versions/{v2}/activate", json={"percent": 10}, headers=auth)
    assert r.json()["gray_release"] == {"version": v2, "percent": 10.0, "channels": []}
    ids = [_place(client, auth) for _ in range(300)]
    while container.relay.drain():
        pass
    tagged = sum("gray" in client.get(f"/v1/orders/{i}", headers=auth).json()["tags"] for i in ids)
    assert 30 - 21 <= tagged <= 30 + 21  # four standard deviations of Binomial(300, 0.1)


def test_custom_fields_and_templates_are_checked_on_intake(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "po_number": {"type": "string", "pattern": "^PO-"},
            "incoterm": {"enum": ["DAP"], "type": "string"},
        },
    }
    assert client.put("/v1/rules/custom-fields", json=schema, headers=auth).status_code == 200
    assert client.get("/v1/rules/custom-fields", headers=auth).json() == schema
    bad = client.put("/v1/rules/custom-fields", json={"properties": {"a": {"type": "date"}}}, headers=auth)
    assert bad.status_code == 422 and bad.headers["content-type"] == PROBLEM
    r = client.put(
        "/v1/rules/templates/b2b", json={"required": ["po_number"], "defaults": {"incoterm": "DAP"}}, headers=auth
    )
    assert r.status_code == 200
    assert client.get("/v1/rules/templates", headers=auth).json()["items"][0]["name"] == "b2b"
    # a hold rule can see the template's default in order.custom
    rule = {"rules": [{"id": "dap", "when": 'order.custom.incoterm == "DAP"', "then": ["add_tag('dap')"]}]}
    v = _version(client, auth, "hold", rule)
    client.post(f"/v1/rules/hold/versions/{v}/activate", headers=auth)
    good = _place(client, auth, custom_fields={"template": "b2b", "po_number": "PO-7"})
    missing = _place(client, auth, custom_fields={"template": "b2b"})
    wrong = _place(client, auth, custom_fields={"po_number": "7", "incoterm": "DAP"})
    container.relay.drain()
    status = {o: client.get(f"/v1/orders/{o}", headers=auth).json() for o in (good, missing, wrong)}
    assert status[good]["status"]["main"] == "pending" and "dap" in status[good]["tags"]
    assert status[missing]["status"]["sub"] == "validation_failed"
    assert status[wrong]["status"]["sub"] == "validation_failed"
    timeline = client.get(f"/v1/orders/{missing}/timeline", headers=auth).json()["entries"]
    failed = next(e for e in timeline if e.get("action") == "order.fail_validation")
    assert "custom_fields.po_number: is required" in failed["after"]["params"]["reason"]


def test_toggles_switch_intake_rules_off_and_are_validated(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    v = _version(client, auth, "hold", {"rules": [{"id": "all", "when": "true", "then": ["hold('all')"]}]})
    client.post(f"/v1/rules/hold/versions/{v}/activate", headers=auth)
    r = client.put("/v1/rules/toggles/rules.intake", json={"enabled": False}, headers=auth)
    assert r.status_code == 200 and r.json() == {
        "name": "rules.intake",
        "enabled": False,
        "percent": 100.0,
        "channels": [],
    }
    untouched = _place(client, auth)
    container.relay.drain()
    assert client.get(f"/v1/orders/{untouched}", headers=auth).json()["status"]["main"] == "pending"
    client.put("/v1/rules/toggles/rules.intake", json={"enabled": True, "channels": ["web"]}, headers=auth)
    web, pos = _place(client, auth, channel="web"), _place(client, auth, channel="pos")
    container.relay.drain()
    assert client.get(f"/v1/orders/{web}", headers=auth).json()["status"]["main"] == "on_hold"
    assert client.get(f"/v1/orders/{pos}", headers=auth).json()["status"]["main"] == "pending"
    assert client.put("/v1/rules/toggles/rules.nope", json={"enabled": True}, headers=auth).status_code == 422
    assert (
        client.put("/v1/rules/toggles/rules.intake", json={"enabled": True, "percent": 101}, headers=auth).status_code
        == 422
    )
    names = [t["name"] for t in client.get("/v1/rules/toggles", headers=auth).json()["items"]]
    assert names == ["rules.intake", "rules.custom_fields"]


def test_redelivered_placed_event_is_harmless(client: TestClient, auth: dict[str, str], container: Container) -> None:
    v = _version(client, auth, "hold", HOLD_BIG)
    client.post(f"/v1/rules/hold/versions/{v}/activate", headers=auth)
    order_id = _place(client, auth, **_big("6000.00"))
    container.relay.drain()
    handler = next(s.handler for s in container.bus.handlers_for("orderloom.order.placed") if s.name == "rules_intake")
    doc = client.get(f"/v1/orders/{order_id}", headers=auth).json()
    event = {
        "id": "evt_again",
        "source": f"/orderloom/tenants/{_tenant_of(container, order_id)}",
        "data": {"order_id": order_id},
    }
    handler(event)  # e.g. after a relay crash between publish and mark_published
    after = client.get(f"/v1/orders/{order_id}", headers=auth).json()
    assert after["status"] == doc["status"] == {"main": "on_hold", "sub": "manual_review"}
    actions = [e.get("action") for e in client.get(f"/v1/orders/{order_id}/timeline", headers=auth).json()["entries"]]
    assert actions.count("order.hold") == 1 and actions.count("order.rules_evaluated") == 1


def _tenant_of(container: Container, order_id: str) -> str:
    import sqlalchemy as sa

    from orderloom.adapters.persistence.tables import orders

    with container.engines.read.connect() as conn:
        return str(conn.execute(sa.select(orders.c.tenant_id).where(orders.c.id == order_id)).scalar_one())
