"""docs/statuses.md carries the tracking crosswalk exactly as data/tracking_crosswalk.yaml has it, and every row is a
real lifecycle sub-status."""

from __future__ import annotations

from pathlib import Path

import yaml

from orderloom.bootstrap import load_lifecycle

ROOT = Path(__file__).resolve().parents[2]
DATA = yaml.safe_load((ROOT / "src" / "orderloom" / "data" / "tracking_crosswalk.yaml").read_text())
DOC = (ROOT / "docs" / "statuses.md").read_text(encoding="utf-8")


def test_every_row_is_published_and_a_real_status() -> None:
    valid = {str(s) for s in load_lifecycle().all_statuses()}
    for row in DATA["rows"]:
        assert row["status"] in valid
        assert f"| `{row['status']}` | `{row['karrio']}` | {row['aftership']} | {row['17track']} |" in DOC


def test_karrio_statuses_all_have_a_main_status_or_none() -> None:
    mains = {s.main for s in load_lifecycle().all_statuses()}
    assert set(DATA["karrio_to_main"]) == {
        "pending", "picked_up", "in_transit", "out_for_delivery", "ready_for_pickup", "delivered",
        "on_hold", "delivery_failed", "delivery_delayed", "cancelled", "return_to_sender", "unknown",
    }  # fmt: skip
    assert all(v is None or v in mains for v in DATA["karrio_to_main"].values())
    for row in DATA["rows"]:
        assert DATA["karrio_to_main"][row["karrio"]] == row["status"].split(".")[0] or row["status"].startswith(
            "out_for_delivery.redelivery"
        )
