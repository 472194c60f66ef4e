"""The composition root: reads settings, builds the adapters and wires them into the application.

Nothing here runs at import time; ``bootstrap()`` builds a Container and ``Container.close()`` releases it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from orderloom.adapters.carriers.code_maps import CodeMapStore, load_shipment_actions
from orderloom.adapters.carriers.fake_booking import FakeCarrier
from orderloom.adapters.carriers.registry import default_registry as default_carrier_registry
from orderloom.adapters.channels.registry import ChannelRegistry, default_registry
from orderloom.adapters.delay_model_file import load_delay_model
from orderloom.adapters.messaging.handlers import count_event, log_event
from orderloom.adapters.notify.channels import LogSink, SmtpNotifier, WebhookNotifier
from orderloom.adapters.notify.http_webhooks import HttpxWebhookSender
from orderloom.adapters.notify.templates import TemplateRenderer, load_policy, load_templates
from orderloom.adapters.observability.tracing import event_scope, make_tracer_provider, tracing_enabled
from orderloom.adapters.persistence.audit_reader import SqlAuditReader
from orderloom.adapters.persistence.channel_store import SqlChannelStore
from orderloom.adapters.persistence.console_store import SqlConsoleStore
from orderloom.adapters.persistence.engine import Engines, make_engines
from orderloom.adapters.persistence.inventory_store import SqlInventoryReads
from orderloom.adapters.persistence.messaging_store import SqlHandlerLedger, SqlOutboxReader
from orderloom.adapters.persistence.notifications import SqlNotificationLedger
from orderloom.adapters.persistence.queries import SqlOrderQueries
from orderloom.adapters.persistence.retrying import RetryingRunner
from orderloom.adapters.persistence.routing_store import SqlDualPrices, SqlRoutingReads
from orderloom.adapters.persistence.rules_store import SqlRuleHistory, SqlRuleStore
from orderloom.adapters.persistence.sla_store import SqlSlaStore
from orderloom.adapters.persistence.tenants import SqlTenantDirectory
from orderloom.adapters.persistence.uow import SqlUnitOfWork
from orderloom.adapters.persistence.webhooks import SqlWebhookStore
from orderloom.adapters.persistence.writer import GroupCommitWriter, SqlTransactionRunner
from orderloom.adapters.ratelimit import MemoryRateLimiter, SqlRateLimiter
from orderloom.adapters.return_labels import BookedReturnLabels
from orderloom.adapters.returns_config import load_default_return_rules, load_return_reasons
from orderloom.adapters.routing_feeds import FeedSettings, build_feed_hub
from orderloom.adapters.routing_rates import load_rates, load_trade_rules
from orderloom.adapters.rules.cel_engine import CelRuleCompiler
from orderloom.adapters.sla_policy_file import load_sla_policy
from orderloom.adapters.validation import AddressQuality, BrCepIndex, FormatChecks, PriceConflictCheck
from orderloom.application.channel_ports import ChannelStore
from orderloom.application.compensation import DelayCompensation
from orderloom.application.fulfilment import Fulfilment, WaveOrdersHandler
from orderloom.application.intake_prechecks import RuleCompliance, StockPrecheck
from orderloom.application.inventory_handlers import OrderStockHandler, inventory_subscriptions
from orderloom.application.inventory_ports import Sourcing
from orderloom.application.messagebus import MessageBus, Subscription
from orderloom.application.notifications import Notifier, ShipmentNotifications
from orderloom.application.order_checks import OrderCheck
from orderloom.application.periodic import PeriodicWorker
from orderloom.application.ports import Publisher, RateLimiter, TransactionRunner, UnitOfWork
from orderloom.application.relay import OutboxRelay
from orderloom.application.relay_worker import RelayWorker
from orderloom.application.returns import ReturnsSetup
from orderloom.application.returns_policy import RulesReturnPolicy
from orderloom.application.returns_shipped import LedgerShippedQuantities
from orderloom.application.routing import CostRouter
from orderloom.application.routing_feeds import FeedHub
from orderloom.application.rules import RuleSets
from orderloom.application.rules_intake import RulesIntake
from orderloom.application.sla import order_sla_batch_handler, order_sla_handler
from orderloom.application.tracking import TrackingSetup
from orderloom.application.webhooks import deliver_due, fan_out, fan_out_many
from orderloom.config import Settings
from orderloom.domain.delay_risk import DelayModel
from orderloom.domain.fulfilment import FulfilmentMachine
from orderloom.domain.lifecycle import Lifecycle
from orderloom.domain.rules import ContextSchema
from orderloom.domain.sla import SlaPolicy

if TYPE_CHECKING:
    from orderloom.adapters.messaging.nats_bus import JetStreamConsumer, NatsLink

__all__ = ["Container", "bootstrap", "load_fulfilment_machine", "load_lifecycle", "load_rules_context", "utc_now"]


def utc_now() -> datetime:
    """The clock: aware UTC now."""
    return datetime.now(UTC)


def load_lifecycle(text: str | None = None) -> Lifecycle:
    """Read and validate ``data/lifecycle.yaml`` (or the given YAML text)."""
    if text is None:
        text = resources.files("orderloom.data").joinpath("lifecycle.yaml").read_text(encoding="utf-8")
    definition: dict[str, Any] = yaml.safe_load(text)
    return Lifecycle.from_definition(definition)


def load_fulfilment_machine(text: str | None = None) -> FulfilmentMachine:
    """Read and validate ``data/fulfilment.yaml`` (or the given YAML text): the fulfilment-order state machine."""
    if text is None:
        text = resources.files("orderloom.data").joinpath("fulfilment.yaml").read_text(encoding="utf-8")
    definition: dict[str, Any] = yaml.safe_load(text)
    return FulfilmentMachine.from_definition(definition)


def load_rules_context(text: str | None = None) -> ContextSchema:
    """Read and check ``data/rules_context.yaml`` (or the given YAML text): what rules may refer to."""
    if text is None:
        text = resources.files("orderloom.data").joinpath("rules_context.yaml").read_text(encoding="utf-8")
    definition: dict[str, Any] = yaml.safe_load(text)
    return ContextSchema.from_definition(definition)


def _load_compensation_rules() -> dict[str, Any]:
    """The default ``compensation`` rule set (``data/compensation_rules.yaml``) for tenants without their own."""
    text = resources.files("orderloom.data").joinpath("compensation_rules.yaml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


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
    webhooks: SqlWebhookStore
    webhook_worker: PeriodicWorker
    inventory_reads: SqlInventoryReads
    inventory_writer: TransactionRunner
    sourcing: Sourcing
    rules: RuleSets
    sla_store: SqlSlaStore
    sla_policy: SlaPolicy
    delay_model: DelayModel
    console: SqlConsoleStore
    nats: NatsLink | None = None
    tracer_provider: Any = None
    rate_limiter: RateLimiter | None = None
    channels: ChannelRegistry = field(default_factory=default_registry)
    tracking: TrackingSetup | None = None
    notifications: ShipmentNotifications | None = None
    routing_reads: SqlRoutingReads | None = None
    fulfilment: Fulfilment | None = None
    returns: ReturnsSetup | None = None
    dual_prices: SqlDualPrices | None = None
    _started: list[Any] = field(default_factory=list, repr=False)
    _checks: list[OrderCheck] = field(default_factory=list, repr=False)

    def _br_index(self) -> BrCepIndex | None:
        path = self.settings.br_cep_geolocation
        return BrCepIndex.load(Path(path)) if path and Path(path).is_file() else None

    def intake_checks(self) -> list[OrderCheck]:
        """The checks channel orders pass before they are placed: format, inventory pre-check (SKU known, network
        ATP > 0; tenants without locations pass), compliance (the active ``compliance`` rule set), price, address."""
        if not self._checks:
            self._checks = [
                FormatChecks(),
                StockPrecheck(),
                RuleCompliance(self.rules),
                PriceConflictCheck(self.channel_store, threshold_pct=self.settings.price_conflict_pct),
                AddressQuality(br=self._br_index()),
            ]
        return self._checks

    def channel_store(self, uow: UnitOfWork) -> ChannelStore:
        """The channel intake store bound to a unit of work's transaction."""
        if not isinstance(uow, SqlUnitOfWork):
            raise TypeError("the channel store needs a SQL unit of work")
        return SqlChannelStore(uow.conn)

    def start(self, *, relay: bool | None = None) -> None:
        """Start the background parts: the group-commit writer and (if enabled) the relay."""
        if isinstance(self.writer, GroupCommitWriter):
            self.writer.start()
            self._started.append(self.writer)
        if self.settings.relay_enabled if relay is None else relay:
            self.relay_worker.start()
            self._started.append(self.relay_worker)
            self.webhook_worker.start()  # runs where the relay runs: once per deployment
            self._started.append(self.webhook_worker)

    def ensure_streams(self) -> None:
        """Create the JetStream streams when events go to NATS (no-op on the in-process bus)."""
        if self.nats is not None:
            self.nats.ensure_streams()

    def consumer(self, durable: str) -> JetStreamConsumer:
        """A durable JetStream consumer feeding this container's message bus."""
        from orderloom.adapters.messaging.nats_bus import JetStreamConsumer  # optional backbone, imported on use

        if self.nats is None:
            raise RuntimeError("ORDERLOOM_NATS_URL is not set: events use the in-process bus")
        return JetStreamConsumer(
            link=self.nats,
            bus=self.bus,
            durable=durable,
            stream=self.settings.nats_stream,
            max_deliver=self.settings.handler_max_attempts,
        )

    def close(self) -> None:
        """Stop background parts and release connections."""
        while self._started:
            self._started.pop().stop()
        if self.nats is not None:
            self.nats.close()
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
    sla_policy = load_sla_policy(lifecycle)
    sla_store = SqlSlaStore(engines.write, engines.read)
    sla_handler = order_sla_handler(store=sla_store, policy=sla_policy)
    sla_batch = order_sla_batch_handler(store=sla_store, policy=sla_policy)
    queries = SqlOrderQueries(engines.read)
    rules = RuleSets(
        store=SqlRuleStore(engines.write, engines.read),
        compiler=CelRuleCompiler(load_rules_context()),
        clock=utc_now,
        history=SqlRuleHistory(engines.read),
    )
    intake = RulesIntake(rules=rules, queries=queries, runner=tx, lifecycle=lifecycle, clock=utc_now)
    webhooks = SqlWebhookStore(engines.write, engines.read)
    dual_prices = SqlDualPrices(engines.write, engines.read)
    sourcing = CostRouter(
        rates=load_rates(),
        rules=rules,
        feeds=_routing_feeds(settings),
        trade=load_trade_rules(),
        dual_store=dual_prices,
    )
    stock_handler = OrderStockHandler(
        runner=RetryingRunner(tx),
        lifecycle=lifecycle,
        sourcing=sourcing,
        clock=utc_now,
        unpaid_hold=timedelta(minutes=settings.inventory_unpaid_hold_minutes),
    )
    subs = [
        Subscription("log_event", "*", log_event, durable=False),
        Subscription("count_event", "*", count_event, durable=False),
        # not ledgered per event: a ledger write per order made the relay fall behind ingest on SQLite (bench);
        # failures are still recorded and retried, and a re-run after a relay crash finds the order already moved
        Subscription("rules_intake", "orderloom.order.placed", intake, durable=False),
        # idempotent (one delivery per subscription and event), so not ledgered per event
        Subscription(
            "webhook_fanout", "*", partial(_fan_out, webhooks), durable=False, batch=partial(_fan_out_many, webhooks)
        ),
        *inventory_subscriptions(stock_handler),
        Subscription(
            "fulfilment.wave_orders",
            "orderloom.fulfilment.wave_released",
            WaveOrdersHandler(runner=RetryingRunner(tx), lifecycle=lifecycle, clock=utc_now),
        ),
        # idempotent (a replayed event finds its clock already set), so not ledgered: a ledger write per event made
        # the relay fall far behind ingest on SQLite
        Subscription("sla_order_placed", "orderloom.order.placed", sla_handler, durable=False, batch=sla_batch),
        Subscription("sla_order_status", "orderloom.order.status_changed", sla_handler, durable=False, batch=sla_batch),
        # ledgered: a coupon is offered at most once per delay prediction (rare: once per late-looking shipment)
        Subscription(
            "compensation",
            "orderloom.shipment.delay_predicted",
            DelayCompensation(
                rules=rules, default_document=_load_compensation_rules(), queries=queries, runner=tx, clock=utc_now
            ),
        ),
        *subscriptions,
    ]
    notifications = _notifications(settings, engines, queries)
    subs += [Subscription(f"notify:{t}", t, notifications) for t in NOTIFIED_EVENTS]
    tracer_provider = make_tracer_provider() if settings.tracing and not tracing_enabled() else None
    bus = MessageBus(
        ledger=ledger,
        clock=utc_now,
        subscriptions=subs,
        max_attempts=settings.handler_max_attempts,
        scope=event_scope if settings.tracing else None,
    )
    nats_link, publisher = _publisher(settings, bus)
    relay = OutboxRelay(outbox=outbox, publisher=publisher)
    return Container(
        settings=settings,
        engines=engines,
        lifecycle=lifecycle,
        writer=writer,
        tx=tx,
        queries=queries,
        tenants=SqlTenantDirectory(engines.write, engines.read),
        outbox=outbox,
        ledger=ledger,
        bus=bus,
        relay=relay,
        relay_worker=RelayWorker(
            relay=relay, bus=bus, outbox=outbox, interval=settings.relay_interval, retry_handlers=nats_link is None
        ),
        audit=SqlAuditReader(engines.read),
        inventory_reads=SqlInventoryReads(engines.read),
        inventory_writer=RetryingRunner(writer),
        sourcing=sourcing,
        nats=nats_link,
        rate_limiter=_rate_limiter(settings, engines),
        webhooks=webhooks,
        webhook_worker=_webhook_worker(settings, webhooks, outbox),
        rules=rules,
        tracer_provider=tracer_provider,
        tracking=_tracking(lifecycle),
        notifications=notifications,
        sla_store=sla_store,
        sla_policy=sla_policy,
        delay_model=load_delay_model(),
        console=SqlConsoleStore(engines.write, engines.read),
        routing_reads=SqlRoutingReads(engines.read),
        fulfilment=Fulfilment(machine=load_fulfilment_machine(), lifecycle=lifecycle, sourcing=sourcing),
        returns=_returns(lifecycle, rules),
        dual_prices=dual_prices,
    )


