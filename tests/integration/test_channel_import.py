"""``orderloom import --channel NAME``: native channel payloads through the channel's adapter into real orders."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from tests.integration.test_cli import ol
from tests.unit.test_channel_adapters import FIXTURES


def test_import_native_payloads_ndjson_and_whole_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    ol("tenants", "create", "acme", url=url)
    woo = FIXTURES / "woocommerce"
    lines = [
        json.dumps(json.loads((woo / "list_orders_response.json").read_text())),  # two orders: 727 and 723
        json.dumps(json.loads((woo / "create_refund_response.json").read_text())),  # a command, not an order
        "{broken",
        json.dumps(json.loads((woo / "retrieve_order_response.json").read_text())),  # 727 again: a duplicate
    ]
    path = tmp_path / "woo.ndjson"
    path.write_text("\n".join(lines) + "\n")
    r = ol("import", "--channel", "woocommerce", str(path), url=url)
    assert "imported 2 orders, rejected 3" in r.stdout
    rejects = [json.loads(x) for x in (tmp_path / "woo.ndjson.rejects.ndjson").read_text().splitlines()]
    assert [x["line"] for x in rejects] == [2, 3, 4]
    assert "refund command, not an order" in rejects[0]["reason"]
    assert "malformed JSON" in rejects[1]["reason"]
    assert "already exists" in rejects[2]["reason"]

    amazon = tmp_path / "amazon.json"  # one pretty-printed API response
    shutil.copy(FIXTURES / "amazon" / "v2026_searchOrders_example.json", amazon)
    assert "imported 1 orders, rejected 0" in ol("import", "--channel", "amazon", str(amazon), url=url).stdout
    con = sqlite3.connect(tmp_path / "ol.db")
    rows = con.execute("select channel, channel_order_id from orders order by channel, channel_order_id").fetchall()
    con.close()
    assert rows == [("amazon", "123-4567890-1234567"), ("woocommerce", "723"), ("woocommerce", "727")]


def test_channels_secret_set(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    ol("tenants", "create", "acme", url=url)
    r = ol("channels", "secret", "set", "--tenant", "acme", "--channel", "shopify", "--secret", "s3cr3t", url=url)
    assert "POST /v1/channels/shopify/webhooks?tenant=acme" in r.stdout
    con = sqlite3.connect(tmp_path / "ol.db")
    assert con.execute("select channel, secret from channel_secrets").fetchall() == [("shopify", "s3cr3t")]
    con.close()
    bad = ol(
        "channels", "secret", "set", "--tenant", "nobody", "--channel", "shopify", "--secret", "x", url=url, check=False
    )
    assert bad.returncode == 1 and "no tenant named 'nobody'" in bad.stderr and "Traceback" not in bad.stderr


def test_import_flat_csv(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    ol("tenants", "create", "acme", url=url)
    path = tmp_path / "orders.csv"
    path.write_text(
        "channel_order_id,placed_at,currency,sku,quantity,unit_price,line_discount,line_tax,shipping,grand_total,"
        "ship_city,ship_country,ship_postal_code\n"
        "C-1,2026-11-20T10:00:00Z,USD,MUG,2,12.50,1.00,2.00,5.00,31.50,San Francisco,US,94103\n"
        "C-2,2026-11-20 11:00:00+08:00,CNY,TEA,1,99.00,,,,99.00,杭州市,CN,311121\n"
        "C-1,2026-11-20T10:00:00Z,USD,CUP,1,0.50,,,,,,,\n"
        "C-3,2026-11-20T10:00:00Z,USD,X,1,10.00,,,,11.00,,,\n"
        "C-4,2026-11-20T10:00:00Z,USD,Y,two,10.00,,,,,,,\n"
    )
    r = ol("import", "--channel", "canonical", str(path), url=url)
    assert "imported 2 orders, rejected 2" in r.stdout
    rejects = [json.loads(x) for x in (tmp_path / "orders.csv.rejects.ndjson").read_text().splitlines()]
    assert [(x["line"], x["reason"].split(":")[0]) for x in rejects] == [(5, "/5/grand_total"), (6, "/6/quantity")]
    con = sqlite3.connect(tmp_path / "ol.db")
    rows = con.execute("select channel, channel_order_id, grand_total from orders order by channel_order_id").fetchall()
    con.close()
    # C-1: 2 x 12.50 - 1.00 + 0.50 + 5.00 shipping + 2.00 tax
    assert rows == [("csv", "C-1", "31.50"), ("csv", "C-2", "99.00")]


def test_demo_runs_the_channel_intake_with_holds_and_quarantine(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    r = ol("demo", "--orders", "3", url=url)
    assert r.stdout.strip().splitlines()[-1].startswith("ol_")
    assert "invalid phone: on_hold.validation_failed: applied → fail_validation" in r.stderr
    assert "price_conflict: applied → price_conflict" in r.stderr
    assert "unparseable payload: quarantined: quarantined (/: malformed JSON" in r.stderr
    con = sqlite3.connect(tmp_path / "ol.db")
    held = con.execute(
        "select channel_order_id, status_main, status_sub from orders where channel = 'woocommerce' "
        "order by channel_order_id"
    ).fetchall()
    assert held == [
        ("8001", "allocated", "reserved"),  # valid, paid and in stock: the inventory handler reserved it
        ("8002", "on_hold", "validation_failed"),
        ("8003", "on_hold", "address_verification"),
        ("8004", "on_hold", "price_conflict"),
    ]
    assert con.execute("select count(*) from quarantine").fetchone()[0] == 1
    con.close()
