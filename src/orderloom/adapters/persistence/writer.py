"""Transaction runners: one transaction per call, or group commit across concurrent callers.

Group commit: a single writer thread takes every piece of work queued while the previous commit was being
fsynced, runs each in its own savepoint (so one failure does not sink the others) and commits them all in one
transaction. Each caller is answered only after that commit, so every acknowledged write is durable.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog
from prometheus_client import Histogram

from orderloom.adapters.observability.tracing import tracing_enabled
from orderloom.adapters.persistence.uow import SqlUnitOfWork
from orderloom.application.ports import UnitOfWork

__all__ = ["GroupCommitWriter", "SqlTransactionRunner"]

T = TypeVar("T")
log = structlog.get_logger(__name__)
BATCH_SIZE = Histogram(
    "orderloom_group_commit_batch_size",
    "Units of work committed per transaction by the group-commit writer",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)


class SqlTransactionRunner:
    """One transaction per call (CLI, tests, workers)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def run(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run ``fn`` in its own transaction and commit."""
        with self._engine.begin() as conn:
            uow = SqlUnitOfWork(conn)
            result = fn(uow)
            uow.flush()
            return result

    async def submit(self, fn: Callable[[UnitOfWork], T]) -> T:
        """``run`` in a worker thread."""
        return await asyncio.to_thread(self.run, fn)


@dataclass(slots=True)
class _Work:
    fn: Callable[[UnitOfWork], Any]
    future: Future[Any]


_STOP = object()


def _in_context(ctx: contextvars.Context, fn: Callable[[UnitOfWork], T]) -> Callable[[UnitOfWork], T]:
    return lambda uow: ctx.run(fn, uow)


class GroupCommitWriter:
    """Batches concurrent units of work into shared transactions on one writer thread."""

    def __init__(self, engine: sa.Engine, *, max_batch: int = 256) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="orderloom-writer", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish queued work and stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout)

    def _enqueue(self, fn: Callable[[UnitOfWork], T]) -> Future[T]:
        if self._thread is None:
            self.start()
        future: Future[T] = Future()
        if tracing_enabled():  # run in the caller's context, so its span is the parent of what the work records
            fn = _in_context(contextvars.copy_context(), fn)
        self._queue.put(_Work(fn, future))
        return future

    def run(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Queue ``fn`` and block until its batch has committed."""
        return self._enqueue(fn).result()

    def submit(self, fn: Callable[[UnitOfWork], T]) -> asyncio.Future[T]:
        """Queue ``fn``; the awaitable resolves once its batch has committed."""
        return asyncio.wrap_future(self._enqueue(fn))

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch: list[_Work] = [first]
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                batch.append(nxt)
            self._commit(batch)

    def _commit(self, batch: list[_Work]) -> None:
        outcomes: list[tuple[_Work, bool, Any]] = []
        try:
            with self._engine.begin() as conn:
                uow = SqlUnitOfWork(conn)
                for work in batch:
                    try:
                        with uow.savepoint():
                            outcomes.append((work, True, work.fn(uow)))
                    except Exception as exc:  # handed to that caller, the rest of the batch goes on
                        outcomes.append((work, False, exc))
                uow.flush()
        except Exception as exc:  # the commit itself failed: nobody's work is durable
            log.error("group_commit_failed", size=len(batch), error=str(exc))
            for work in batch:
                if not work.future.done():
                    work.future.set_exception(exc)
            return
        BATCH_SIZE.observe(len(batch))
        for work, ok, value in outcomes:
            if ok:
                work.future.set_result(value)
            else:
                work.future.set_exception(value)
