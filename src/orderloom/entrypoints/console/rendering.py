"""Jinja2 templates of the console and the tracking page (autoescaped), with a few display filters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

__all__ = ["SECURITY_HEADERS", "environment", "fmt_duration", "fmt_rate", "fmt_time", "render"]

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
"""Sent with every page: only our own scripts and styles, no framing, and no Referer (tracking links carry tokens)."""


def fmt_time(value: str | datetime | None) -> str:
    """``2026-11-25 14:03 UTC`` from an RFC 3339 string or an aware datetime."""
    if not value:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.strftime("%Y-%m-%d %H:%M UTC")


def fmt_duration(seconds: float | None) -> str:
    """A duration in the largest sensible unit: ``42 s``, ``3.5 min``, ``7.2 h``, ``2.1 d``; ``—`` for None."""
    if seconds is None:
        return "—"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def fmt_rate(value: float | None) -> str:
    """A share as a percentage with one decimal; ``—`` for None."""
    return "—" if value is None else f"{value * 100:.1f} %"


@cache
def environment() -> jinja2.Environment:
    """The template environment (built once)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("orderloom.entrypoints.console", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.ChainableUndefined,  # optional keys of order documents render as empty
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=fmt_time, duration=fmt_duration, rate=fmt_rate, label=lambda s: str(s).replace("_", " "))
    return env


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a template with the request in its context."""
    html = environment().get_template(template).render({"request": request, **context})
    return HTMLResponse(html, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})})
