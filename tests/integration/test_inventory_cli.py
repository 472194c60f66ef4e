"""``orderloom inventory load | reconcile | expire`` and ``orderloom locations list`` as real processes on SQLite."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderloom.application.inventory import NearestFullStockSourcing, create_location, reserve_order
from orderloom.bootstrap import bootstrap
from orderloom.config import Settings
from orderloom.domain.inventory import Location, LocationType
from orderloom.domain.sourcing import Demand, ShipTo
from tests.integration.test_cli import ol


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, Path]:
    db = tmp_path / "ol.db"
    url = f"sqlite:///{db}"
    ol("db", "upgrade", url=url)
    ol("tenants", "create", "acme", url=url)
    c = bootstrap(Settings(database_url=url, relay_enabled=False), group_commit=False)
    try:
        tenant_id = c.tenants.find("acme")
        assert tenant_id
        for loc_id in ("SH", "BJ"):
            loc = Location(id=loc_id, tenant_id=tenant_id, name=loc_id, type=LocationType.WAREHOUSE, country="CN")
            c.tx.run(lambda uow, loc=loc: create_location(uow=uow, location=loc, now=datetime.now(UTC)))
    finally:
        c.close()
    return url, db


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "stock.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_load_sets_stock_and_rejects_bad_lines_with_reasons(store: tuple[str, Path], tmp_path: Path) -> None:
    url, db = store
    f = _csv(
        tmp_path,
        "sku,location,quantity,safety_stock\n"
        "TSHIRT-BLK-M,SH,10,2\n"
        "TSHIRT-BLK-M,BJ,4,\n"
        "MUG-WHT,XX,3,\n"
        "MUG-WHT,SH,-1,\n"
        "MUG-WHT,SH,abc,\n"
        "!!bad,SH,1,\n"
        "TSHIRT-BLK-M,SH,7,\n",
    )
    r = ol("inventory", "load", f, "--tenant", "acme", url=url)
    assert "loaded 2 stock line(s)" in r.stdout and "5 rejected" in r.stdout
    assert "line 4: unknown location 'XX'" in r.stderr
    assert "line 5: quantity -1 must be between 0" in r.stderr
    assert "line 6: quantity 'abc' is not a whole number" in r.stderr
    assert "line 7: invalid SKU '!!bad'" in r.stderr
    assert "line 8: duplicate of line 2" in r.stderr
    rows = sqlite3.connect(db).execute(
        "select location_id, on_hand, reserved, safety_stock from inventory_balances order by location_id"
    )
    assert rows.fetchall() == [("BJ", 4, 0, 0), ("SH", 10, 0, 2)]
    # loading again with a new count is an adjustment to that count
    ol("inventory", "load", _csv(tmp_path, "sku,location,quantity\nTSHIRT-BLK-M,SH,6\n"), "--tenant", "acme", url=url)
    ledger = sqlite3.connect(db).execute(
        "select kind, quantity from inventory_movements where location_id = 'SH' order by id"
    )
    assert ledger.fetchall() == [("adjustment", 10), ("adjustment", -4)]
    assert "inventory reconciled" in ol("inventory", "reconcile", url=url).stdout


def test_load_with_nothing_loadable_fails(store: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = store
    r = ol(
        "inventory",
        "load",
        _csv(tmp_path, "sku,location,quantity\nA,NOPE,1\n"),
        "--tenant",
        "acme",
        url=url,
        check=False,
    )
    assert r.returncode == 1
    assert "nothing loaded" in r.stderr and "line 2: unknown location 'NOPE'" in r.stderr
    r = ol("inventory", "load", _csv(tmp_path, "sku,qty\nA,1\n"), "--tenant", "acme", url=url, check=False)
    assert r.returncode == 1 and "missing column(s) location, quantity" in r.stderr
    r = ol("inventory", "load", str(tmp_path / "missing.csv"), "--tenant", "acme", url=url, check=False)
    assert r.returncode == 1 and "cannot read" in r.stderr
    r = ol("inventory", "load", _csv(tmp_path, "sku,location,quantity\n"), "--tenant", "nobody", url=url, check=False)
    assert r.returncode == 1 and "no tenant named 'nobody'" in r.stderr
    assert "Traceback" not in r.stderr


def test_reconcile_reports_drift(store: tuple[str, Path], tmp_path: Path) -> None:
    url, db = store
    ol("inventory", "load", _csv(tmp_path, "sku,location,quantity\nA,SH,5\n"), "--tenant", "acme", url=url)
    conn = sqlite3.connect(db)
    conn.execute("update inventory_balances set on_hand = 9 where sku = 'A'")
    conn.commit()
    r = ol("inventory", "reconcile", url=url, check=False)
    assert r.returncode == 1
    assert "inventory drift: 1 figure(s)" in r.stderr
    assert "on_hand" in r.stderr


def test_expire_releases_unpaid_holds(store: tuple[str, Path], tmp_path: Path) -> None:
    url, db = store
    ol("inventory", "load", _csv(tmp_path, "sku,location,quantity\nA,SH,5\n"), "--tenant", "acme", url=url)
    c = bootstrap(Settings(database_url=url, relay_enabled=False), group_commit=False)
    try:
        tenant_id = c.tenants.find("acme")
        assert tenant_id
        past = datetime.now(UTC) - timedelta(hours=1)
        c.tx.run(
            lambda uow: reserve_order(
                uow=uow,
                tenant_id=tenant_id,
                order_id="ord_x",
                demand=[Demand(1, "A", 2)],
                ship_to=ShipTo(),
                sourcing=NearestFullStockSourcing(),
                now=past,
                expires_at=past + timedelta(minutes=30),
            )
        )
    finally:
        c.close()
    assert "released 1 expired reservation(s)" in ol("inventory", "expire", url=url).stdout
    reserved = sqlite3.connect(db).execute("select reserved from inventory_balances").fetchone()
    assert reserved == (0,)
    assert "SH" in ol("locations", "list", "--tenant", "acme", url=url).stdout
