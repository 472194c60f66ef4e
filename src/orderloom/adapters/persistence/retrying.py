"""A transaction runner that retries work aborted by a deadlock or serialization failure (bounded, with jitter).

PostgreSQL resolves a lock cycle by aborting one of the transactions (SQLSTATE 40P01) and may refuse a serializable
one (40001); both are safe to run again from the start. Anything else is raised at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog

from orderloom.application.ports import TransactionRunner, UnitOfWork

__all__ = ["RETRYABLE_SQLSTATES", "RetryingRunner", "is_retryable"]

T = TypeVar("T")
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})
log = structlog.get_logger(__name__)


def is_retryable(exc: BaseException) -> bool:
    """True for a deadlock or serialization failure reported by the database."""
    orig: Any = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    return (
        getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES or getattr(orig, "pgcode", None) in RETRYABLE_SQLSTATES
    )


class RetryingRunner:
    """Wraps a runner: a deadlocked or serialization-failed unit of work runs again, up to ``attempts`` times."""

    def __init__(self, inner: TransactionRunner, *, attempts: int = 6, base_delay: float = 0.005) -> None:
        self._inner = inner
        self._attempts = attempts
        self._base = base_delay

    def run(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run ``fn``; retry it on a deadlock or serialization failure."""
        for attempt in range(1, self._attempts + 1):
            try:
                return self._inner.run(fn)
            except Exception as exc:
                if attempt == self._attempts or not is_retryable(exc):
                    raise
                log.info("transaction_retry", attempt=attempt, error=type(exc).__name__)
                time.sleep(random.uniform(0, self._base * 2**attempt))
        raise AssertionError("unreachable")

    def submit(self, fn: Callable[[UnitOfWork], T]) -> Awaitable[T]:
        """``run`` in a worker thread, awaitable."""
        import asyncio

        return asyncio.to_thread(self.run, fn)
