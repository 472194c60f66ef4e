"""``orderloom rules`` and the demo's rule sets through the real CLI on SQLite."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.integration.test_cli import ol


def test_demo_rules_export_change_dry_run_and_errors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    demo = ol("demo", "--orders", "120", url=url)
    assert "active demo rule sets: validation v1, hold v1" in demo.stdout
    with sqlite3.connect(tmp_path / "ol.db") as db:
        held = db.execute("select count(*) from audit_log where actor = 'rules-engine' and action = 'order.hold'")
        assert held.fetchone()[0] > 0  # some demo orders land on hold through the intake rules

    exported = ol("rules", "export", "--kind", "hold", url=url).stdout
    assert "big-order-usd" in exported
    stricter = tmp_path / "hold.yaml"
    stricter.write_text(exported.replace("400.0", "100.0"), encoding="utf-8")
    assert "version 2 stored (valid)" in ol("rules", "create", "--kind", "hold", str(stricter), url=url).stdout
    report = json.loads(ol("rules", "dry-run", "--kind", "hold", "--version", "2", "--json", url=url).stdout)
    assert report["orders"] >= 120 and report["active_version"] == 1  # the demo orders plus its channel orders
    assert report["changed"] > 0 and report["hold_rate_after"] > report["hold_rate_before"]
    assert set(report["changes"]) == {"pass → hold"}

    broken = tmp_path / "broken.yaml"
    broken.write_text("rules:\n  - id: typo\n    when: order.grand_totl > 1.0\n    then: [hold('x')]\n")
    r = ol("rules", "create", "--kind", "hold", str(broken), url=url, check=False)
    assert r.returncode == 1
    assert "rule typo when at 1:6: undeclared reference to 'order.grand_totl'" in " ".join(r.stderr.split())
    assert "Traceback" not in r.stderr
    r = ol("rules", "activate", "--kind", "hold", "--version", "9", url=url, check=False)
    assert (r.returncode, r.stderr.strip()) == (1, "error: hold rule set version 9 not found")
    r = ol("rules", "from-text", "金额大于5000且客户等级是钻石 → VIP专线并预约顺丰", url=url)
    assert 'prefer_carrier("SF Express")' in r.stdout
    assert "saved as draft routing version 1" in " ".join(r.stderr.split())
    r = ol("rules", "activate", "--kind", "routing", "--version", "1", url=url, check=False)
    assert r.returncode == 1 and "draft" in r.stderr


def test_changing_a_demo_rule_set_through_the_api_shows_a_dry_run_diff(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from orderloom.bootstrap import bootstrap
    from orderloom.config import Settings
    from orderloom.entrypoints.api.app import create_app

    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    key = ol("demo", "--orders", "150", url=url).stdout.strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {key}"}
    container = bootstrap(Settings(database_url=url, relay_enabled=False), group_commit=False)
    try:
        with TestClient(create_app(container, manage_lifecycle=False)) as client:
            active = client.get("/v1/rules/hold/versions/1?format=yaml", headers=auth).text
            changed = active.replace("400.0", "150.0").replace("2500.0", "1000.0")
            r = client.post(
                "/v1/rules/hold/versions",
                content=changed.encode(),
                headers={**auth, "content-type": "application/yaml"},
            )
            assert r.status_code == 201, r.text
            report = client.post(
                f"/v1/rules/hold/versions/{r.json()['version']}/dry-run?since=31d", headers=auth
            ).json()
    finally:
        container.close()
    assert report["orders"] >= 150 and report["active_version"] == 1  # the demo orders plus its channel orders
    assert report["outcome_changed"] > 0 and report["changes"]["pass → hold"] == report["outcome_changed"]
    assert report["hold_rate_change"] > 0 and len(report["examples"]) == min(10, report["changed"])
