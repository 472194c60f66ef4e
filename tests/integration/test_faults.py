"""Fault tests with real processes on loopback: PostgreSQL + a 3-node NATS JetStream cluster + 2 API processes +
the relay + a consumer. Processes are killed with SIGKILL under load; then every acknowledged order must exist
exactly once and each of its events must be in JetStream exactly once (by msg id) and consumed."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nats
import pytest
import sqlalchemy as sa

from tests.conftest import example_order
from tests.support.nats_cluster import NatsCluster
from tests.support.private_pg import PrivatePostgres, postgres_bin

pytestmark = pytest.mark.timeout(600)

OL = [sys.executable, "-m", "orderloom"]
KILL_CYCLES = int(os.environ.get("ORDERLOOM_FAULT_KILL_CYCLES", "6"))
NATS_OUTAGE_SECONDS = float(os.environ.get("ORDERLOOM_FAULT_NATS_OUTAGE", "60"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    """One OrderLoom process we can kill and restart."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen([*OL, *self.args], env=self.env, stdout=out, stderr=subprocess.STDOUT)
        if self.port is not None:
            self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not start: {self.log.read_text(errors='replace')[-3000:]}")

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


@dataclass
class System:
    """The whole deployment on loopback."""

    apis: list[Proc]
    relay: Proc
    consumer: Proc
    key: str
    tenant_id: str
    engine: sa.Engine
    nats: NatsCluster
    acked: dict[str, str] = field(default_factory=dict)  # channel_order_id -> order id
    errors: list[str] = field(default_factory=list)

    def all(self) -> list[Proc]:
        return [*self.apis, self.relay, self.consumer]


@pytest.fixture
def system(postgres_url: str, tmp_path: Path) -> Iterator[System]:
    cluster = NatsCluster(tmp_path / "nats", size=3)
    cluster.start()
    env = {
        **os.environ,
        "ORDERLOOM_DATABASE_URL": postgres_url,
        "ORDERLOOM_NATS_URL": cluster.url,
        "ORDERLOOM_NATS_REPLICAS": "3",
        "ORDERLOOM_NATS_STREAM": "FAULTS",
        "ORDERLOOM_RELAY_INTERVAL": "0.05",
    }
    out = subprocess.run(
        [*OL, "tenants", "create", f"faults-{tmp_path.name}"], env=env, check=True, capture_output=True, text=True
    )
    key = out.stdout.strip().splitlines()[-1]
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        tenant_id = conn.execute(
            sa.text("select tenant_id from api_keys where prefix = :p"), {"p": key[:10]}
        ).scalar_one()
    api_env = {**env, "ORDERLOOM_RELAY_ENABLED": "false"}
    apis = []
    for i in range(2):
        port = _free_port()
        args = ["serve", "--port", str(port), "--no-migrate"]
        apis.append(Proc(f"api{i + 1}", args, api_env, tmp_path / f"api{i + 1}.log", port))
    relay = Proc("relay", ["worker", "relay"], env, tmp_path / "relay.log")
    consumer = Proc("consumer", ["worker", "consumer", "--name", "faults"], env, tmp_path / "consumer.log")
    sys_ = System(apis, relay, consumer, key, tenant_id, engine, cluster)
    for p in sys_.all():
        p.start()
    yield sys_
    for p in sys_.all():
        p.stop()
    engine.dispose()
    cluster.stop()


