"""``orderloom channels parse``: NDJSON on stdout that ``POST /v1/orders`` accepts as is; a one-line reason naming the
JSON pointer and a non-zero exit for anything it cannot map."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from orderloom.bootstrap import Container
from orderloom.entrypoints.api.app import create_app
from orderloom.entrypoints.cli.main import app
from tests.unit.test_channel_adapters import FIXTURES, ORDERS, REFUSED


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, manage_lifecycle=False)) as c:
        yield c


def _parse(channel: str, path: Path) -> list[str]:
    result = CliRunner().invoke(app, ["channels", "parse", "--channel", channel, str(path)])
    assert result.exit_code == 0, result.output
    return [line for line in result.stdout.splitlines() if line]


def test_printed_orders_are_accepted_as_is_by_post_orders(client: TestClient, tenant: tuple[str, str]) -> None:
    auth = {"Authorization": f"Bearer {tenant[1]}", "Content-Type": "application/json"}
    seen: set[tuple[str, str]] = set()
    for channel, name in sorted(ORDERS):
        lines = _parse(channel, FIXTURES / channel / name)
        assert len(lines) == len(ORDERS[(channel, name)])
        for line, (oid, quantities, currency, total, status) in zip(lines, ORDERS[(channel, name)], strict=True):
            r = client.post("/v1/orders", content=line.encode(), headers=auth)
            if (channel, oid) in seen:  # the same order in another response: exactly one order per channel id
                assert r.status_code == 409, r.text
                continue
            seen.add((channel, oid))
            assert r.status_code == 201, (channel, name, r.text)
            doc = r.json()
            assert (doc["channel"], doc["channel_order_id"], doc["currency"]) == (channel, oid, currency)
            assert doc["totals"]["grand_total"] == total
            assert [ln["quantity"] for ln in doc["lines"]] == quantities
            assert f"{doc['status']['main']}.{doc['status']['sub']}" == status


def test_refusal_is_one_line_with_the_pointer_and_exit_1() -> None:
    channel, name = "square", "CalculateOrderResponse.json"
    r = subprocess.run(
        [sys.executable, "-m", "orderloom", "channels", "parse", "--channel", channel, str(FIXTURES / channel / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert REFUSED[(channel, name)] in r.stderr and "cannot map this square payload" in r.stderr


@pytest.mark.parametrize(
    ("content", "needle"),
    [(b"{not json", "not JSON"), (b"", "empty file"), (b"[1, 2]", "/0")],
)
def test_garbage_files_are_refused_cleanly(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    result = CliRunner().invoke(app, ["channels", "parse", "--channel", "shopify", str(path)])
    assert result.exit_code != 0
    assert needle in str(result.exception)


def test_unknown_channel_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{}")
    result = CliRunner().invoke(app, ["channels", "parse", "--channel", "ebay", str(path)])
    assert result.exit_code != 0
    assert "unknown channel 'ebay'" in str(result.exception)


def test_commands_print_with_a_command_field(tmp_path: Path) -> None:
    (line,) = _parse("woocommerce", FIXTURES / "woocommerce" / "create_refund_response.json")
    doc = json.loads(line)
    assert doc["command"] == "refund" and "channel_order_id" not in doc
