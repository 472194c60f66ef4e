"""Settings from ORDERLOOM_* environment variables (pydantic-settings)."""

from __future__ import annotations

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
    log_level: str = Field(default="INFO")
    log_json: bool = Field(default=False, description="JSON log lines instead of console output")
    console_secret: str = Field(
        default="", description="signs console sessions and tracking links; empty = a random one kept in the store"
    )
