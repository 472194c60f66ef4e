"""Settings from ORDERLOOM_* environment variables (pydantic-settings)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Everything configurable; read once by the composition root."""

    model_config = SettingsConfigDict(env_prefix="ORDERLOOM_", extra="ignore")

    database_url: str = Field(default="sqlite:///./var/orderloom.db", description="SQLAlchemy URL of the store")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="largest accepted request body")
    audit_retention_days: int = Field(default=548, ge=30, description="audit rows are kept at least this long")
    relay_enabled: bool = Field(default=True, description="run the outbox relay inside `orderloom serve`")
    relay_interval: float = Field(default=0.2, gt=0, description="seconds between relay polls when idle")
    handler_max_attempts: int = Field(default=8, ge=1, description="failures before a handler run is dead")
    group_commit_max_batch: int = Field(default=256, ge=1, description="units of work per group commit")
    nats_url: str | None = Field(
        default=None, description="NATS servers (comma-separated); set to publish events to JetStream"
    )
    nats_stream: str = Field(default="ORDERLOOM", description="JetStream stream for events")
    nats_replicas: int = Field(default=1, ge=1, le=5, description="stream replicas (3 on a 3-node cluster)")
    rate_limit_per_second: float = Field(
        default=0.0, ge=0, description="API requests a second per tenant (0 = no limit); 429 with Retry-After above"
    )
    rate_limit_burst: int = Field(default=0, ge=0, description="bucket size (0 = twice the rate, at least 1)")
    rate_limit_shared: bool = Field(
        default=False, description="keep buckets in the database so every API process shares one limit"
    )
    webhook_timeout: float = Field(default=5.0, gt=0, description="seconds a webhook receiver may take to answer")
    webhook_max_attempts: int = Field(default=8, ge=1, description="attempts before a webhook delivery is dead")
    inventory_unpaid_hold_minutes: int = Field(
        default=30, ge=1, description="minutes stock stays reserved for a confirmed order that is not paid yet"
    )
    tracing: bool = Field(
        default=False,
        description="OpenTelemetry traces API -> outbox -> consumer (OTLP when OTEL_EXPORTER_OTLP_ENDPOINT)",
    )
    price_conflict_pct: Decimal = Field(
        default=Decimal(50), gt=0, description="channel line price this % away from the SKU's last price → hold"
    )
    br_cep_geolocation: str | None = Field(
        default=None, description="Olist geolocation CSV (CC BY-NC-SA, not packaged) for Brazil CEP checks"
    )
    log_level: str = Field(default="INFO")
    log_json: bool = Field(default=False, description="JSON log lines instead of console output")
    smtp_host: str | None = Field(default=None, description="SMTP server for customer emails (none: no email)")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    notify_from: str = Field(default="orderloom@localhost", description="sender of customer emails")
    notify_webhook_url: str | None = Field(default=None, description="signed webhook for customer notifications")
    notify_webhook_secret: str = Field(default="", description="HMAC secret of the notification webhook")
    routing_feed_weather: str | None = Field(
        default=None, description="weather/disaster alerts feed for routing: a JSON/YAML file or an http(s) URL"
    )
    routing_feed_traffic: str | None = Field(default=None, description="road closures feed (file or URL)")
    routing_feed_carrier: str | None = Field(default=None, description="carrier capacity/heat feed (file or URL)")
    routing_feed_defaults: str | None = Field(
        default=None, description="YAML/JSON file {weather|traffic|carrier: document} used before any good value"
    )
    routing_feed_budget: float = Field(default=0.08, gt=0, le=1, description="seconds a feed read may take")
    routing_feed_attempts: int = Field(default=2, ge=1, le=5, description="HTTP attempts within the budget")
    routing_feed_ttl: float = Field(default=30.0, ge=0, description="seconds a good feed value is reused")
    routing_feed_failures: int = Field(default=3, ge=1, description="failures in a row that open a feed's breaker")
    routing_feed_reset: float = Field(default=30.0, gt=0, description="seconds an open breaker waits for a trial")
    routing_worker_interval: float = Field(
        default=300.0, gt=0, description="seconds between `orderloom worker routing` runs"
    )
    console_secret: str = Field(
        default="", description="signs console sessions and tracking links; empty = a random one kept in the store"
    )
