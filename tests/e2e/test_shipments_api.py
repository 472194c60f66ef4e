"""Shipments and carrier webhooks over HTTP (ASGI in process) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from orderloom.adapters.carriers.code_maps import CodeMapStore
from orderloom.adapters.persistence.tables import outbox
from orderloom.bootstrap import Container
from orderloom.entrypoints.api.app import create_app
from tests.conftest import example_order

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "carriers"
PROBLEM = "application/problem+json"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, manage_lifecycle=False)) as c:
        yield c


@pytest.fixture
def auth(tenant: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant[1]}"}


def _order(client: TestClient, auth: dict[str, str], status: str = "shipped.handed_to_carrier") -> str:
    main, sub = status.split(".")
    r = client.post("/v1/orders", json=example_order(status={"main": main, "sub": sub}), headers=auth)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


SHIPPED_AT = {
    "dhl_express": "2009-08-28T10:00:00Z",
    "usps": "2024-11-15T12:00:00Z",
    "sf_express": "2024-05-09T00:00:00Z",
    "yanwen": "2019-08-15T00:00:00Z",
}


def _shipment(client: TestClient, auth: dict[str, str], order_id: str, carrier: str, *numbers: str) -> dict[str, Any]:
    body = {"order_id": order_id, "carrier": carrier, "tracking_numbers": list(numbers), "service": "express"}
    if carrier in SHIPPED_AT:
        body["shipped_at"] = SHIPPED_AT[carrier]
    r = client.post("/v1/shipments", json=body, headers=auth)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _hook(client: TestClient, auth: dict[str, str], carrier: str, body: bytes) -> Any:
    return client.post(f"/v1/carriers/{carrier}/webhooks", content=body, headers=auth)


def _types(container: Container, aggregate_id: str) -> list[str]:
    with container.engines.read.connect() as conn:
        rows = conn.execute(
            sa.select(outbox.c.type).where(outbox.c.aggregate_id == aggregate_id).order_by(outbox.c.seq)
        )
        return [r.type for r in rows]


def test_webhook_applies_scans_and_the_order_follows(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    order_id = _order(client, auth)
    shipment = _shipment(client, auth, order_id, "dhl_express", "3180831640")
    assert shipment["status"] is None and shipment["tracking_numbers"] == ["3180831640"]
    body = (FIXTURES / "dhl_express" / "tracking_multi_raw.xml").read_bytes()
    r = _hook(client, auth, "dhl_express", body)
    assert r.status_code == 200, r.text
    results = {x["tracking_number"]: x for x in r.json()["results"]}
    mine = results["3180831640"]
    assert (mine["recorded"], mine["status"], mine["order_status"]) == (16, "delivered.signed", "delivered.signed")
    assert results["7740842550"]["error"]["kind"] == "unknown_tracking_number"
    assert results["7740842550"]["error"]["quarantine_id"].startswith("qtn_")
    again = _hook(client, auth, "dhl_express", body).json()["results"][0]
    assert (again["recorded"], again["duplicates"], again["status_changed"]) == (0, 16, False)
    doc = client.get(f"/v1/shipments/{shipment['id']}", headers=auth).json()
    assert doc["status"] == {"main": "delivered", "sub": "signed"}
    assert len(doc["events"]) == 16 and doc["events"][0]["raw_code"] == "OK"
    assert doc["events"][0]["signatory"] == "CAMPAGNA"
    assert doc["owner"] == "system" and "start_return" in doc["next_actions"] and doc["meaning"].startswith("Delivered")
    assert doc["last_location"] == {"text": "Milan - Italy", "city": "Milan", "country": "IT", "facility": "MIL"}
    listed = client.get(f"/v1/orders/{order_id}/shipments", headers=auth).json()["items"]
    assert [s["id"] for s in listed] == [shipment["id"]]
    assert client.get(f"/v1/orders/{order_id}", headers=auth).json()["status"] == {"main": "delivered", "sub": "signed"}
    types = _types(container, shipment["id"])
    assert types[0] == "orderloom.shipment.created"
    assert types.count("orderloom.shipment.scan_recorded") == 16
    assert types.count("orderloom.shipment.status_changed") == 1


def test_out_of_order_arrival_keeps_the_newest_status(client: TestClient, auth: dict[str, str]) -> None:
    order_id = _order(client, auth)
    shipment = _shipment(client, auth, order_id, "usps", "9400109104250532908587")
    doc = json.loads((FIXTURES / "usps" / "tracking_delivered_raw.json").read_text())
    newest, older = (
        dict(doc, trackingEvents=doc["trackingEvents"][:2]),
        dict(doc, trackingEvents=doc["trackingEvents"][2:]),
    )
    first = _hook(client, auth, "usps", json.dumps(newest).encode()).json()["results"][0]
    assert first["status"] == "delivered.left_at_safe_place"
    late = _hook(client, auth, "usps", json.dumps(older).encode()).json()["results"][0]
    assert (late["recorded"], late["status"], late["status_changed"]) == (10, "delivered.left_at_safe_place", False)
    events = client.get(f"/v1/shipments/{shipment['id']}", headers=auth).json()["events"]
    assert [e["raw_code"] for e in events][:3] == ["01", "OF", "07"]


def test_unmapped_codes_are_counted_and_a_hot_reload_maps_them(
    client: TestClient, auth: dict[str, str], container: Container, tmp_path: Path
) -> None:
    maps_dir = tmp_path / "carriers"
    shutil.copytree(Path(container.tracking.maps.directory), maps_dir)  # type: ignore[union-attr, attr-defined]
    store = CodeMapStore([str(s) for s in container.lifecycle.all_statuses()], maps_dir)
    container.tracking = replace(container.tracking, maps=store, refresh_maps=store.refresh, reload_maps=store.reload)  # type: ignore[arg-type]
    order_id = _order(client, auth)
    shipment = _shipment(client, auth, order_id, "sf_express", "SF100")

    def payload(op: str, when: str) -> bytes:
        route = {"acceptTime": when, "acceptAddress": "深圳", "opCode": op, "remark": "神秘操作"}
        return json.dumps(
            {"success": True, "errorCode": "S0000", "msgData": {"routeResps": [{"mailNo": "SF100", "routes": [route]}]}}
        ).encode()

    r1 = _hook(client, auth, "sf_express", payload("9999", "2024-05-09 10:00:00")).json()["results"][0]
    r2 = _hook(client, auth, "sf_express", payload("9999", "2024-05-09 11:00:00")).json()["results"][0]
    assert (r1["unmapped"], r2["unmapped"], r2["status"]) == (1, 1, None)
    items = client.get("/v1/carriers/unmapped", headers=auth).json()["items"]
    assert [(i["carrier"], i["code"], i["count"]) for i in items] == [("sf_express", "9999", 2)]
    text = (
        (maps_dir / "sf_express.yaml")
        .read_text()
        .replace("      '80': delivered.signed", "      '80': delivered.signed\n      '9999': in_transit.in_transit")
    )
    (maps_dir / "sf_express.yaml").write_text(text)
    assert client.post("/v1/carriers/mappings/reload", headers=auth).json()["reloaded"][-1] == "yunexpress"
    r3 = _hook(client, auth, "sf_express", payload("9999", "2024-05-09 12:00:00")).json()["results"][0]
    assert (r3["unmapped"], r3["status"]) == (0, "in_transit.in_transit")
    assert client.get(f"/v1/shipments/{shipment['id']}", headers=auth).json()["status"]["main"] == "in_transit"
    (maps_dir / "sf_express.yaml").write_text("carrier: sf_express\nformats: {rest: {codes: {'1': no.such}}}\n")
    bad = client.post("/v1/carriers/mappings/reload", headers=auth)
    assert bad.status_code == 422 and bad.json()["type"].endswith("/invalid-code-map")


def test_future_scan_is_stored_and_flagged_and_refused_order_sync_is_recorded(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    order_id = _order(client, auth, "pending.awaiting_payment")
    shipment = _shipment(client, auth, order_id, "yanwen", "YW1")
    body = {
        "code": 0,
        "result": [
            {
                "tracking_number": "YW1",
                "checkpoints": [
                    {"time_stamp": "2099-01-01T10:00:00", "time_zone": "+8", "tracking_status": "PU10", "message": "x"},
                    {
                        "time_stamp": "2019-08-15T18:52:19",
                        "time_zone": "+8",
                        "tracking_status": "PU10",
                        "message": "Yanwen Acceptance",
                    },
                ],
            }
        ],
    }
    r = _hook(client, auth, "yanwen", json.dumps(body).encode()).json()["results"][0]
    assert (r["recorded"], r["flagged"], r["status"]) == (2, 1, "shipped.handed_to_carrier")
    assert r["order_sync"].startswith("refused:") and r["order_status"] == "pending.awaiting_payment"
    events = client.get(f"/v1/shipments/{shipment['id']}", headers=auth).json()["events"]
    assert [e["flag"] for e in events] == ["future", None]
    assert "orderloom.shipment.order_sync_refused" in _types(container, shipment["id"])


def test_bad_input_is_a_clear_4xx(client: TestClient, auth: dict[str, str]) -> None:
    order_id = _order(client, auth)
    bad_carrier = client.post(
        "/v1/shipments", json={"order_id": order_id, "carrier": "pigeon", "tracking_numbers": ["1"]}, headers=auth
    )
    assert bad_carrier.status_code == 422 and bad_carrier.json()["type"].endswith("/unknown-carrier")
    no_order = client.post(
        "/v1/shipments", json={"order_id": "ord_nope", "carrier": "ups", "tracking_numbers": ["1"]}, headers=auth
    )
    assert no_order.status_code == 404
    _shipment(client, auth, order_id, "ups", "1ZTAKEN")
    taken = client.post(
        "/v1/shipments", json={"order_id": order_id, "carrier": "ups", "tracking_numbers": ["1ZTAKEN"]}, headers=auth
    )
    assert taken.status_code == 409 and taken.json()["type"].endswith("/tracking-number-taken")
    extra = client.post(
        "/v1/shipments", json={"order_id": order_id, "carrier": "ups", "tracking_numbers": ["2"], "x": 1}, headers=auth
    )
    assert extra.status_code == 422
    malformed = _hook(client, auth, "ups", b'{"trackResponse": ')
    assert malformed.status_code == 422 and malformed.headers["content-type"].startswith(PROBLEM)
    assert malformed.json()["quarantine_id"].startswith("qtn_")
    assert _hook(client, auth, "pigeon", b"{}").status_code == 404
    assert client.get("/v1/shipments/shp_nope", headers=auth).status_code == 404
    assert client.get("/v1/orders/ord_nope/shipments", headers=auth).status_code == 404
    assert client.post("/v1/carriers/ups/webhooks", content=b"{}").status_code == 401
    not_found = _hook(client, auth, "ups", (FIXTURES / "ups" / "invalid_tracking_number_raw.json").read_bytes())
    assert not_found.status_code == 200 and not_found.json()["results"][0]["error"]["kind"] == "not_found"


def test_telemetry_cold_chain_alert_and_arriving_soon(
    client: TestClient, auth: dict[str, str], container: Container
) -> None:
    order_id = _order(client, auth)
    r = client.post(
        "/v1/shipments",
        json={
            "order_id": order_id,
            "carrier": "dhl_parcel_de",
            "tracking_numbers": ["COLD1"],
            "destination": {"latitude": 50.7374, "longitude": 7.0982},
            "arrival_radius_m": 1500,
        },
        headers=auth,
    )
    shipment_id = r.json()["id"]
    readings = [
        {"at": "2026-01-01T08:00:00Z", "temperature_c": 6.5, "latitude": 50.9, "longitude": 7.0},
        {"at": "2026-01-01T08:01:00Z", "temperature_c": 8.4},
        {"at": "2026-01-01T08:03:30Z", "temperature_c": 9.2},
        {"at": "2026-01-01T08:10:00Z", "latitude": 50.740, "longitude": 7.100},
    ]
    res = client.post(f"/v1/shipments/{shipment_id}/telemetry", json={"readings": readings}, headers=auth)
    assert res.status_code == 200, res.text
    kinds = [a["kind"] for a in res.json()["alerts"]]
    assert kinds == ["cold_chain_breached", "arriving_soon"]
    assert res.json()["alerts"][0]["seconds_above_limit"] == 150
    again = client.post(f"/v1/shipments/{shipment_id}/telemetry", json={"readings": readings[:1]}, headers=auth)
    assert again.json()["ignored_out_of_order"] == 1 and again.json()["alerts"] == []
    types = _types(container, shipment_id)
    assert "orderloom.shipment.cold_chain_breached" in types and "orderloom.shipment.arriving_soon" in types
    bad = client.post(
        f"/v1/shipments/{shipment_id}/telemetry",
        json={"readings": [{"at": "2026-01-01T08:00:00", "temperature_c": 5}]},
        headers=auth,
    )
    assert bad.status_code == 422
    half = client.post(
        f"/v1/shipments/{shipment_id}/telemetry",
        json={"readings": [{"at": "2026-01-01T09:00:00Z", "latitude": 5}]},
        headers=auth,
    )
    assert half.status_code == 422
    missing = client.post("/v1/shipments/shp_nope/telemetry", json={"readings": readings}, headers=auth)
    assert missing.status_code == 404
