"""The message bus: delivers published events to handlers at least once, idempotently and never silently.

A handler runs at most once successfully per event id (the ledger remembers). A failing handler is recorded with
its error and retried with exponential backoff and jitter; after ``max_attempts`` it is marked dead, which the
exception inbox shows.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog

from orderloom.application.ports import Clock, HandlerLedger, OutboxMessage, OutboxReader

__all__ = ["BatchEventHandler", "EventHandler", "EventScope", "MessageBus", "Subscription", "backoff_seconds"]

EventHandler = Callable[[dict[str, Any]], None]
# handles a batch of events in order and returns, per event, None for success or the exception it failed with
BatchEventHandler = Callable[[Sequence[dict[str, Any]]], Sequence[Exception | None]]
EventScope = Callable[[Mapping[str, Any]], AbstractContextManager[None]]
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A named handler for one event type (``*`` for every type).

    ``durable`` handlers run at most once successfully per event (the ledger remembers each success). Non-durable ones
    (metrics, logs) may run again on redelivery and cost no ledger write on success; their failures are still
    recorded and retried.

    ``batch``, when given, handles a relay batch's events of this type in one call (typically one transaction);
    ``handler`` still serves single deliveries and retries.
    """

    name: str
    event_type: str
    handler: EventHandler
    durable: bool = True
    batch: BatchEventHandler | None = None


def backoff_seconds(attempt: int, *, base: float = 1.0, cap: float = 600.0, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter: uniform in [base*2^(n-1)/2, base*2^(n-1)], capped."""
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return (rng or random).uniform(ceiling / 2, ceiling)


@dataclass
class MessageBus:
    """Dispatches CloudEvents to subscribed handlers through a ledger."""

    ledger: HandlerLedger
    clock: Clock
    subscriptions: Sequence[Subscription] = ()
    max_attempts: int = 8
    backoff_base: float = 1.0
    scope: EventScope | None = None  # e.g. a tracing span around each event's handlers
    _by_type: dict[str, list[Subscription]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for sub in self.subscriptions:
            self._by_type.setdefault(sub.event_type, []).append(sub)

    def handlers_for(self, event_type: str) -> list[Subscription]:
        """Subscriptions that receive an event type."""
        return self._by_type.get(event_type, []) + self._by_type.get("*", [])

    def publish(self, message: OutboxMessage) -> None:
        """Deliver one event to each subscribed handler that has not yet processed it."""
        self.dispatch(message)

    def publish_many(self, messages: Sequence[OutboxMessage]) -> list[str]:
        """Deliver a batch in order; every event counts as accepted (handler failures are retried by the ledger)."""
        self.dispatch_many(messages)
        return [m.event_id for m in messages]

    def dispatch_many(self, messages: Sequence[OutboxMessage]) -> list[bool]:
        """Deliver a batch: each subscription gets its events in order, in one call where it handles batches.

        Ledger reads and writes are one query each per subscription and batch, not one per event. Returns, per
        message, True when every handler has now succeeded for it.
        """
        if self.scope is not None:  # tracing: one span per event around its handlers
            return [self.dispatch(m) for m in messages]
        ok = [True] * len(messages)
        for sub in self.subscriptions:
            picked = [i for i, m in enumerate(messages) if sub.event_type in ("*", m.type)]
            if picked:
                for i in self._deliver_batch(sub, [messages[i].cloudevent for i in picked]):
                    ok[picked[i]] = False
        return ok

    def _deliver_batch(self, sub: Subscription, events: Sequence[Mapping[str, Any]]) -> list[int]:
        """Run one subscription over events in order; returns the positions that failed."""
        ids = [str(e["id"]) for e in events]
        todo = list(range(len(events)))
        if sub.durable:
            done = self.ledger.done_among(ids, sub.name)
            todo = [i for i in todo if ids[i] not in done]
        if not todo:
            return []
        results = self._run_batch(sub, [dict(events[i]) for i in todo])
        failed = []
        for i, exc in zip(todo, results, strict=True):
            if exc is not None:
                failed.append(i)
                self._record_failure(sub, ids[i], exc)
        if sub.durable:
            self.ledger.mark_done_many([ids[i] for i, exc in zip(todo, results, strict=True) if exc is None], sub.name)
        return failed

    @staticmethod
    def _run_batch(sub: Subscription, events: list[dict[str, Any]]) -> Sequence[Exception | None]:
        if sub.batch is not None:
            try:
                results = sub.batch(events)
            except Exception as exc:  # the whole batch failed (e.g. its transaction): every event is retried
                return [exc] * len(events)
            if len(results) != len(events):
                raise RuntimeError(f"batch handler {sub.name} returned {len(results)} results for {len(events)} events")
            return results
        out: list[Exception | None] = []
        for event in events:
            try:
                sub.handler(event)
            except Exception as exc:  # recorded and retried by the caller, never swallowed
                out.append(exc)
            else:
                out.append(None)
        return out

    def dispatch(self, message: OutboxMessage) -> bool:
        """Deliver one event to its handlers; True when every handler has now succeeded for it."""
        if self.scope is None:
            return self._dispatch(message)
        with self.scope(message.cloudevent):
            return self._dispatch(message)

    def _dispatch(self, message: OutboxMessage) -> bool:
        ok = True
        for sub in self.handlers_for(message.type):
            ok = self._deliver(sub, message.cloudevent) and ok
        return ok

    def _deliver(self, sub: Subscription, event: Mapping[str, Any]) -> bool:
        event_id = str(event["id"])
        if sub.durable and self.ledger.is_done(event_id, sub.name):
            return True
        try:
            sub.handler(dict(event))
        except Exception as exc:  # a handler's failure is recorded and retried, never swallowed
            self._record_failure(sub, event_id, exc)
            return False
        if sub.durable:
            self.ledger.mark_done(event_id, sub.name)
        return True

    def _record_failure(self, sub: Subscription, event_id: str, exc: Exception) -> None:
        attempt = self.ledger.attempts(event_id, sub.name) + 1
        retry_at = None
        if attempt < self.max_attempts:
            retry_at = self.clock() + timedelta(seconds=backoff_seconds(attempt, base=self.backoff_base))
        self.ledger.mark_failed(event_id, sub.name, error=f"{type(exc).__name__}: {exc}", retry_at=retry_at)
        log.warning(
            "handler_failed",
            handler=sub.name,
            event_id=event_id,
            attempt=attempt,
            dead=retry_at is None,
            error=str(exc),
        )

    def retry_due(self, outbox: OutboxReader, *, limit: int = 100) -> int:
        """Re-deliver events whose handlers failed and whose retry time has come; returns how many succeeded."""
        ok = 0
        by_name = {s.name: s for s in self.subscriptions}
        for event_id, name in self.ledger.due(self.clock(), limit):
            sub = by_name.get(name)
            message = outbox.get(event_id)
            if sub is None or message is None:
                self.ledger.mark_failed(event_id, name, error="handler or event no longer exists", retry_at=None)
                continue
            ok += self._deliver(sub, message.cloudevent)
        return ok
