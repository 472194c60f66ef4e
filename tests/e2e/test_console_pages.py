"""The console's stock and configuration pages over HTTP (ASGI in process) on SQLite and PostgreSQL: order blocks
for shipments, routing and rule decisions; inventory by SKU; locations with the offline switch; rule versions with
dry-run diff, activate and rollback; SLA breaches and unmapped carrier codes in the inbox. Viewers see no buttons
and get 403 on every POST."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orderloom.application.passwords import hash_password
from orderloom.application.sla import scan_sla
from orderloom.bootstrap import Container, utc_now
from tests.conftest import example_order
from tests.contract.test_inventory_contract import settle_outbox
from tests.e2e.test_console_http import PASSWORD, Site, csrf_of
from tests.e2e.test_routing_api import OAK, SF1, SH

HOLD_BIG = {"rules": [{"id": "big", "when": "order.grand_total > 1.0", "then": ["hold('big order')"], "priority": 5}]}
TAG_ONLY = {"rules": [{"id": "tag-all", "when": "true", "then": ['add_tag("seen")']}]}


@pytest.fixture
def site(container: Container) -> Iterator[Site]:
    from orderloom.entrypoints.api.app import create_app

    s = Site(container, create_app(container, manage_lifecycle=False))
    container.console.create_user(
        tenant_id=s.tenant_id, username="ada", role="admin", password_hash=hash_password(PASSWORD)
    )
    yield s
    settle_outbox(container.engines.write, [s.tenant_id])


def _api(site: Site) -> tuple[TestClient, dict[str, str]]:
    return TestClient(site.app), {"Authorization": f"Bearer {site.key}"}


def _network(site: Site, stock: list[tuple[str, str, int]]) -> None:
    api, auth = _api(site)
    for loc in (SF1, OAK, SH):
        assert api.post("/v1/locations", json=loc, headers=auth).status_code == 201
    lines = [{"sku": s, "location_id": loc, "quantity": q} for s, loc, q in stock]
    assert (
        api.post("/v1/inventory/receipts", json={"reference": "PO-1", "lines": lines}, headers=auth).status_code == 201
    )


def _confirmed(site: Site) -> str:
    api, auth = _api(site)
    oid: str = api.post("/v1/orders", json=example_order(), headers=auth).json()["id"]
    assert api.post(f"/v1/orders/{oid}/actions/confirm", headers=auth).status_code == 200
    site.c.relay.drain()
    return oid


def _forbidden_post(client: TestClient, path: str, page: str) -> None:
    r = client.post(path, data={"csrf_token": csrf_of(client.get(page).text)}, follow_redirects=False)
    assert r.status_code == 403, r.text


# ---- order blocks -----------------------------------------------------------------------------------------------
def test_order_page_shows_routing_shipments_with_events_and_rule_decisions(site: Site) -> None:
    _network(site, [(s, loc, 5) for s in ("TSHIRT-BLK-M", "MUG-WHT") for loc in ("US-SF1", "US-OAK")])
    api, auth = _api(site)
    assert api.post("/v1/rules/validation/versions", json=TAG_ONLY, headers=auth).status_code == 201
    assert api.post("/v1/rules/validation/versions/1/activate", headers=auth).status_code == 200
    oid = _confirmed(site)
    body = {"order_id": oid, "carrier": "sf_express", "tracking_numbers": ["SF777"], "service": "express"}
    assert api.post("/v1/shipments", json=body, headers=auth).status_code == 201
    route = {"acceptTime": "2024-05-09 10:00:00", "acceptAddress": "深圳", "opCode": "9999", "remark": "神秘操作"}
    hook = {"success": True, "errorCode": "S0000", "msgData": {"routeResps": [{"mailNo": "SF777", "routes": [route]}]}}
    r = api.post("/v1/carriers/sf_express/webhooks", content=json.dumps(hook).encode(), headers=auth)
    assert r.status_code == 200, r.text
    html = site.client("vera").get(f"/console/orders/{oid}").text
    assert "Routing explanation" in html
    assert "US-SF1 (economy) chosen: ¥14.00 vs US-OAK ¥16.00; CN-SH excluded: cannot ship cross-border to US" in html
    assert "CN-SH: cannot ship cross-border to US" in html
    assert "Shipments and carrier events" in html and "SF777" in html and "sf_express" in html
    assert "1 carrier event" in html and "9999" in html and "<em>unmapped</em>" in html
    assert "Rule decisions" in html and "tag-all" in html and "validation v1" in html


def test_order_page_leaves_out_empty_blocks(site: Site) -> None:
    order = site.place()
    html = site.client("vera").get(f"/console/orders/{order['id']}").text
    assert "Lines and totals" in html
    for title in ("Routing explanation", "Shipments and carrier events", "Rule decisions"):
        assert title not in html


# ---- inventory --------------------------------------------------------------------------------------------------
def test_inventory_page_shows_stock_per_location_and_network_atp(site: Site) -> None:
    _network(site, [("MUG-WHT", "US-SF1", 5), ("MUG-WHT", "US-OAK", 3), ("TSHIRT-BLK-M", "US-SF1", 9)])
    _confirmed(site)  # reserves 1 mug (and 2 shirts) at US-SF1
    client = site.client("vera")
    assert "Show stock" in client.get("/console/inventory").text
    html = client.get("/console/inventory", params={"sku": "MUG-WHT"}).text
    assert '<strong id="atp">7</strong>' in html  # 5 + 3 on hand, 1 reserved
    assert "2 locations" in html
    row = html.split("<td>US-SF1</td>")[1].split("</tr>")[0]
    assert [c.split(">")[-1] for c in row.split("</td>")[:4]] == ["5", "1", "0", "4"]
    r = client.get("/console/inventory", params={"sku": "NOPE"})
    assert r.status_code == 404 and "No stock recorded for SKU" in r.text


# ---- locations --------------------------------------------------------------------------------------------------
def test_location_offline_switch_reroutes_and_shows_the_report(site: Site) -> None:
    _network(site, [("TSHIRT-BLK-M", "US-SF1", 4), ("MUG-WHT", "US-SF1", 2), ("TSHIRT-BLK-M", "US-OAK", 2),
                    ("MUG-WHT", "US-OAK", 1)])  # fmt: skip
    first, second = _confirmed(site), _confirmed(site)
    viewer = site.client("vera")
    html = viewer.get("/console/locations").text
    assert "3 locations" in html and "US-OAK" in html and "Take offline" not in html
    _forbidden_post(viewer, "/console/locations/US-SF1/offline", "/console/locations")
    operator = site.client("olga")
    html = operator.get("/console/locations").text
    assert html.count(">Take offline</button>") == 3
    r = operator.post("/console/locations/US-SF1/offline", data={"csrf_token": csrf_of(html)})
    assert r.status_code == 200, r.text
    assert "US-SF1 is offline: 2 order(s) affected" in r.text
    assert f'Re-routed <a href="/console/orders/{first}">{first}</a> to US-OAK' in r.text
    assert f'Held <a href="/console/orders/{second}">{second}</a> (no source)' in r.text
    assert r.text.count(">Take offline</button>") == 2
    assert site.status(first) == "allocated.reserved" and site.status(second) == "on_hold.no_source"
    r = operator.post("/console/locations/NOPE/offline", data={"csrf_token": csrf_of(html)})
    assert r.status_code == 422 and "NOPE" in r.text


# ---- rules ------------------------------------------------------------------------------------------------------
def test_rules_page_dry_run_diff_activate_and_rollback_for_admins_only(site: Site) -> None:
    api, auth = _api(site)
    for doc in (TAG_ONLY, HOLD_BIG):
        assert api.post("/v1/rules/validation/versions", json=doc, headers=auth).status_code == 201
    assert api.post("/v1/rules/validation/versions/1/activate", headers=auth).status_code == 200
    for _ in range(3):
        site.place()
    operator = site.client("olga")
    html = operator.get("/console/rules", params={"kind": "validation"}).text
    assert "2 versions of validation" in html and "<strong>version 1</strong>" in html
    assert "Activate" not in html and "Roll back" not in html
    diff = operator.get("/console/rules", params={"kind": "validation", "diff": 2}).text
    assert "Dry run: version 2 vs active version 1" in diff
    assert '<dd id="changed">3</dd>' in diff and "0.0 % → 100.0 %" in diff
    _forbidden_post(operator, "/console/rules/validation/versions/2/activate", "/console/rules")
    _forbidden_post(site.client("vera"), "/console/rules/validation/rollback", "/console/rules")
    admin = site.client("ada")
    page = admin.get("/console/rules", params={"kind": "validation"}).text
    assert 'aria-label="Activate version 2"' in page and "Roll back" not in page  # nothing to go back to yet
    r = admin.post("/console/rules/validation/versions/2/activate", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 200 and "Version 2 of validation is active." in r.text
    assert "<strong>version 2</strong>" in r.text and "Roll back" in r.text
    r = admin.post("/console/rules/validation/rollback", data={"csrf_token": csrf_of(page)})
    assert "Rolled back: version 1 of validation is active." in r.text
    r = admin.post("/console/rules/validation/versions/9/activate", data={"csrf_token": csrf_of(page)})
    assert "Not activated" in r.text
    assert "No versions yet." in admin.get("/console/rules", params={"kind": "routing"}).text


# ---- inbox ------------------------------------------------------------------------------------------------------
def test_inbox_shows_sla_breaches_and_unmapped_carrier_codes(site: Site) -> None:
    held = site.place()["id"]
    site.act(held, "hold")
    site.c.relay.drain()
    scan_sla(store=site.c.sla_store, now=utc_now() + timedelta(hours=25))  # on_hold.manual_review: 24 h
    api, auth = _api(site)
    shipped = api.post("/v1/orders", json=example_order(status={"main": "shipped", "sub": "handed_to_carrier"}),
                       headers=auth).json()["id"]  # fmt: skip
    body = {"order_id": shipped, "carrier": "sf_express", "tracking_numbers": ["SF888"]}
    assert api.post("/v1/shipments", json=body, headers=auth).status_code == 201
    for at in ("2024-05-09 10:00:00", "2024-05-09 11:00:00"):
        route = {"acceptTime": at, "acceptAddress": "深圳", "opCode": "9998", "remark": "未知"}
        hook = {
            "success": True,
            "errorCode": "S0000",
            "msgData": {"routeResps": [{"mailNo": "SF888", "routes": [route]}]},
        }
        api.post("/v1/carriers/sf_express/webhooks", content=json.dumps(hook).encode(), headers=auth)
    html = site.client("vera").get("/console/inbox").text
    assert "SLA breaches" in html and "<strong>1</strong> breach," in html
    assert f'<a href="/console/orders/{held}">{held}</a>' in html and "merchant" in html
    assert "Unmapped carrier codes" in html and "1 code, 2 scans" in html and "9998" in html


def test_navigation_links_to_the_new_pages(site: Site) -> None:
    html: Any = site.client("vera").get("/console/orders").text
    for path in ("/console/inventory", "/console/locations", "/console/rules"):
        assert f'href="{path}"' in html
