"""A small HTTP/1.1 load generator for ``POST /v1/orders``, run as its own process by ``bench/ingest.py``.

Raw asyncio streams (uvloop when installed) and keep-alive connections, no HTTP library, so that on a 2-core
machine the generator costs as little CPU as possible next to the server it measures.

Two modes:

* ``closed``: ``--concurrency`` connections, each sends its next request as soon as the previous answer arrives
  (finds the saturation throughput; latency is measured from the send).
* ``open``: requests are *scheduled* at ``--rate`` per second (Poisson or uniform arrivals) and sent on at most
  ``--concurrency`` connections. Latency is measured from the scheduled time, not from the actual send, so a
  stalled server is charged for the requests that queued behind it (no coordinated omission).

Each request carries a fresh ``channel_order_id`` (``<prefix>-<n>``). The result (counts by status, latency
percentiles, achieved rate, the generator's own CPU use) is printed as one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Stats", "main", "percentile"]

PLACEHOLDER = b"@@CHANNEL_ORDER_ID@@"


@dataclass
class Stats:
    """What one phase (warm-up or measurement) observed."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    send_lag: list[float] = field(default_factory=list)
    first_send: float = 0.0
    last_done: float = 0.0
    unsent: int = 0

    @property
    def ok(self) -> int:
        """2xx answers."""
        return sum(n for code, n in self.statuses.items() if 200 <= code < 300)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 for an empty list)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        """(Re)connect."""
        await self.close()
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)

    async def close(self) -> None:
        """Close quietly."""
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(self, payload: bytes) -> int:
        """Send one full request; return the status code once the whole response body has arrived."""
        if self.writer is None or self.reader is None:
            await self.open()
        assert self.writer is not None and self.reader is not None
        self.writer.write(payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at >= 0:
            end = lower.index(b"\r\n", at + 2)
            length = int(lower[at + 17 : end])
            if length:
                await self.reader.readexactly(length)
        else:  # we never expect chunked answers from this endpoint; drop the connection to stay in sync
            await self.close()
        if b"\r\nconnection: close" in lower:
            await self.close()
        return status


class Requests:
    """Builds complete request bytes with a unique channel_order_id each."""

    def __init__(self, *, host: str, port: int, key: str, template: bytes, prefix: str) -> None:
        self._before, self._after = template.split(PLACEHOLDER)
        self._head = (
            f"POST /v1/orders HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
        ).encode()
        self._prefix = prefix.encode()
        self._n = 0

    def next(self) -> bytes:
        """The next request."""
        self._n += 1
        body = b"%s%s-%d%s" % (self._before, self._prefix, self._n, self._after)
        return b"%sContent-Length: %d\r\n\r\n%s" % (self._head, len(body), body)


async def _send(conn: Connection, requests: Requests, stats: Stats, started: float) -> None:
    try:
        status = await conn.request(requests.next())
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        name = type(exc).__name__
        stats.errors[name] = stats.errors.get(name, 0) + 1
        await conn.close()
        return
    done = time.perf_counter()
    stats.statuses[status] = stats.statuses.get(status, 0) + 1
    stats.latencies.append(done - started)
    stats.last_done = max(stats.last_done, done)


async def closed_loop(conns: list[Connection], requests: Requests, duration: float) -> Stats:
    """Each connection sends back to back until ``duration`` has passed."""
    stats = Stats(first_send=time.perf_counter())
    deadline = stats.first_send + duration

    async def worker(conn: Connection) -> None:
        while time.perf_counter() < deadline:
            await _send(conn, requests, stats, time.perf_counter())

    await asyncio.gather(*(worker(c) for c in conns))
    return stats


def arrival_offsets(rate: float, duration: float, *, poisson: bool, seed: int) -> list[float]:
    """Scheduled send times (seconds from start) for ``rate`` requests/s over ``duration`` seconds."""
    if not poisson:
        return [i / rate for i in range(int(rate * duration))]
    rng = random.Random(seed)
    offsets: list[float] = []
    t = 0.0
    while True:
        t += rng.expovariate(rate)
        if t >= duration:
            return offsets
        offsets.append(t)


async def open_loop(conns: list[Connection], requests: Requests, offsets: list[float], *, grace: float) -> Stats:
    """Send each request at its scheduled time on a free connection; latency counts from the schedule.

    Requests still unsent ``grace`` seconds after the last scheduled time are given up (the server could not keep
    up); each is charged the time it had already waited, so the percentiles stay a lower bound, not a flattery.
    """
    start = time.perf_counter() + 0.01
    stats = Stats(first_send=start)
    hard_stop = start + (offsets[-1] if offsets else 0.0) + grace
    cursor = 0

    async def worker(conn: Connection) -> None:
        nonlocal cursor
        while cursor < len(offsets) and time.perf_counter() < hard_stop:
            scheduled = start + offsets[cursor]
            cursor += 1
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            stats.send_lag.append(time.perf_counter() - scheduled)
            await _send(conn, requests, stats, scheduled)

    await asyncio.gather(*(worker(c) for c in conns))
    now = time.perf_counter()
    stats.unsent = len(offsets) - cursor
    stats.latencies.extend(now - (start + t) for t in offsets[cursor:])
    return stats


def summarize(stats: Stats, *, offered: float | None = None) -> dict[str, Any]:
    """Counts, achieved rate and latency percentiles (ms) of a phase."""
    lat = sorted(stats.latencies)  # in open mode this includes the censored waits of unsent requests
    lag = sorted(stats.send_lag)
    elapsed = max(stats.last_done - stats.first_send, 1e-9)
    out: dict[str, Any] = {
        "requests": len(lat) - stats.unsent + sum(stats.errors.values()),
        "unsent": stats.unsent,
        "ok": stats.ok,
        "non_2xx": sum(n for code, n in stats.statuses.items() if not 200 <= code < 300),
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "errors": stats.errors,
        "elapsed_s": round(elapsed, 3),
        "achieved_per_s": round(stats.ok / elapsed, 1),
        "latency_ms": {
            "p50": round(percentile(lat, 50) * 1e3, 2),
            "p90": round(percentile(lat, 90) * 1e3, 2),
            "p99": round(percentile(lat, 99) * 1e3, 2),
            "p99_9": round(percentile(lat, 99.9) * 1e3, 2),
            "max": round((lat[-1] if lat else 0.0) * 1e3, 2),
            "mean": round((sum(lat) / len(lat) if lat else 0.0) * 1e3, 2),
        },
    }
    if offered is not None:
        out["offered_per_s"] = offered
        out["send_lag_ms"] = {"p50": round(percentile(lag, 50) * 1e3, 2), "p99": round(percentile(lag, 99) * 1e3, 2)}
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, then measure; returns the JSON-able result."""
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    template = Path(args.body).read_bytes()
    requests = Requests(host=host, port=port, key=args.key, template=template, prefix=args.prefix)
    conns = [Connection(host, port) for _ in range(args.concurrency)]
    await asyncio.gather(*(c.open() for c in conns))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if args.mode == "closed":
        warm = await closed_loop(conns, requests, args.warmup)
        cpu1, wall1 = time.process_time(), time.perf_counter()
        measured = await closed_loop(conns, requests, args.duration)
        result = summarize(measured)
    else:
        poisson = args.arrivals == "poisson"
        grace = max(2.0, 0.25 * args.duration)
        warm_offsets = arrival_offsets(args.rate, args.warmup, poisson=poisson, seed=1)
        warm = await open_loop(conns, requests, warm_offsets, grace=grace)
        cpu1, wall1 = time.process_time(), time.perf_counter()
        offsets = arrival_offsets(args.rate, args.duration, poisson=poisson, seed=2)
        measured = await open_loop(conns, requests, offsets, grace=grace)
        result = summarize(measured, offered=args.rate)
    cpu2, wall2 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(c.close() for c in conns))
    result.update(
        mode=args.mode,
        concurrency=args.concurrency,
        arrivals=args.arrivals if args.mode == "open" else None,
        warmup={"ok": warm.ok, "requests": len(warm.latencies) - warm.unsent + sum(warm.errors.values())},
        total_ok=warm.ok + measured.ok,
        loadgen_cpu_cores=round((cpu2 - cpu1) / max(wall2 - wall1, 1e-9), 2),
        loadgen_cpu_cores_warmup=round((cpu1 - cpu0) / max(wall1 - wall0, 1e-9), 2),
        event_loop="uvloop" if "uvloop" in sys.modules else "asyncio",
    )
    return result


def main(argv: list[str] | None = None) -> None:
    """Command line: see ``--help``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:8000")
    p.add_argument("--key", required=True, help="API key")
    p.add_argument("--body", required=True, help=f"file with the JSON body; {PLACEHOLDER.decode()} marks the id")
    p.add_argument("--prefix", default="BENCH", help="channel_order_id prefix (unique per run)")
    p.add_argument("--mode", choices=("closed", "open"), default="closed")
    p.add_argument("--concurrency", type=int, default=64, help="connections (the in-flight cap in open mode)")
    p.add_argument("--rate", type=float, default=1000.0, help="open mode: scheduled requests per second")
    p.add_argument("--arrivals", choices=("poisson", "uniform"), default="poisson")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of unmeasured warm-up first")
    args = p.parse_args(argv)
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # plain asyncio is fine, just a little slower
        runner = asyncio.run
    result = runner(run(args))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