NOTIFIED_EVENTS = (
    "orderloom.shipment.scan_recorded",
    "orderloom.shipment.status_changed",
    "orderloom.shipment.arriving_soon",
    "orderloom.shipment.cold_chain_breached",
    "orderloom.shipment.delay_predicted",
    "orderloom.order.promise_changed",
)


def _notifications(settings: Settings, engines: Engines, queries: SqlOrderQueries) -> ShipmentNotifications:
    notifiers: list[Notifier] = [LogSink()]
    if settings.smtp_host:
        notifiers.append(SmtpNotifier(settings.smtp_host, settings.smtp_port, sender=settings.notify_from))
    if settings.notify_webhook_url:
        notifiers.append(WebhookNotifier(settings.notify_webhook_url, settings.notify_webhook_secret))
    doc = load_templates()
    return ShipmentNotifications(
        policy=load_policy(doc),
        renderer=TemplateRenderer(doc),
        orders=queries,
        ledger=SqlNotificationLedger(engines.write, engines.read),
        notifiers=notifiers,
    )


def _returns(lifecycle: Lifecycle, rules: RuleSets) -> ReturnsSetup:
    return ReturnsSetup(
        lifecycle=lifecycle,
        reasons=load_return_reasons(),
        policy=RulesReturnPolicy(rules=rules, default_document=load_default_return_rules()),
        shipped=LedgerShippedQuantities(),
        labels=BookedReturnLabels(FakeCarrier()),
    )


