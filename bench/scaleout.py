"""Scale-out benchmark on PostgreSQL + NATS JetStream, end to end through HTTP.

One run, on a fresh PostgreSQL database (created here, dropped at the end):

a. ``orderloom serve --workers 2`` (two API processes, ``ORDERLOOM_RELAY_ENABLED=false``), one ``orderloom worker
   relay`` and one ``orderloom worker consumer`` against a JetStream node (``nats-server`` next to this Python,
   started like ``tests/support/nats_cluster.py``). ``bench/loadgen.py`` drives ``POST /v1/orders``:
   a closed loop (saturation), then an open loop at half that rate. Relay lag per event is
   ``outbox.published_at - outbox.occurred_at``; relay rate is compared with the intake rate.
b. ``pgbench`` with a custom script doing the same three inserts per transaction (order row, audit row, outbox row,
   byte-for-byte copies of rows the API wrote) on the same database, same client count, API processes stopped.

Prints a table and writes ``bench/results/scaleout.json``. ``--quick`` for a shorter run. The PostgreSQL server URL
comes from ``ORDERLOOM_BENCH_POSTGRES_URL`` or ``ORDERLOOM_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import _free_port, _orderloom, body_template, machine_info  # noqa: E402
from tests.support.nats_cluster import NatsCluster  # noqa: E402

__all__ = ["main"]

RESULTS = BENCH / "results" / "scaleout.json"
LOADGEN = BENCH / "loadgen.py"
PGBENCH = os.environ.get("PGBENCH", "/usr/lib/postgresql/15/bin/pgbench")
TARGET_RATIO = 0.8
TARGET_LAG_P99_MS = 100.0


@dataclass(frozen=True)
class Profile:
    """Durations and load."""

    duration: float
    warmup: float
    concurrency: int


QUICK = Profile(duration=8.0, warmup=2.0, concurrency=32)
FULL = Profile(duration=30.0, warmup=5.0, concurrency=32)


def _server_url() -> str | None:
    return os.environ.get("ORDERLOOM_BENCH_POSTGRES_URL") or os.environ.get("ORDERLOOM_TEST_POSTGRES_URL")


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new database on the server for this run; dropped afterwards."""
    base = sa.engine.make_url(server_url)
    name = f"orderloom_scaleout_{os.getpid()}"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class Processes:
    """The OrderLoom processes of one run."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.port = _free_port()
        self.procs: list[subprocess.Popen[bytes]] = []

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.workdir / f"{name}.log").open("wb") as out:
            proc = subprocess.Popen([_orderloom(), *args], env=env, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    def start(self) -> str:
        """API (2 workers), relay, consumer; returns the API base URL once healthy."""
        api_env = {**self.env, "ORDERLOOM_RELAY_ENABLED": "false"}
        api_args = ["serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(self.port), "--no-migrate"]
        self._spawn("api", api_args, api_env)
        self._spawn("relay", ["worker", "relay"], self.env)
        self._spawn("consumer", ["worker", "consumer", "--name", "scaleout"], self.env)
        url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return url
            except OSError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                    raise RuntimeError(f"the API did not come up; see {self.workdir}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        """Terminate what we started (by pid), then wait."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


