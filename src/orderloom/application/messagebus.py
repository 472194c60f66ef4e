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

__all__ = ["EventHandler", "EventScope", "MessageBus", "Subscription", "backoff_seconds"]

EventHandler = Callable[[dict[str, Any]], None]
EventScope = Callable[[Mapping[str, Any]], AbstractContextManager[None]]
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A named handler for one event type (``*`` for every type).

    ``durable`` handlers run at most once successfully per event (the ledger remembers each success). Non-durable ones
    (metrics, logs) may run again on redelivery and cost no ledger write on success; their failures are still
    recorded and retried.
    """

    name: str
    event_type: str
    handler: EventHandler
    durable: bool = True


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
        for message in messages:
            self.dispatch(message)
        return [m.event_id for m in messages]

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
            return False
        if sub.durable:
            self.ledger.mark_done(event_id, sub.name)
        return True

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
