"""Routing feeds against a local fake HTTP server (slow, failing, recovering) and against files."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orderloom.adapters.routing_feeds import (
    CarrierHeatFeed,
    FeedSettings,
    FileTransport,
    HttpTransport,
    WeatherAlertsFeed,
    build_feed_hub,
)
from orderloom.application.routing_feeds import FeedUnavailable, GuardedFeed
from orderloom.domain.breaker import BreakerState, CircuitBreaker
from orderloom.domain.routing_feeds import FeedSource

ALERTS = {"regions": [{"region": "CN-44", "status": "closed", "reason": "typhoon"}]}


@dataclass
class Behaviour:
    mode: str = "ok"  # ok | slow | fail | garbage
    hits: int = 0


@pytest.fixture
def server() -> Iterator[tuple[str, Behaviour]]:
    behaviour = Behaviour()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            behaviour.hits += 1
            if behaviour.mode == "slow":
                time.sleep(0.5)
            if behaviour.mode == "fail":
                self.send_response(503)
                self.end_headers()
                return
            body = b"not json" if behaviour.mode == "garbage" else json.dumps(ALERTS).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                pass

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/alerts", behaviour
    httpd.shutdown()
    httpd.server_close()


class StepClock:
    """A monotonic clock the test moves (the transport keeps its own real clock for the budget)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_http_feed_live_slow_failing_and_recovering(server: tuple[str, Behaviour]) -> None:
    url, behaviour = server
    transport = HttpTransport(url, budget=0.1, attempts=2)
    clock = StepClock()
    g = GuardedFeed(
        feed=WeatherAlertsFeed(transport),
        monotonic=clock,
        wall=lambda: datetime(2026, 11, 26, 3, 0, tzinfo=UTC),
        ttl=0,
        breaker=CircuitBreaker(failure_threshold=2, reset_after=30),
    )
    try:
        r = g.read()
        assert r.source == FeedSource.LIVE and r.adjustments.closed_regions == {"CN-44": "weather: typhoon"}
        behaviour.mode = "slow"
        r = g.read()
        assert r.source == FeedSource.LAST_GOOD and "no answer within 100 ms" in r.note
        behaviour.mode, behaviour.hits = "fail", 0
        r = g.read()
        assert r.source == FeedSource.LAST_GOOD and "HTTP 503" in r.note
        assert behaviour.hits == 2  # retried once (2 attempts)
        assert g.state == BreakerState.OPEN
        behaviour.hits = 0
        clock.t = 10
        assert "circuit open" in g.read().note and behaviour.hits == 0
        behaviour.mode = "ok"
        clock.t = 31  # half-open trial succeeds
        r = g.read()
        assert r.source == FeedSource.LIVE and g.state == BreakerState.CLOSED and behaviour.hits == 1
    finally:
        transport.close()


def test_http_feed_bad_document_is_a_failure_without_retry(server: tuple[str, Behaviour]) -> None:
    url, behaviour = server
    behaviour.mode = "garbage"
    transport = HttpTransport(url, budget=0.5, attempts=3)
    try:
        with pytest.raises(FeedUnavailable, match="not JSON"):
            WeatherAlertsFeed(transport).fetch()
        assert behaviour.hits == 1
    finally:
        transport.close()


def test_connection_refused_is_unavailable() -> None:
    transport = HttpTransport("http://127.0.0.1:9/none", budget=0.1, attempts=2)
    try:
        with pytest.raises(FeedUnavailable, match=r"connection failed|no answer within"):
            WeatherAlertsFeed(transport).fetch()
    finally:
        transport.close()


def test_file_feeds_and_hub_from_settings(tmp_path: Path) -> None:
    weather = tmp_path / "weather.json"
    weather.write_text(json.dumps(ALERTS), encoding="utf-8")
    carrier = tmp_path / "carrier.yaml"
    carrier.write_text("lanes:\n  - {service: economy, origin: CN-44, heat: full, reason: backlog}\n", encoding="utf-8")
    assert CarrierHeatFeed(FileTransport(carrier)).fetch().lane_closed == {("economy", "CN-44"): "carrier: backlog"}
    hub = build_feed_hub(
        FeedSettings(
            weather=str(weather),
            traffic=str(tmp_path / "missing.json"),
            carrier=str(carrier),
            defaults={"traffic": {"regions": [{"region": "CN-11", "status": "warning", "delay_days": 1}]}},
            ttl=0,
        )
    )
    assert hub is not None
    merged, readings = hub.read()
    assert [(r.feed, r.source) for r in readings] == [("weather", "live"), ("traffic", "default"), ("carrier", "live")]
    assert merged.closed_regions == {"CN-44": "weather: typhoon"} and merged.delay_days == {"CN-11": 1}
    assert "missing.json" in readings[1].note
    assert build_feed_hub(FeedSettings()) is None


def test_packaged_sample_feeds_parse() -> None:
    from importlib import resources

    base = Path(str(resources.files("orderloom.data").joinpath("routing/feeds")))
    hub = build_feed_hub(
        FeedSettings(
            weather=str(base / "weather.json"),
            traffic=str(base / "traffic.json"),
            carrier=str(base / "carrier.json"),
            ttl=0,
        )
    )
    assert hub is not None
    merged, readings = hub.read()
    assert all(r.source == FeedSource.LIVE for r in readings)
    assert merged.delay_days == {"CN-44": 1} and merged.lane_capacity == {("economy", "*"): 0.8}
