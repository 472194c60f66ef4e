"""Rate limiters: per process in memory, or shared by every process through the database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import sqlalchemy as sa

from orderloom.adapters.persistence.tables_scale import rate_buckets
from orderloom.domain.ratelimit import Bucket, take

__all__ = ["MemoryRateLimiter", "SqlRateLimiter"]


class MemoryRateLimiter:
    """Buckets in this process (one API process, or a per-process share of the limit)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()
        self._max = max_keys

    def acquire(self, key: str, *, rate: float, burst: float) -> float:
        with self._lock:
            if len(self._buckets) >= self._max and key not in self._buckets:
                self._buckets.clear()
            bucket, wait = take(self._buckets.get(key), rate=rate, burst=burst, now=self._clock())
            self._buckets[key] = bucket
        return wait


class SqlRateLimiter:
    """Buckets in the ``rate_buckets`` table, locked per row: one limit across all API processes."""

    def __init__(self, engine: sa.Engine, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock

    def acquire(self, key: str, *, rate: float, burst: float) -> float:
        now = self._clock()
        with self._engine.begin() as conn:
            # make sure the row exists (a full bucket), then take from it under the row lock
            conn.execute(_insert_ignore(conn.dialect.name).values(key=key, tokens=float(burst), updated=now))
            row = conn.execute(
                sa.select(rate_buckets.c.tokens, rate_buckets.c.updated)
                .where(rate_buckets.c.key == key)
                .with_for_update()
            ).one()
            bucket, wait = take(Bucket(row.tokens, row.updated), rate=rate, burst=burst, now=now)
            conn.execute(
                rate_buckets.update()
                .where(rate_buckets.c.key == key)
                .values(tokens=bucket.tokens, updated=bucket.updated)
            )
        return wait


def _insert_ignore(dialect: str) -> sa.Insert:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(rate_buckets).on_conflict_do_nothing(index_elements=["key"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(rate_buckets).on_conflict_do_nothing(index_elements=["key"])
