"""The console order page shows the order's fulfilment orders with their units per line (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from orderloom.application.passwords import hash_password
from orderloom.bootstrap import Container
from tests.contract.test_inventory_contract import settle_outbox
from tests.e2e.test_console_http import PASSWORD, Site
from tests.e2e.test_fulfilment_api import _allocated, _event, _fos, _network, _package, _release


@pytest.fixture
def site(container: Container) -> Iterator[Site]:
    from orderloom.entrypoints.api.app import create_app

    s = Site(container, create_app(container, manage_lifecycle=False))
    container.console.create_user(
        tenant_id=s.tenant_id, username="ada", role="admin", password_hash=hash_password(PASSWORD)
    )
    yield s
    settle_outbox(container.engines.write, [s.tenant_id])


def test_order_page_lists_fulfilment_orders_with_units(site: Site) -> None:
    api, auth = TestClient(site.app), {"Authorization": f"Bearer {site.key}"}
    _network(api, auth)
    order = _allocated(api, auth, site.c)
    (fo,) = _fos(api, auth, order["id"])
    wave = _release(api, auth, fo["location_id"])
    assert _event(api, auth, fo["id"], "e1", "shipped", [(1, 1)], packages=_package("1ZCONSOLE1")).status_code == 200
    page = site.client("ada").get(f"/console/orders/{order['id']}").text
    assert 'id="fulfilment-orders"' in page and fo["id"] in page and wave["id"] in page
    assert "line 1 TSHIRT-BLK-M: 2 · 0 · 0 · 1" in page  # ordered 2, one shipped straight away (no pick/pack scans)
    assert "line 2 MUG-WHT: 1 · 0 · 0 · 0" in page
