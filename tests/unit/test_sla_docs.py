"""docs/sla.md lists every rule of data/sla.yaml."""

from __future__ import annotations

from pathlib import Path

from orderloom.adapters.sla_policy_file import load_sla_policy
from orderloom.bootstrap import load_lifecycle

DOC = Path(__file__).resolve().parents[2] / "docs" / "sla.md"


def test_every_rule_is_in_the_docs_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    for rule in load_sla_policy(load_lifecycle()).as_rows():
        scope = (
            f"channel `{rule['channel']}`"
            if rule["channel"]
            else (f"carrier `{rule['carrier']}`" if rule["carrier"] else "all")
        )
        row = f"| `{rule['status']}` | {scope} | {rule['within_hours']:g} h |"
        assert row in text, row