def loadgen(url: str, key: str, body: Path, *, prefix: str, profile: Profile, rate: float | None) -> dict[str, Any]:
    """Run bench/loadgen.py as its own process; its JSON result."""
    cmd = [sys.executable, str(LOADGEN), "--url", url, "--key", key, "--body", str(body), "--prefix", prefix]
    cmd += ["--concurrency", str(profile.concurrency), "--duration", str(profile.duration)]
    cmd += ["--warmup", str(profile.warmup)]
    cmd += ["--mode", "open", "--rate", f"{rate:.1f}"] if rate else ["--mode", "closed"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def wait_drained(engine: sa.Engine, timeout: float = 120.0) -> float:
    """Seconds until no outbox row is unpublished."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with engine.connect() as conn:
            left = conn.execute(sa.text("select count(*) from outbox where published_at is null")).scalar_one()
        if left == 0:
            return time.monotonic() - start
        time.sleep(0.2)
    raise RuntimeError("the relay did not drain the outbox in time")


def relay_stats(engine: sa.Engine, prefix: str) -> dict[str, Any]:
    """Lag percentiles and rates of the events of one phase's orders (by channel_order_id prefix)."""
    sql = sa.text(
        "select extract(epoch from o.occurred_at), extract(epoch from o.published_at) from outbox o "
        "join orders r on r.id = o.aggregate_id where r.channel_order_id like :p"
    )
    with engine.connect() as conn:
        rows = [(float(a), float(b)) for a, b in conn.execute(sql, {"p": f"{prefix}-%"})]
    if not rows:
        return {"events": 0}
    lags = sorted((b - a) * 1e3 for a, b in rows)
    occurred = sorted(a for a, _ in rows)
    published = sorted(b for _, b in rows)
    n = len(rows)

    def pct(q: float) -> float:
        return round(lags[min(n - 1, max(0, round(q / 100 * n + 0.5) - 1))], 1)

    intake = n / max(occurred[-1] - occurred[0], 1e-9)
    relay = n / max(published[-1] - occurred[0], 1e-9)
    return {
        "events": n,
        "lag_ms": {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": round(lags[-1], 1)},
        "intake_events_per_s": round(intake, 1),
        "relay_events_per_s": round(relay, 1),
        "relay_tail_s": round(published[-1] - occurred[-1], 3),
    }


PGBENCH_SCRIPT = """\
SELECT nextval('scaleout_seq') AS n \\gset
BEGIN;
INSERT INTO orders (id, tenant_id, channel, channel_order_id, status_main, status_sub, currency, grand_total,
  customer_email, tags, placed_at, created_at, updated_at, version, doc)
  SELECT 'PG' || :n, tenant_id, channel, 'PG-' || :n, status_main, status_sub, currency, grand_total,
  customer_email, tags, placed_at, now(), now(), version, doc FROM scaleout_sample_order;
INSERT INTO audit_log (tenant_id, seq, at, actor, action, entity_type, entity_id, before, after, prev_hash, hash)
  SELECT tenant_id, 1000000000 + :n, at, actor, action, entity_type, 'PG' || :n, before, after, prev_hash, hash
  FROM scaleout_sample_audit;
INSERT INTO outbox (event_id, tenant_id, aggregate_type, aggregate_id, type, occurred_at, payload)
  SELECT 'PG' || :n, tenant_id, aggregate_type, 'PG' || :n, type, now(), payload FROM scaleout_sample_outbox;
END;
"""


def pgbench(engine: sa.Engine, url: str, workdir: Path, profile: Profile) -> dict[str, Any]:
    """The same three inserts per transaction with pgbench; copies of one order's rows as the payload."""
    with engine.begin() as conn:
        conn.execute(sa.text("create sequence scaleout_seq"))
        conn.execute(sa.text("create table scaleout_sample_order as select * from orders limit 1"))
        conn.execute(
            sa.text(
                "create table scaleout_sample_audit as select a.* from audit_log a "
                "join scaleout_sample_order o on a.entity_id = o.id limit 1"
            )
        )
        conn.execute(
            sa.text(
                "create table scaleout_sample_outbox as select b.* from outbox b "
                "join scaleout_sample_order o on b.aggregate_id = o.id limit 1"
            )
        )
    script = workdir / "orders.sql"
    script.write_text(PGBENCH_SCRIPT, encoding="utf-8")
    cmd = [PGBENCH, "-n", "-M", "prepared", "-f", str(script), "-c", str(profile.concurrency), "-j", "2"]
    cmd += ["-T", str(int(profile.duration)), _libpq(url)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed: {done.stderr.strip()[-2000:]}")
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    lat = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if tps is None:
        raise RuntimeError(f"cannot read pgbench output: {done.stdout[-2000:]}")
    return {
        "tps": float(tps.group(1)),
        "latency_avg_ms": float(lat.group(1)) if lat else None,
        "failed": int(failed.group(1)) if failed else 0,
        "command": " ".join([*cmd[:-1], "<url>"]),
    }


def run(profile: Profile, workdir: Path, nats_nodes: int, server_url: str) -> dict[str, Any]:
    """The whole scenario; returns the JSON-able result."""
    cluster = NatsCluster(workdir / "nats", size=nats_nodes)
    cluster.start()
    try:
        with fresh_database(server_url) as url:
            env = {
                **os.environ,
                "ORDERLOOM_DATABASE_URL": url,
                "ORDERLOOM_NATS_URL": cluster.url,
                "ORDERLOOM_NATS_REPLICAS": str(nats_nodes),
                "ORDERLOOM_NATS_STREAM": "SCALEOUT",
                "ORDERLOOM_RELAY_INTERVAL": "0.05",
            }
            subprocess.run([_orderloom(), "db", "upgrade"], env=env, check=True, capture_output=True)
            created = subprocess.run(
                [_orderloom(), "tenants", "create", "scaleout"], env=env, check=True, capture_output=True, text=True
            )
            key = created.stdout.strip().splitlines()[-1]
            body = workdir / "body.json"
            body.write_bytes(body_template())
            engine = sa.create_engine(url)
            procs = Processes(env, workdir)
            try:
                api = procs.start()
                closed = loadgen(api, key, body, prefix="closed", profile=profile, rate=None)
                closed["drain_s"] = round(wait_drained(engine), 2)
                closed["relay"] = relay_stats(engine, "closed")
                half = max(10.0, closed["achieved_per_s"] / 2)
                opened = loadgen(api, key, body, prefix="open", profile=profile, rate=half)
                opened["drain_s"] = round(wait_drained(engine), 2)
                opened["relay"] = relay_stats(engine, "open")
            finally:
                procs.stop()
            with engine.connect() as conn:
                counts = {t: conn.execute(sa.text(f"select count(*) from {t}")).scalar_one() for t in ("orders",)}
            acked = closed["total_ok"] + opened["total_ok"]
            bench = pgbench(engine, url, workdir, profile)
            engine.dispose()
    finally:
        cluster.stop()
    ratio = closed["achieved_per_s"] / bench["tps"] if bench["tps"] else 0.0
    lag_p99 = opened["relay"].get("lag_ms", {}).get("p99", float("inf"))
    keeps_up = opened["relay"].get("relay_tail_s", 1e9) < 1.0 and closed["drain_s"] < 5.0
    return {
        "quick": profile is QUICK,
        "nats_nodes": nats_nodes,
        "profile": profile.__dict__,
        "closed_loop": closed,
        "open_loop_half_rate": opened,
        "pgbench": bench,
        "verified": counts["orders"] == acked,
        "rows": {"orders": counts["orders"], "acked": acked},
        "ratio_vs_pgbench": round(ratio, 3),
        "targets": {
            "ratio_ge_0_8": ratio >= TARGET_RATIO,
            "relay_keeps_up": keeps_up,
            "lag_p99_le_100ms": lag_p99 <= TARGET_LAG_P99_MS,
        },
    }


def print_table(result: dict[str, Any], machine: dict[str, Any]) -> None:
    """The figures as one table."""
    table = Table(title=f"OrderLoom scale-out on PostgreSQL + NATS ({result['nats_nodes']} node(s))")
    for col in ("scenario", "orders/s", "HTTP p50 ms", "HTTP p99 ms", "relay lag p50/p99 ms", "relay ev/s", "drain s"):
        table.add_column(col, justify="right" if col != "scenario" else "left")
    for name, key in (("closed loop (saturation)", "closed_loop"), ("open loop, half rate", "open_loop_half_rate")):
        r = result[key]
        lag = r["relay"].get("lag_ms", {})
        table.add_row(
            name,
            f"{r['achieved_per_s']:,.1f}",
            f"{r['latency_ms']['p50']:.1f}",
            f"{r['latency_ms']['p99']:.1f}",
            f"{lag.get('p50', 0):.1f} / {lag.get('p99', 0):.1f}",
            f"{r['relay'].get('relay_events_per_s', 0):,.1f}",
            f"{r['drain_s']:.2f}",
        )
    pg = result["pgbench"]
    table.add_row("pgbench (same 3 inserts/tx)", f"{pg['tps']:,.1f}", "", "", "", "", "")
    console = Console(width=140)
    console.print(table)
    console.print(
        f"ratio ours/pgbench {result['ratio_vs_pgbench']:.2f} (target ≥ {TARGET_RATIO}); targets {result['targets']}; "
        f"every acknowledged order stored: {result['verified']}; CPU: {machine.get('cpu_model', '?')}, "
        f"{machine.get('nproc', '?')} cores (shared)"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="shorter runs (about a minute in all)")
    p.add_argument("--nats-nodes", type=int, choices=(1, 3), default=1, help="JetStream nodes (3 = R3 stream)")
    p.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = p.parse_args(argv)
    profile = QUICK if args.quick else FULL
    server_url = _server_url()
    if not server_url:
        print("scaleout: not run (set ORDERLOOM_BENCH_POSTGRES_URL or ORDERLOOM_TEST_POSTGRES_URL)", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory(prefix="orderloom-scaleout-") as tmp:
        workdir = Path(tmp)
        machine = machine_info(workdir)
        result = run(profile, workdir, args.nats_nodes, server_url)
    result["machine"] = machine
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print_table(result, machine)
    return 0 if result["verified"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