def _tracking(lifecycle: Lifecycle) -> TrackingSetup:
    statuses = [str(s) for s in lifecycle.all_statuses()]
    maps = CodeMapStore(statuses)
    return TrackingSetup(
        parsers=default_carrier_registry(),
        maps=maps,
        actions=load_shipment_actions(lifecycle.actions, statuses),
        refresh_maps=maps.refresh,
        reload_maps=maps.reload,
    )


def _fan_out(store: SqlWebhookStore, event: dict[str, Any]) -> None:
    fan_out(store=store, event=event, now=utc_now())


def _fan_out_many(store: SqlWebhookStore, events: Sequence[dict[str, Any]]) -> list[Exception | None]:
    fan_out_many(store=store, events=events, now=utc_now())
    return [None] * len(events)


def _routing_feeds(settings: Settings) -> FeedHub | None:
    """The routing feeds configured by ORDERLOOM_ROUTING_FEED_* (none by default)."""
    defaults: dict[str, Any] = {}
    if settings.routing_feed_defaults:
        loaded = yaml.safe_load(Path(settings.routing_feed_defaults).read_text(encoding="utf-8"))
        defaults = loaded if isinstance(loaded, dict) else {}
    return build_feed_hub(
        FeedSettings(
            weather=settings.routing_feed_weather,
            traffic=settings.routing_feed_traffic,
            carrier=settings.routing_feed_carrier,
            defaults=defaults,
            budget=settings.routing_feed_budget,
            attempts=settings.routing_feed_attempts,
            ttl=settings.routing_feed_ttl,
            failure_threshold=settings.routing_feed_failures,
            reset_after=settings.routing_feed_reset,
        )
    )


