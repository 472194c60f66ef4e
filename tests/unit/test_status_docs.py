"""docs/statuses.md stays true to data/lifecycle.yaml."""

from __future__ import annotations

from pathlib import Path

from orderloom.bootstrap import load_lifecycle

DOC = Path(__file__).resolve().parents[2] / "docs" / "statuses.md"


def test_every_sub_status_and_action_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    doc = load_lifecycle().as_document()
    subs = [(m["name"], s["name"]) for m in doc["statuses"] for s in m["substatuses"]]
    assert f"one of {len(subs)} sub-statuses" in text
    missing = [f"{m}.{s}" for m, s in subs if f"| `{m}` | `{s}` |" not in text]
    assert missing == []
    missing_actions = [a["name"] for a in doc["actions"] if f"`{a['name']}`" not in text]
    assert missing_actions == []
