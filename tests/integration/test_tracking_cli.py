"""``orderloom tracking parse`` as a user runs it: one JSON object per tracking number, errors as one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "carriers"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orderloom", "tracking", "parse", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_prints_one_object_per_tracking_number_with_the_public_fields() -> None:
    r = run("--carrier", "dhl_express", str(FIXTURES / "dhl_express" / "tracking_multi_raw.xml"))
    assert r.returncode == 0, r.stderr
    docs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [d["tracking_number"] for d in docs] == ["3180831640", "7740842550", "1815115363"]
    first = docs[0]
    assert {"carrier", "tracking_number", "status", "events", "estimated_delivery"} <= set(first)
    assert first["carrier"] == "dhl_express"
    assert first["status"] == {"main": "delivered", "sub": "signed"}
    newest = first["events"][0]
    assert {"occurred_at", "raw_code", "raw_description", "location", "status"} <= set(newest)
    assert newest["raw_code"] == "OK" and newest["occurred_at"] == "2009-08-31T08:09:00Z"
    assert newest["location"]["country"] == "IT"
    assert [d["status"]["main"] for d in docs] == ["delivered", "shipped", "in_transit"]


def test_not_found_exits_zero_with_null_status_and_an_error_object() -> None:
    r = run("--carrier", "ups", str(FIXTURES / "ups" / "invalid_tracking_number_raw.json"))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["status"] is None
    assert doc["error"] == {"kind": "not_found", "code": "TV1002", "message": "Invalid inquiry number"}


def test_mixed_response_prints_tracking_and_error_lines() -> None:
    r = run("--carrier", "fedex", str(FIXTURES / "fedex" / "tracking_picked_up_raw.json"))
    docs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(d["tracking_number"], d["status"] and d["status"]["main"]) for d in docs] == [
        ("123456789012", "shipped"),
        ("39936862321", None),
    ]
    assert docs[0]["estimated_delivery"] == "2021-10-01"


def test_unknown_carrier_is_one_line_and_non_zero() -> None:
    r = run("--carrier", "pigeon_post", str(FIXTURES / "ups" / "auth_error_raw.json"))
    assert r.returncode != 0
    assert "unknown carrier 'pigeon_post'" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) <= 2


def test_unparseable_file_is_one_line_and_non_zero(tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text('{"trackResponse": ')
    r = run("--carrier", "ups", str(junk))
    assert r.returncode != 0
    assert "can't read this as a ups tracking response" in r.stderr
    assert "Traceback" not in r.stderr


def test_wrong_carrier_for_the_payload_is_a_parse_error_not_a_crash() -> None:
    r = run("--carrier", "royalmail", str(FIXTURES / "dhl_express" / "tracking_multi_raw.xml"))
    assert r.returncode != 0 and "Traceback" not in r.stderr


def test_missing_file_is_one_line_and_non_zero(tmp_path: Path) -> None:
    r = run("--carrier", "ups", str(tmp_path / "nope.json"))
    assert r.returncode != 0 and "can't read" in r.stderr and "Traceback" not in r.stderr
