"""The CLI as a user runs it: real processes on a real SQLite file (and PostgreSQL where marked)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from orderloom.adapters.persistence.migrate import head_revision
from tests.conftest import example_order

OL = [sys.executable, "-m", "orderloom"]


def ol(*args: str, url: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ORDERLOOM_DATABASE_URL": url}
    r = subprocess.run([*OL, *args], check=False, capture_output=True, text=True, env=env, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"orderloom {' '.join(args)} failed ({r.returncode}): {r.stdout}\n{r.stderr}")
    return r


AT_HEAD = re.compile(r"database at revision (\w+) \(head \1\)")


def test_upgrade_twice_on_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh/ol.db"
    first = ol("db", "upgrade", url=url)
    second = ol("db", "upgrade", url=url)
    head = head_revision()
    assert f"revision {head} (head {head})" in first.stdout
    assert f"revision {head} (head {head})" in second.stdout


def test_upgrade_twice_on_postgres(postgres_url: str) -> None:
    head = head_revision()
    assert f"revision {head}" in ol("db", "upgrade", url=postgres_url).stdout
    assert f"revision {head}" in ol("db", "upgrade", url=postgres_url).stdout


def test_tenants_create_prints_key_last_and_refuses_duplicates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    r = ol("tenants", "create", "acme", url=url)
    assert r.stdout.strip().splitlines()[-1].startswith("ol_")
    again = ol("tenants", "create", "acme", url=url, check=False)
    assert again.returncode == 1
    assert "already exists" in again.stderr and "Traceback" not in again.stderr


def test_import_commits_good_lines_and_rejects_bad_ones(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    ol("tenants", "create", "acme", url=url)
    good = [example_order() for _ in range(30)]
    lines = [json.dumps(o) for o in good]
    lines.insert(5, "{not json")
    lines.insert(10, json.dumps(example_order(currency="XXQ")))
    lines.insert(15, json.dumps(good[0]))  # duplicate of line 1
    path = tmp_path / "orders.ndjson"
    path.write_text("\n".join(lines) + "\n")
    r = ol("import", "--channel", "canonical", str(path), "--batch-size", "7", url=url)
    assert "imported 30 orders, rejected 3" in r.stdout
    rejects = [json.loads(x) for x in (tmp_path / "orders.ndjson.rejects.ndjson").read_text().splitlines()]
    assert [x["line"] for x in rejects] == [6, 11, 16]
    assert "malformed JSON" in rejects[0]["reason"]
    assert "currency" in rejects[1]["reason"]
    assert "already exists" in rejects[2]["reason"]
    assert rejects[0]["raw"] == "{not json"
    con = sqlite3.connect(tmp_path / "ol.db")
    assert con.execute("select count(*) from orders").fetchone()[0] == 30
    assert con.execute("select count(*) from outbox").fetchone()[0] == 30
    assert con.execute("select count(*) from quarantine").fetchone()[0] == 3
    con.close()
    assert ol("audit", "verify", url=url).returncode == 0


def test_import_unknown_channel_is_one_line_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    path = tmp_path / "x.ndjson"
    path.write_text("{}\n")
    r = ol("import", "--channel", "fax", str(path), url=url, check=False)
    assert r.returncode != 0 and "unknown channel 'fax'" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("column", ["after", "actor", "at"])
def test_audit_verify_detects_a_hand_edited_row(tmp_path: Path, column: str) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    r = ol("demo", "--orders", "5", url=url)
    assert r.stdout.strip().splitlines()[-1].startswith("ol_")
    assert "intact" in ol("audit", "verify", url=url).stdout
    con = sqlite3.connect(tmp_path / "ol.db")
    value = {"after": '{"tampered":true}', "actor": "mallory", "at": "2020-01-01T00:00:00+00:00"}[column]
    con.execute(f"update audit_log set {column} = ? where seq = 3", (value,))
    con.commit()
    con.close()
    bad = ol("audit", "verify", url=url, check=False)
    assert bad.returncode == 1
    assert "seq 3" in bad.stderr and "edited" in bad.stderr and "Traceback" not in bad.stderr


def test_audit_verify_detects_a_deleted_row(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    ol("demo", "--orders", "3", url=url)
    con = sqlite3.connect(tmp_path / "ol.db")
    last = con.execute("select max(seq) from audit_log").fetchone()[0]
    con.execute("delete from audit_log where seq = ?", (last,))
    con.commit()
    con.close()
    bad = ol("audit", "verify", url=url, check=False)
    assert bad.returncode == 1 and "head records seq" in bad.stderr


def test_orders_show_and_missing_order(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ol.db"
    ol("db", "upgrade", url=url)
    ol("demo", "--orders", "2", url=url)
    con = sqlite3.connect(tmp_path / "ol.db")
    oid = con.execute("select id from orders limit 1").fetchone()[0]
    con.close()
    shown = ol("orders", "show", oid, url=url)
    assert oid in shown.stdout and "timeline entries" in shown.stdout
    missing = ol("orders", "show", "ord_nope", url=url, check=False)
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_unmigrated_database_gives_a_clear_error(tmp_path: Path) -> None:
    r = ol("audit", "verify", url=f"sqlite:///{tmp_path}/empty.db", check=False)
    assert r.returncode == 1 and "orderloom db upgrade" in r.stderr and "Traceback" not in r.stderr
