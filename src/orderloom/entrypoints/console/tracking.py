"""The customer tracking page ``/track/{token}``: no login, an unguessable per-order token, plain language in
English or Simplified Chinese (``Accept-Language``), and nothing internal on the page."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from fastapi import APIRouter, Request
from starlette.responses import Response

from orderloom.bootstrap import Container
from orderloom.entrypoints.console.rendering import render
from orderloom.entrypoints.console.session import server_secret

__all__ = [
    "LANGUAGES",
    "TRACKING_PROVIDERS",
    "TrackingView",
    "choose_language",
    "order_id_from_token",
    "router",
    "tracking_token",
    "tracking_view",
    "verify_token",
]

router = APIRouter(include_in_schema=False)
LANGUAGES = ("en", "zh-CN")
_SIG_BYTES = 16

# main status → index of the progress step it belongs to (None: no progress bar, e.g. cancelled)
_STEP = {
    "pending": 0,
    "confirmed": 1,
    "on_hold": 1,
    "allocated": 2,
    "fulfilling": 2,
    "shipped": 3,
    "in_transit": 3,
    "delivery_issue": 4,
    "out_for_delivery": 4,
    "delivered": 5,
    "returning": 5,
    "closed": 5,
}

_NO_PROGRESS = frozenset({"closed.cancelled", "closed.rejected"})  # never got going: no progress bar

TrackingProvider = Callable[[Container, str, dict[str, Any]], dict[str, Any] | None]
TRACKING_PROVIDERS: list[TrackingProvider] = []
"""Extra facts for the page (``eta``, ``carrier``, ``tracking_number``, ``events``) from other areas, e.g.
shipments: each gets (container, tenant id, order document) and returns a dict or None."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _signature(secret: str, tenant_id: str, order_id: str) -> str:
    mac = hmac.new(secret.encode(), f"track\x00{tenant_id}\x00{order_id}".encode(), hashlib.sha256).digest()
    return _b64(mac[:_SIG_BYTES])


def tracking_token(secret: str, tenant_id: str, order_id: str) -> str:
    """The order's public token: its id and a 128-bit HMAC of tenant and order under the server secret."""
    return f"{order_id.removeprefix('ord_')}.{_signature(secret, tenant_id, order_id)}"


def order_id_from_token(token: str) -> str | None:
    """The order id a token names (not yet verified), or None if it is not shaped like a token."""
    body, sep, sig = token.partition(".")
    if not sep or not body.isalnum() or len(body) > 40 or not 16 <= len(sig) <= 32:
        return None
    return f"ord_{body}"


def verify_token(secret: str, tenant_id: str, token: str) -> bool:
    """True if the token was issued for this tenant's order."""
    order_id = order_id_from_token(token)
    if order_id is None:
        return False
    return hmac.compare_digest(token.partition(".")[2], _signature(secret, tenant_id, order_id))


def choose_language(accept_language: str | None, override: str | None = None) -> str:
    """``zh-CN`` if the override or the most preferred Accept-Language is Chinese, else ``en``."""
    if override in LANGUAGES:
        return str(override)
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag:
            ranked.append((-q, i, tag.lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en") or tag == "*":
            return "en"
    return "en"


@cache
def texts() -> dict[str, Any]:
    """The page's texts per language (``data/tracking_texts.yaml``)."""
    raw = resources.files("orderloom.data").joinpath("tracking_texts.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(raw)
    return loaded


@dataclass(frozen=True)
class TrackingView:
    """What the customer sees; built only from public facts."""

    lang: str
    t: dict[str, Any]
    reference: str
    placed_at: str
    headline: str
    next_step: str
    step: int | None
    steps: list[str]
    history: list[dict[str, str]]
    items: list[dict[str, Any]]
    extra: dict[str, Any]


def _status_text(t: dict[str, Any], main: str, sub: str) -> dict[str, str]:
    statuses: dict[str, dict[str, str]] = t["statuses"]
    return statuses.get(f"{main}.{sub}") or statuses[main]


def _history(t: dict[str, Any], timeline: list[dict[str, Any]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    last = ""
    for entry in timeline:
        if entry["kind"] != "audit":
            continue
        status = (entry.get("after") or {}).get("status")
        if not status:
            continue
        headline = _status_text(t, status["main"], status["sub"])["headline"]
        if headline != last:
            out.append({"at": entry["at"], "text": headline})
            last = headline
    out.reverse()
    return out


def tracking_view(container: Container, tenant_id: str, doc: dict[str, Any], lang: str) -> TrackingView:
    """The page's content for an order in a language."""
    t = texts()[lang]
    main, sub = doc["status"]["main"], doc["status"]["sub"]
    status = _status_text(t, main, sub)
    extra: dict[str, Any] = {}
    for provide in TRACKING_PROVIDERS:
        extra.update(provide(container, tenant_id, doc) or {})
    return TrackingView(
        lang=lang,
        t=t,
        reference=doc["channel_order_id"],
        placed_at=doc["placed_at"],
        headline=status["headline"],
        next_step=status["next"],
        step=None if f"{main}.{sub}" in _NO_PROGRESS else _STEP[main],
        steps=list(t["steps"]),
        history=_history(t, container.queries.timeline(tenant_id, doc["id"])),
        items=[{"name": ln.get("name") or ln["sku"], "quantity": ln["quantity"]} for ln in doc["lines"]],
        extra=extra,
    )


@router.get("/track/{token}", name="track")
def track(request: Request, token: str, lang: str | None = None) -> Response:
    """The tracking page; 404 (same page for every bad token) when the token is unknown or forged."""
    chosen = choose_language(request.headers.get("accept-language"), lang)
    container: Container = request.app.state.container
    order_id = order_id_from_token(token)
    found = container.console.tracking_document(order_id) if order_id else None
    headers = {"Content-Language": chosen, "Vary": "Accept-Language", "Cache-Control": "no-store"}
    if found is None or not verify_token(server_secret(request), found[0], token):
        t = texts()[chosen]
        return render(request, "track_missing.html", {"t": t, "lang": chosen}, status_code=404, headers=headers)
    view = tracking_view(container, found[0], found[1], chosen)
    return render(request, "track.html", {"v": view, "t": view.t, "lang": chosen}, headers=headers)
