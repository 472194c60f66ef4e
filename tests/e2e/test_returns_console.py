"""The console order page shows the order's returns and refunds (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from orderloom.application.passwords import hash_password
from orderloom.bootstrap import Container
from tests.conftest import example_order
from tests.contract.test_inventory_contract import settle_outbox
from tests.e2e.test_console_http import PASSWORD, Site


@pytest.fixture
def site(container: Container) -> Iterator[Site]:
    from orderloom.entrypoints.api.app import create_app

    s = Site(container, create_app(container, manage_lifecycle=False))
    container.console.create_user(
        tenant_id=s.tenant_id, username="ada", role="admin", password_hash=hash_password(PASSWORD)
    )
    yield s
    settle_outbox(container.engines.write, [s.tenant_id])


def test_order_page_lists_returns_and_refunds(site: Site) -> None:
    api, auth = TestClient(site.app), {"Authorization": f"Bearer {site.key}"}
    oid = api.post("/v1/orders", json=example_order(), headers=auth).json()["id"]
    for action in ("confirm", "allocate", "ship", "deliver"):
        assert api.post(f"/v1/orders/{oid}/actions/{action}", headers=auth).status_code == 200
    page = site.client("ada").get(f"/console/orders/{oid}").text
    assert 'id="returns"' not in page  # no block without returns
    ret = api.post(
        f"/v1/orders/{oid}/returns",
        json={"lines": [{"line_no": 1, "quantity": 1, "reason": "wrong_size"}]},
        headers=auth,
    ).json()
    api.post(
        f"/v1/returns/{ret['id']}/receive",
        json={"lines": [{"line_no": 1, "quantity": 1, "disposition": "scrap"}]},
        headers=auth,
    )
    refund = api.post(f"/v1/returns/{ret['id']}/refunds", headers=auth).json()["refund"]
    page = site.client("ada").get(f"/console/orders/{oid}").text
    assert 'id="returns"' in page and ret["id"] in page and "1 received, scrap" in page
    assert refund["id"] in page and "24.29 USD" in page
