"""structlog set-up for the CLI and the server."""

from __future__ import annotations

import logging
import sys

import structlog

from orderloom.adapters.observability.pii import mask_pii
from orderloom.config import Settings

__all__ = ["configure_logging"]


def configure_logging(settings: Settings) -> None:
    """Console or JSON log lines at the configured level, on stderr."""
    level = getattr(logging, settings.log_level.upper(), logging.INFO)
    logging.basicConfig(level=level, format="%(message)s")
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    renderer = structlog.processors.JSONRenderer() if settings.log_json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_pii,  # no e-mails, phone numbers, names or addresses in the logs
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
