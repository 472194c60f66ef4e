"""The outbox reader and the handler ledger in SQL (used by the relay and the message bus)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
import sqlalchemy as sa

from orderloom.adapters.observability.metrics import HANDLER_FAILURES, observe_published
from orderloom.adapters.persistence.tables import handler_runs, outbox
from orderloom.application.ports import OutboxMessage

__all__ = ["SqlHandlerLedger", "SqlOutboxReader"]


def _message(row: sa.Row[tuple[int, str, str, str, str]]) -> OutboxMessage:
    return OutboxMessage(
        seq=row.seq,
        event_id=row.event_id,
        tenant_id=row.tenant_id,
        type=row.type,
        cloudevent=msgspec.json.decode(row.payload),
    )


def _mark(conn: sa.Connection, event_ids: Sequence[str]) -> None:
    now = datetime.now(UTC)
    for i in range(0, len(event_ids), 500):
        chunk = list(event_ids[i : i + 500])
        conn.execute(outbox.update().where(outbox.c.event_id.in_(chunk)).values(published_at=now))


class SqlOutboxReader:
    """Unpublished rows in commit order."""

    def __init__(self, write: sa.Engine, read: sa.Engine) -> None:
        self._write = write
        self._read = read

    def _cols(self) -> sa.Select[tuple[int, str, str, str, str]]:
        return sa.select(outbox.c.seq, outbox.c.event_id, outbox.c.tenant_id, outbox.c.type, outbox.c.payload)

    def unpublished(self, limit: int) -> list[OutboxMessage]:
        with self._read.connect() as conn:
            rows = conn.execute(
                self._cols().where(outbox.c.published_at.is_(None)).order_by(outbox.c.seq).limit(limit)
            ).all()
        return [_message(r) for r in rows]

    def mark_published(self, event_ids: Sequence[str]) -> None:
        with self._write.begin() as conn:
            _mark(conn, event_ids)

    def relay_batch(self, limit: int, publish: Callable[[list[OutboxMessage]], list[str]]) -> tuple[int, int]:
        """Claim up to ``limit`` rows, publish them, mark the accepted ones; returns (claimed, accepted).

        On PostgreSQL the rows are claimed with ``FOR UPDATE SKIP LOCKED`` inside one transaction, so several relay
        processes share the outbox without publishing a row twice. SQLite has a single relay per store.
        """
        if self._write.dialect.name != "postgresql":
            messages = self.unpublished(limit)
            accepted = publish(messages) if messages else []
            if accepted:
                self.mark_published(accepted)
            observe_published(messages, accepted)
            return len(messages), len(accepted)
        with self._write.begin() as conn:
            query = (
                self._cols()
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.seq)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            messages = [_message(r) for r in conn.execute(query).all()]
            accepted = publish(messages) if messages else []
            _mark(conn, accepted)
        observe_published(messages, accepted)
        return len(messages), len(accepted)

    def get(self, event_id: str) -> OutboxMessage | None:
        with self._read.connect() as conn:
            row = conn.execute(self._cols().where(outbox.c.event_id == event_id)).first()
        return _message(row) if row is not None else None

    def oldest_unpublished_at(self) -> datetime | None:
        """Commit time of the oldest row waiting for the relay."""
        with self._read.connect() as conn:
            return conn.execute(
                sa.select(outbox.c.occurred_at).where(outbox.c.published_at.is_(None)).order_by(outbox.c.seq).limit(1)
            ).scalar()

    def pending_count(self) -> int:
        """How many rows wait for the relay."""
        with self._read.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).where(outbox.c.published_at.is_(None))).scalar_one())


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    """Slices small enough for an IN list on every backend."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlHandlerLedger:
    """handler_runs: done, failed (with next attempt) or dead."""

    def __init__(self, write: sa.Engine, read: sa.Engine) -> None:
        self._write = write
        self._read = read

    def _row(self, event_id: str, handler: str) -> sa.Row[Any, Any] | None:
        with self._read.connect() as conn:
            return conn.execute(
                sa.select(handler_runs.c.status, handler_runs.c.attempts).where(
                    handler_runs.c.event_id == event_id, handler_runs.c.handler == handler
                )
            ).first()

    def is_done(self, event_id: str, handler: str) -> bool:
        row = self._row(event_id, handler)
        return row is not None and row.status == "done"

    def attempts(self, event_id: str, handler: str) -> int:
        row = self._row(event_id, handler)
        return int(row.attempts) if row is not None else 0

    def _upsert(self, event_id: str, handler: str, values: dict[str, object]) -> None:
        now = datetime.now(UTC)
        with self._write.begin() as conn:
            updated = conn.execute(
                handler_runs.update()
                .where(handler_runs.c.event_id == event_id, handler_runs.c.handler == handler)
                .values(updated_at=now, **values)
            ).rowcount
            if not updated:
                values = {"attempts": 0, **values}
                conn.execute(handler_runs.insert().values(event_id=event_id, handler=handler, updated_at=now, **values))

    def mark_done(self, event_id: str, handler: str) -> None:
        self._upsert(event_id, handler, {"status": "done", "next_attempt_at": None})

    def done_among(self, event_ids: Sequence[str], handler: str) -> set[str]:
        done: set[str] = set()
        with self._read.connect() as conn:
            for chunk in _chunks(event_ids):
                done.update(
                    conn.execute(
                        sa.select(handler_runs.c.event_id).where(
                            handler_runs.c.handler == handler,
                            handler_runs.c.event_id.in_(chunk),
                            handler_runs.c.status == "done",
                        )
                    ).scalars()
                )
        return done

    def mark_done_many(self, event_ids: Sequence[str], handler: str) -> None:
        if not event_ids:
            return
        now = datetime.now(UTC)
        done = {"status": "done", "next_attempt_at": None, "updated_at": now}
        with self._write.begin() as conn:
            seen: set[str] = set()
            for chunk in _chunks(event_ids):
                seen.update(
                    conn.execute(
                        sa.select(handler_runs.c.event_id).where(
                            handler_runs.c.handler == handler, handler_runs.c.event_id.in_(chunk)
                        )
                    ).scalars()
                )
            for chunk in _chunks(sorted(seen)):
                conn.execute(
                    handler_runs.update()
                    .where(handler_runs.c.handler == handler, handler_runs.c.event_id.in_(chunk))
                    .values(**done)
                )
            fresh = [{"event_id": e, "handler": handler, "attempts": 0, **done} for e in dict.fromkeys(event_ids)]
            fresh = [row for row in fresh if row["event_id"] not in seen]
            if fresh:
                conn.execute(handler_runs.insert(), fresh)

    def mark_failed(self, event_id: str, handler: str, *, error: str, retry_at: datetime | None) -> int:
        HANDLER_FAILURES.labels(handler=handler, dead=str(retry_at is None).lower()).inc()
        attempts = self.attempts(event_id, handler) + 1
        self._upsert(
            event_id,
            handler,
            {
                "status": "failed" if retry_at is not None else "dead",
                "attempts": attempts,
                "last_error": error[:4000],
                "next_attempt_at": retry_at,
            },
        )
        return attempts

    def due(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        with self._read.connect() as conn:
            rows = conn.execute(
                sa.select(handler_runs.c.event_id, handler_runs.c.handler)
                .where(handler_runs.c.status == "failed", handler_runs.c.next_attempt_at <= now)
                .order_by(handler_runs.c.next_attempt_at)
                .limit(limit)
            ).all()
        return [(r.event_id, r.handler) for r in rows]
