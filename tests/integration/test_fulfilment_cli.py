"""``orderloom fulfilment release | expire-pickups | dispatch`` as real processes on SQLite."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orderloom.application.fulfilment_ports import LocationFulfilment
from orderloom.application.inventory import ReceiptLine, allocate_order, create_location, receive_stock
from orderloom.application.orders import apply_action, place_order
from orderloom.application.ports import UnitOfWork
from orderloom.bootstrap import bootstrap
from orderloom.config import Settings
from orderloom.domain.inventory import Location, LocationType
from orderloom.entrypoints.api.schemas import decode_new_order
from tests.conftest import example_order
from tests.integration.test_cli import ol


@pytest.fixture
def store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    ol("tenants", "create", "acme", url=url)
    c = bootstrap(Settings(database_url=url, relay_enabled=False), group_commit=False)
    try:
        tenant_id = c.tenants.find("acme")
        assert tenant_id
        now = datetime.now(UTC)

        def work(uow: UnitOfWork) -> None:
            loc = Location(id="SF", tenant_id=tenant_id, name="SF", type=LocationType.WAREHOUSE, country="US")
            create_location(uow=uow, location=loc, now=now)
            lines = [ReceiptLine("TSHIRT-BLK-M", "SF", 10), ReceiptLine("MUG-WHT", "SF", 10)]
            receive_stock(uow=uow, tenant_id=tenant_id, reference="R1", lines=lines, reason="opening", now=now)
            hook = LocationFulfilment(
                tenant_id=tenant_id,
                location_id="SF",
                release_mode="webhook",
                webhook_url="http://127.0.0.1:9/unreachable",
                webhook_secret="s",
            )
            uow.fulfilment.put_settings(hook)
            for _ in range(2):
                body = json.dumps(example_order()).encode()
                doc = place_order(
                    uow=uow, tenant_id=tenant_id, new=decode_new_order(body), lifecycle=c.lifecycle, actor="t", now=now
                )
                oid = str(doc["id"])
                apply_action(
                    uow=uow,
                    tenant_id=tenant_id,
                    order_id=oid,
                    action="confirm",
                    params={},
                    lifecycle=c.lifecycle,
                    actor="t",
                    now=now,
                )
                allocate_order(
                    uow=uow, tenant_id=tenant_id, order_id=oid, lifecycle=c.lifecycle, sourcing=c.sourcing, now=now
                )

        c.tx.run(work)
    finally:
        c.close()
    return url


def test_release_writes_the_pick_list_and_dispatch_reports_failures(store: str, tmp_path: Path) -> None:
    target = tmp_path / "wave.csv"
    r = ol("fulfilment", "release", "SF", "--tenant", "acme", "--pick-list", str(target), url=store)
    assert "2 fulfilment order(s) to SF" in r.stdout
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((row["sku"], row["quantity"]) for row in rows) == [
        ("MUG-WHT", "1"),
        ("MUG-WHT", "1"),
        ("TSHIRT-BLK-M", "2"),
        ("TSHIRT-BLK-M", "2"),
    ]
    assert "nothing to release at SF" in ol("fulfilment", "release", "SF", "--tenant", "acme", url=store).stdout
    # the WMS endpoint is unreachable: both releases fail, stay queued, and the command says so
    r = ol("fulfilment", "dispatch", url=store, check=False)
    assert r.returncode == 1 and "delivered 0, failed 2" in r.stdout
    assert "0 pickup(s)" in ol("fulfilment", "expire-pickups", url=store).stdout


def test_bad_input_is_one_line_and_non_zero(store: str, tmp_path: Path) -> None:
    r = ol("fulfilment", "release", "SF", "--tenant", "nobody", url=store, check=False)
    assert r.returncode == 1 and r.stderr.strip() == "error: no tenant named 'nobody'"
    r = ol("fulfilment", "release", "NOPE", "--tenant", "acme", url=store, check=False)
    assert r.returncode == 1 and "location NOPE not found" in r.stderr and "Traceback" not in r.stderr
    r = ol(
        "fulfilment",
        "release",
        "SF",
        "--tenant",
        "acme",
        "--pick-list",
        str(tmp_path / "x.xlsx"),
        url=store,
        check=False,
    )
    assert r.returncode == 1 and ".csv or .ndjson" in r.stderr
