"""The composition root: reads settings, builds the adapters and wires them into the application.

Nothing here runs at import time; ``bootstrap()`` builds a Container and ``Container.close()`` releases it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import yaml

from orderloom.adapters.messaging.handlers import count_event, log_event
from orderloom.adapters.persistence.audit_reader import SqlAuditReader
from orderloom.adapters.persistence.console_store import SqlConsoleStore
from orderloom.adapters.persistence.engine import Engines, make_engines
from orderloom.adapters.persistence.messaging_store import SqlHandlerLedger, SqlOutboxReader
from orderloom.adapters.persistence.queries import SqlOrderQueries
from orderloom.adapters.persistence.tenants import SqlTenantDirectory
from orderloom.adapters.persistence.writer import GroupCommitWriter, SqlTransactionRunner
from orderloom.application.messagebus import MessageBus, Subscription
from orderloom.application.ports import TransactionRunner
from orderloom.application.relay import OutboxRelay
from orderloom.application.relay_worker import RelayWorker
from orderloom.config import Settings
from orderloom.domain.lifecycle import Lifecycle

__all__ = ["Container", "bootstrap", "load_lifecycle", "utc_now"]


def utc_now() -> datetime:
    """The clock: aware UTC now."""
    return datetime.now(UTC)


def load_lifecycle(text: str | None = None) -> Lifecycle:
    """Read and validate ``data/lifecycle.yaml`` (or the given YAML text)."""
    if text is None:
        text = resources.files("orderloom.data").joinpath("lifecycle.yaml").read_text(encoding="utf-8")
    definition: dict[str, Any] = yaml.safe_load(text)
    return Lifecycle.from_definition(definition)


@dataclass
class Container:
    """Everything the entrypoints need, built once."""

    settings: Settings
    engines: Engines
    lifecycle: Lifecycle
    writer: TransactionRunner
    tx: SqlTransactionRunner
    queries: SqlOrderQueries
    tenants: SqlTenantDirectory
    outbox: SqlOutboxReader
    ledger: SqlHandlerLedger
    bus: MessageBus
    relay: OutboxRelay
    relay_worker: RelayWorker
    audit: SqlAuditReader
    console: SqlConsoleStore
    _started: list[Any] = field(default_factory=list, repr=False)

    def start(self, *, relay: bool | None = None) -> None:
        """Start the background parts: the group-commit writer and (if enabled) the relay."""
        if isinstance(self.writer, GroupCommitWriter):
            self.writer.start()
            self._started.append(self.writer)
        if self.settings.relay_enabled if relay is None else relay:
            self.relay_worker.start()
            self._started.append(self.relay_worker)

    def close(self) -> None:
        """Stop background parts and release connections."""
        while self._started:
            self._started.pop().stop()
        self.engines.dispose()


def bootstrap(
    settings: Settings | None = None,
    *,
    group_commit: bool = True,
    subscriptions: Sequence[Subscription] = (),
) -> Container:
    """Build the container for the configured store."""
    settings = settings or Settings()
    engines = make_engines(settings.database_url)
    lifecycle = load_lifecycle()
    tx = SqlTransactionRunner(engines.write)
    writer: TransactionRunner = (
        GroupCommitWriter(engines.write, max_batch=settings.group_commit_max_batch) if group_commit else tx
    )
    outbox = SqlOutboxReader(engines.write, engines.read)
    ledger = SqlHandlerLedger(engines.write, engines.read)
    subs = [
        Subscription("log_event", "*", log_event, durable=False),
        Subscription("count_event", "*", count_event, durable=False),
        *subscriptions,
    ]
    bus = MessageBus(ledger=ledger, clock=utc_now, subscriptions=subs, max_attempts=settings.handler_max_attempts)
    relay = OutboxRelay(outbox=outbox, publisher=bus)
    return Container(
        settings=settings,
        engines=engines,
        lifecycle=lifecycle,
        writer=writer,
        tx=tx,
        queries=SqlOrderQueries(engines.read),
        tenants=SqlTenantDirectory(engines.write, engines.read),
        outbox=outbox,
        ledger=ledger,
        bus=bus,
        relay=relay,
        relay_worker=RelayWorker(relay=relay, bus=bus, outbox=outbox, interval=settings.relay_interval),
        audit=SqlAuditReader(engines.read),
        console=SqlConsoleStore(engines.write, engines.read),
    )
