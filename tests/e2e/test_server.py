"""A real `orderloom serve` process over loopback HTTP: start-up, durable ingest, lifecycle and shutdown."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import example_order


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    env = {**os.environ, "ORDERLOOM_DATABASE_URL": f"sqlite:///{tmp_path}/ol.db", "ORDERLOOM_RELAY_INTERVAL": "0.05"}
    cli = [sys.executable, "-m", "orderloom"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    key = subprocess.run([*cli, "tenants", "create", "acme"], env=env, check=True, capture_output=True, text=True)
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        proc.kill()
        proc.wait()
        log.close()
        pytest.fail("server did not become ready: " + (tmp_path / "server.log").read_text())
    yield base, key.stdout.strip().splitlines()[-1]
    proc.terminate()
    code = proc.wait(15)
    log.close()
    assert code in (0, -15), (tmp_path / "server.log").read_text()  # uvicorn re-raises SIGTERM after a clean shutdown
    assert "Application shutdown complete" in (tmp_path / "server.log").read_text()


def test_serve_ingests_and_publishes_over_http(server: tuple[str, str]) -> None:
    base, key = server
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=auth, timeout=10) as client:
        ids = [client.post("/v1/orders", json=example_order()).json()["id"] for _ in range(20)]
        assert len(set(ids)) == 20
        r = client.post(f"/v1/orders/{ids[0]}/actions/cancel", json={})
        assert r.status_code == 200 and r.json()["status"]["sub"] == "cancelled"
        deadline = time.time() + 10
        while time.time() < deadline:
            tl = client.get(f"/v1/orders/{ids[0]}/timeline").json()["entries"]
            if all(e["published"] for e in tl if e["kind"] == "event"):
                break
            time.sleep(0.1)
        assert all(e["published"] for e in tl if e["kind"] == "event"), "relay did not publish"
        metrics = client.get("/metrics").text
        assert "orderloom_group_commit_batch_size_count" in metrics
        assert 'orderloom_events_total{type="orderloom.order.placed"}' in metrics


def test_serve_with_two_worker_processes(tmp_path: Path) -> None:
    env = {**os.environ, "ORDERLOOM_DATABASE_URL": f"sqlite:///{tmp_path}/ol.db", "ORDERLOOM_RELAY_INTERVAL": "0.05"}
    cli = [sys.executable, "-m", "orderloom"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    key = subprocess.run([*cli, "tenants", "create", "acme"], env=env, check=True, capture_output=True, text=True)
    auth = {"Authorization": f"Bearer {key.stdout.strip().splitlines()[-1]}"}
    port = _free_port()
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*cli, "serve", "--workers", "2", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, headers=auth, timeout=10) as client:
            ids = [client.post("/v1/orders", json=example_order()).json()["id"] for _ in range(40)]
            assert len(set(ids)) == 40
            for order_id in ids:
                assert client.get(f"/v1/orders/{order_id}").status_code == 200
        # the supervising process relays every event exactly once
        deadline = time.monotonic() + 20
        engine = sa.create_engine(env["ORDERLOOM_DATABASE_URL"])
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                pending = conn.execute(sa.text("select count(*) from outbox where published_at is null")).scalar()
                if pending == 0:
                    break
                time.sleep(0.1)
            assert pending == 0
            assert conn.execute(sa.text("select count(*) from outbox")).scalar() == 40
        engine.dispose()
        # the second worker may still be starting (the first one answered /readyz): wait for its line
        deadline = time.monotonic() + 60
        while log_path.read_text().count("Started server process") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert log_path.read_text().count("Started server process") == 2
    finally:
        proc.terminate()
        proc.wait(20)
