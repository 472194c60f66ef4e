"""``orderloom demo`` shows a delay prediction: the parcel to Fortaleza promised for tomorrow is predicted late, the
one to São Paulo with twelve days to spare is not; a second run reuses both and raises nothing new."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from tests.integration.test_cli import ol

LINE = re.compile(r"shipment (shp_\w+) to (Fortaleza|São Paulo): (.*)")


def test_demo_prints_one_delay_prediction_and_keeps_it_to_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    first = dict((m[2], (m[1], m[3])) for m in LINE.finditer(ol("demo", "--orders", "2", url=url).stdout))
    assert first["Fortaleza"][1].startswith("delay predicted (risk ")
    assert "h before the promise" in first["Fortaleza"][1]
    assert first["São Paulo"][1] == "no delay predicted"
    again = dict((m[2], (m[1], m[3])) for m in LINE.finditer(ol("demo", "--orders", "1", url=url).stdout))
    assert again == first
    con = sqlite3.connect(tmp_path / "ol.db")
    rows = con.execute("select aggregate_id from outbox where type = 'orderloom.shipment.delay_predicted'").fetchall()
    offered = "select count(*) from outbox where type = 'orderloom.customer.compensation_offered'"
    offers = con.execute(offered).fetchone()
    con.close()
    assert rows == [(first["Fortaleza"][0],)]
    assert offers == (1,)  # one coupon for the one predicted delay, however often the demo runs


def test_demo_prints_the_compensation_coupon(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    out = ol("demo", "--orders", "1", url=url).stdout
    offer = re.search(r"compensation for order (ord_\w+): coupon (SORRY-\w{8}) (\d+\.\d\d) USD \(rule (\S+)\)", out)
    assert offer is not None, out