def _webhook_worker(settings: Settings, store: SqlWebhookStore, outbox: SqlOutboxReader) -> PeriodicWorker:
    sender = HttpxWebhookSender(timeout=settings.webhook_timeout)

    def tick() -> int:
        delivered, failed = deliver_due(
            store=store, outbox=outbox, sender=sender, now=utc_now(), max_attempts=settings.webhook_max_attempts
        )
        return delivered + failed

    return PeriodicWorker(name="webhooks", tick=tick, interval=settings.relay_interval, on_stop=sender.close)


def _rate_limiter(settings: Settings, engines: Engines) -> RateLimiter | None:
    if settings.rate_limit_per_second <= 0:
        return None
    return SqlRateLimiter(engines.write) if settings.rate_limit_shared else MemoryRateLimiter()


def _publisher(settings: Settings, bus: MessageBus) -> tuple[NatsLink | None, Publisher]:
    """The in-process bus, or JetStream when ``ORDERLOOM_NATS_URL`` is set (consumers then feed the bus)."""
    if not settings.nats_url:
        return None, bus
    from orderloom.adapters.messaging.nats_bus import JetStreamPublisher, NatsLink  # optional backbone, imported on use

    servers = [u.strip() for u in settings.nats_url.split(",") if u.strip()]
    link = NatsLink(servers, stream=settings.nats_stream, replicas=settings.nats_replicas)
    return link, JetStreamPublisher(link)
