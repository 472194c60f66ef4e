"""The polling worker against a real local HTTP server (a thread) that replays the carrier samples: rate limit,
retries on 5xx, circuit breaker, and scans applied to shipments on SQLite."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from orderloom.adapters.carriers.polling import (
    CarrierEndpoint,
    CarrierUnavailable,
    FetchFailed,
    HttpTrackingFetcher,
    RateLimiter,
)
from orderloom.adapters.memory import MemoryTransactionRunner
from orderloom.application.orders import place_order
from orderloom.application.polling import poll_open_shipments
from orderloom.application.shipments import create_shipment
from orderloom.bootstrap import bootstrap, load_lifecycle
from orderloom.config import Settings
from orderloom.domain.breaker import CircuitBreaker
from tests.conftest import example_order, sqlite_url

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "carriers"
ROUTES = {
    "/usps/9400109104250532908587": (200, FIXTURES / "usps" / "tracking_delivered_raw.json"),
    "/dhl_express/3180831640": (200, FIXTURES / "dhl_express" / "tracking_multi_raw.xml"),
    "/ups/1ZNOTFOUND": (200, FIXTURES / "ups" / "invalid_tracking_number_raw.json"),
}


class FakeCarriers(ThreadingHTTPServer):
    hits: dict[str, int]
    flaky_left: int


class Handler(BaseHTTPRequestHandler):
    server: FakeCarriers

    def do_GET(self) -> None:
        self.server.hits[self.path] = self.server.hits.get(self.path, 0) + 1
        if self.path.startswith("/down/"):
            return self._send(503, b"unavailable")
        if self.path.startswith("/flaky/"):
            if self.server.flaky_left > 0:
                self.server.flaky_left -= 1
                return self._send(502, b"bad gateway")
            return self._send(200, (FIXTURES / "sf_express" / "tracking_delivered_raw.json").read_bytes())
        status, path = ROUTES.get(self.path, (404, None))
        self._send(status, path.read_bytes() if path else b'{"status": 404, "title": "Not Found", "detail": "no"}')

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def server() -> Iterator[FakeCarriers]:
    srv = FakeCarriers(("127.0.0.1", 0), Handler)
    srv.hits, srv.flaky_left = {}, 0
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def base(srv: FakeCarriers) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}"


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limiter_spaces_calls_by_the_configured_rate() -> None:
    t = FakeTime()
    limiter = RateLimiter(rate=4.0, burst=2, clock=t.clock, sleep=t.sleep)
    waits = [limiter.acquire() for _ in range(6)]
    assert waits[:2] == [0.0, 0.0]  # the burst
    assert waits[2:] == pytest.approx([0.25, 0.25, 0.25, 0.25])


def test_breaker_opens_fails_fast_then_half_opens() -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_after=10.0)
    breaker.record_failure(0.0)
    assert breaker.state == "closed" and breaker.allow(0.0)
    breaker.record_failure(1.0)
    assert breaker.state == "open" and not breaker.allow(5.0)
    assert breaker.allow(11.0) and breaker.state == "half_open"  # one trial call
    assert not breaker.allow(11.5)  # and only one
    breaker.record_failure(11.5)
    assert breaker.state == "open" and not breaker.allow(20.0)
    assert breaker.allow(21.5)
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow(21.6)


def test_retries_transient_errors_against_a_real_server(server: FakeCarriers) -> None:
    t = FakeTime()
    server.flaky_left = 2
    fetcher = HttpTrackingFetcher(
        {"sf_express": CarrierEndpoint(base(server) + "/flaky/{number}", rate_per_s=100, burst=10)},
        attempts=3,
        clock=t.clock,
        sleep=t.sleep,
    )
    body = fetcher.fetch("sf_express", "SF1011603494291")
    assert b"SF1011603494291" in body
    assert server.hits["/flaky/SF1011603494291"] == 3
    assert fetcher.breakers["sf_express"].state == "closed"
    fetcher.close()


def test_breaker_stops_calling_a_carrier_that_is_down(server: FakeCarriers) -> None:
    t = FakeTime()
    fetcher = HttpTrackingFetcher(
        {"ups": CarrierEndpoint(base(server) + "/down/{number}", rate_per_s=100, burst=10)},
        attempts=2,
        breaker_threshold=2,
        breaker_cooldown=60,
        clock=t.clock,
        sleep=t.sleep,
    )
    for _ in range(2):
        with pytest.raises(FetchFailed):
            fetcher.fetch("ups", "1Z")
    assert server.hits["/down/1Z"] == 4  # 2 calls x 2 attempts
    with pytest.raises(CarrierUnavailable):
        fetcher.fetch("ups", "1Z")
    assert server.hits["/down/1Z"] == 4  # failed fast, the server was not called
    fetcher.close()


def test_poll_pass_applies_replayed_samples_to_open_shipments(server: FakeCarriers, tmp_path: Path) -> None:
    container = bootstrap(Settings(database_url=sqlite_url(tmp_path), relay_enabled=False), group_commit=False)
    try:
        tenant = container.tenants.create("poller")[0]
        lifecycle = load_lifecycle()
        import msgspec

        from orderloom.entrypoints.api.schemas import decode_new_order

        def setup(uow: Any) -> None:
            for carrier, number in [
                ("usps", "9400109104250532908587"),
                ("dhl_express", "3180831640"),
                ("ups", "1ZNOTFOUND"),
                ("aramex", "X1"),
            ]:
                body = example_order(status={"main": "shipped", "sub": "handed_to_carrier"})
                doc = place_order(
                    uow=uow,
                    tenant_id=tenant,
                    new=decode_new_order(msgspec.json.encode(body)),
                    lifecycle=lifecycle,
                    actor="t",
                    now=datetime(2009, 8, 27, tzinfo=UTC),
                )
                create_shipment(
                    uow=uow,
                    tenant_id=tenant,
                    order_id=doc["id"],
                    carrier=carrier,
                    tracking_numbers=[number],
                    now=datetime(2009, 8, 27, tzinfo=UTC),
                )

        container.tx.run(setup)
        t = FakeTime()
        endpoints = {
            c: CarrierEndpoint(base(server) + f"/{c}/{{number}}", rate_per_s=50, burst=1)
            for c in ("usps", "dhl_express", "ups")
        }
        fetcher = HttpTrackingFetcher(endpoints, attempts=2, clock=t.clock, sleep=t.sleep)
        assert container.tracking is not None
        summary = poll_open_shipments(
            runner=container.tx,
            fetcher=fetcher,
            setup=container.tracking,
            lifecycle=lifecycle,
            clock=lambda: datetime(2030, 1, 1, tzinfo=UTC),
        )
        fetcher.close()
        assert (summary.asked, summary.applied, summary.fetch_failures) == (4, 3, 1)  # aramex has no endpoint
        assert summary.scans == 12 + 16
        left = container.tx.run(lambda uow: uow.shipments.open_numbers(10))  # type: ignore[attr-defined]
        assert sorted(n for _, _, n in left) == ["1ZNOTFOUND", "X1"]  # the delivered ones are no longer polled
    finally:
        container.close()


def test_memory_twin_lists_open_numbers_the_same_way() -> None:
    runner = MemoryTransactionRunner()
    assert runner.run(lambda uow: uow.shipments.open_numbers(5)) == []  # type: ignore[attr-defined]
