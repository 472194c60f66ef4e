"""The rate-limiter port: the in-memory twin and the database adapter (SQLite, PostgreSQL) behave the same."""

from __future__ import annotations

import threading

import pytest

from orderloom.adapters.persistence.engine import make_engines
from orderloom.adapters.ratelimit import MemoryRateLimiter, SqlRateLimiter
from orderloom.application.ports import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "database"])
def limiter(request: pytest.FixtureRequest, db_url: str) -> tuple[RateLimiter, Clock]:
    clock = Clock()
    if request.param == "memory":
        return MemoryRateLimiter(clock=clock), clock
    engines = make_engines(db_url)
    request.addfinalizer(engines.dispose)
    return SqlRateLimiter(engines.write, clock=clock), clock


def test_burst_then_wait_then_refill(limiter: tuple[RateLimiter, Clock]) -> None:
    rl, clock = limiter
    assert [rl.acquire("ten_a", rate=1.0, burst=3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert rl.acquire("ten_a", rate=1.0, burst=3) == pytest.approx(1.0)
    assert rl.acquire("ten_b", rate=1.0, burst=3) == 0.0  # keys are independent
    clock.now += 1.0
    assert rl.acquire("ten_a", rate=1.0, burst=3) == 0.0
    assert rl.acquire("ten_a", rate=1.0, burst=3) > 0


def test_concurrent_callers_never_exceed_the_burst(limiter: tuple[RateLimiter, Clock]) -> None:
    rl, _ = limiter
    granted: list[bool] = []
    lock = threading.Lock()

    def hit() -> None:
        for _ in range(10):
            ok = rl.acquire("shared", rate=0.001, burst=25) == 0.0
            with lock:
                granted.append(ok)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(granted) == 80
    assert sum(granted) == 25