def _load(system: System, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    auth = {"Authorization": f"Bearer {system.key}"}
    with httpx.Client(timeout=5, headers=auth) as client:
        while not stop.is_set():
            api = rng.choice(system.apis)
            body = example_order()
            try:
                r = client.post(f"http://127.0.0.1:{api.port}/v1/orders", json=body)
            except httpx.TransportError:
                time.sleep(0.02)  # that process is down: the client retries elsewhere
                continue
            if r.status_code == 201:
                system.acked[body["channel_order_id"]] = r.json()["id"]
            elif r.status_code >= 500:
                system.errors.append(f"{r.status_code} {r.text[:200]}")


def _stream_ids(urls: list[str], stream: str) -> list[str]:
    async def read() -> list[str]:
        nc = await nats.connect(servers=urls)
        try:
            js = nc.jetstream()
            total = int((await js.stream_info(stream)).state.messages)
            sub = await js.pull_subscribe("orderloom.>", stream=stream)
            ids: list[str] = []
            while len(ids) < total:
                for msg in await sub.fetch(min(500, total - len(ids)), timeout=10):
                    ids.append((msg.headers or {}).get("Nats-Msg-Id", ""))
                    await msg.ack()
            return ids
        finally:
            await nc.close()

    deadline = time.monotonic() + 60
    while True:
        try:
            return asyncio.run(read())
        except nats.errors.TimeoutError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _consumer_backlog(urls: list[str]) -> tuple[int, int]:
    """(undelivered + unacked events of the consumer, dead-lettered events) from JetStream itself."""

    async def read() -> tuple[int, int]:
        nc = await nats.connect(servers=urls)
        try:
            js = nc.jetstream()
            info = await js.consumer_info("FAULTS", "faults")
            dead = int((await js.stream_info("FAULTS_DEAD")).state.messages)
            return int(info.num_pending or 0) + int(info.num_ack_pending or 0), dead
        finally:
            await nc.close()

    try:
        return asyncio.run(read())
    except (nats.errors.Error, OSError):
        return -1, -1  # the cluster is electing a leader or the consumer does not exist yet


def _wait_drained(system: System, timeout: float = 180) -> None:
    """Until the relay has published every outbox row and the consumer has acked every event (none dead-lettered)."""
    deadline = time.monotonic() + timeout
    query = sa.text("select count(*) from outbox where tenant_id = :t and published_at is null")
    unpublished, backlog, dead = -1, -1, -1
    while time.monotonic() < deadline:
        with system.engine.connect() as conn:
            unpublished = conn.execute(query, {"t": system.tenant_id}).scalar_one()
        backlog, dead = _consumer_backlog(system.nats.urls)
        if unpublished == 0 and backlog == 0:
            assert dead == 0, f"{dead} events were dead-lettered"
            return
        time.sleep(0.5)
    raise AssertionError(f"not drained: {unpublished} unpublished, consumer backlog {backlog}, dead {dead}")


def _check_exactly_once(system: System) -> dict[str, int]:
    acked_ids = set(system.acked.values())
    with system.engine.connect() as conn:
        rows = conn.execute(
            sa.text("select id, channel_order_id from orders where tenant_id = :t"), {"t": system.tenant_id}
        ).all()
        events = (
            conn.execute(sa.text("select event_id from outbox where tenant_id = :t"), {"t": system.tenant_id})
            .scalars()
            .all()
        )
    by_ref: dict[str, list[str]] = {}
    for order_id, ref in rows:
        by_ref.setdefault(ref, []).append(order_id)
    missing = [ref for ref, oid in system.acked.items() if by_ref.get(ref) != [oid]]
    assert missing == [], f"{len(missing)} acknowledged orders missing or duplicated"
    assert acked_ids <= {r[0] for r in rows}
    stream = _stream_ids(system.nats.urls, "FAULTS")
    mine = [i for i in stream if i in set(events)]
    assert len(mine) == len(set(mine)), "an event was stored twice in JetStream"
    assert set(mine) == set(events), "an outbox event never reached JetStream"
    return {"acked": len(system.acked), "orders": len(rows), "events": len(events), "duplicates": 0}


def test_kill_minus_9_under_load_loses_and_duplicates_nothing(system: System) -> None:
    stop = threading.Event()
    loaders = [threading.Thread(target=_load, args=(system, stop, s)) for s in range(4)]
    for t in loaders:
        t.start()
    rng = random.Random(9)
    api1, api2 = system.apis
    order = [api1, system.relay, api2, system.consumer, system.relay, api1, api2, system.relay]
    kills: list[str] = []
    try:
        time.sleep(2)
        for i in range(KILL_CYCLES):
            victim = order[i % len(order)]
            time.sleep(rng.uniform(0.3, 1.5))
            victim.kill()
            kills.append(victim.name)
            time.sleep(rng.uniform(0.1, 0.8))
            victim.start()
        time.sleep(1)
    finally:
        stop.set()
        for t in loaders:
            t.join(30)
    _wait_drained(system)
    figures = _check_exactly_once(system)
    print(f"kill -9 cycles: {kills}; {figures}")
    assert figures["acked"] > 50
    assert len(kills) == KILL_CYCLES


def test_nats_outage_intake_continues_and_backlog_drains(system: System) -> None:
    stop = threading.Event()
    loaders = [threading.Thread(target=_load, args=(system, stop, 100 + s)) for s in range(2)]
    for t in loaders:
        t.start()
    try:
        time.sleep(1.5)
        system.nats.stop()
        before = len(system.acked)
        time.sleep(NATS_OUTAGE_SECONDS)
        during = len(system.acked) - before
        with system.engine.connect() as conn:
            backlog = conn.execute(
                sa.text("select count(*) from outbox where tenant_id = :t and published_at is null"),
                {"t": system.tenant_id},
            ).scalar_one()
        system.nats.start()
        time.sleep(2)
    finally:
        stop.set()
        for t in loaders:
            t.join(30)
    assert during > 0, "intake stopped while NATS was down"
    assert backlog > 0, "the outbox should have grown while NATS was down"
    _wait_drained(system, timeout=180)
    figures = _check_exactly_once(system)
    print(f"NATS down {NATS_OUTAGE_SECONDS:.0f}s: {during} orders taken meanwhile, backlog {backlog}; {figures}")
    assert system.errors == []


def test_postgres_restart_gives_503_then_recovers(tmp_path: Path) -> None:
    bindir = postgres_bin()
    if bindir is None:
        if "postgres" in os.environ.get("ORDERLOOM_REQUIRE_SERVICES", ""):
            pytest.fail("PostgreSQL binaries are required in CI")
        pytest.skip("PostgreSQL is not installed")
    pg = PrivatePostgres(bindir)
    pg.init()
    env = {**os.environ, "ORDERLOOM_DATABASE_URL": pg.url, "ORDERLOOM_RELAY_INTERVAL": "0.05"}
    out = subprocess.run([*OL, "tenants", "create", "pg-restart"], env=env, check=False, capture_output=True, text=True)
    if out.returncode:  # the schema first
        subprocess.run([*OL, "db", "upgrade"], env=env, check=True, capture_output=True)
        out = subprocess.run(
            [*OL, "tenants", "create", "pg-restart"], env=env, check=True, capture_output=True, text=True
        )
    key = out.stdout.strip().splitlines()[-1]
    api = Proc("api", ["serve", "--port", str(_free_port())], env, tmp_path / "api.log", port=None)
    api.port = int(api.args[2])
    results: list[tuple[float, int, str, float]] = []  # (t, status, problem type, seconds taken)
    acked: dict[str, str] = {}
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=15, headers={"Authorization": f"Bearer {key}"}) as client:
            while not stop.is_set():
                body = example_order()
                t0 = time.monotonic()
                r = client.post(f"http://127.0.0.1:{api.port}/v1/orders", json=body)
                took = time.monotonic() - t0
                kind = r.json().get("type", "") if r.headers.get("content-type", "").endswith("json") else ""
                results.append((t0, r.status_code, kind, took))
                if r.status_code == 201:
                    acked[body["channel_order_id"]] = r.json()["id"]
                time.sleep(0.01)

    try:
        api.start()
        loader = threading.Thread(target=load)
        loader.start()
        time.sleep(1.5)
        down_at = time.monotonic()
        pg.stop("fast")
        time.sleep(5)
        pg.start()
        up_at = time.monotonic()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(t > up_at and code == 201 for t, code, _, _ in results):
            time.sleep(0.2)
        stop.set()
        loader.join(30)
    finally:
        stop.set()
        api.stop()
    during = [(code, kind) for t, code, kind, _ in results if down_at + 0.5 < t < up_at - 0.5]
    assert during, "no request was made while PostgreSQL was down"
    assert {code for code, _ in during} <= {503}, f"while down: {sorted(set(during))}"
    assert all(kind.endswith("/store-unavailable") for _, kind in during)
    assert all(code != 500 for _, code, _, _ in results)
    assert max(took for *_, took in results) < 12, "a request hung beyond the timeouts"
    assert any(t > up_at and code == 201 for t, code, _, _ in results), "the API did not recover by itself"
    engine = sa.create_engine(pg.url)
    try:
        with engine.connect() as conn:
            refs = conn.execute(sa.text("select channel_order_id from orders")).scalars().all()
    finally:
        engine.dispose()
        pg.destroy()
    assert set(acked) <= set(refs) and len(refs) == len(set(refs))
    print(f"PostgreSQL restart: {len(during)} requests answered 503 while down, {len(acked)} orders acked, none lost")
