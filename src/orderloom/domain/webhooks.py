"""Outgoing webhooks: who wants which events, and how a delivery is signed (Standard Webhooks scheme).

The signature is ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` in the ``webhook-signature`` header,
beside ``webhook-id`` and ``webhook-timestamp`` (Unix seconds), so receivers can use any Standard Webhooks library
and reject replays older than a few minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from orderloom.domain.errors import FieldError, ValidationFailed

__all__ = ["Delivery", "DeliveryStatus", "Subscription", "matches", "signature_headers", "validate_subscription"]


class DeliveryStatus:
    """Delivery states: pending (due now or later), delivered, dead (gave up)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class Subscription:
    """A receiver URL for some event types (``*`` or a prefix such as ``orderloom.order.*``)."""

    id: str
    tenant_id: str
    url: str
    event_types: tuple[str, ...]
    secret: str
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event to one subscription, with its attempts so far."""

    id: str
    tenant_id: str
    subscription_id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


def matches(patterns: tuple[str, ...], event_type: str) -> bool:
    """True if an event type is wanted: exact, ``*``, or ``prefix.*``."""
    for pattern in patterns:
        if pattern in ("*", event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def validate_subscription(url: str, event_types: list[str]) -> None:
    """Refuse a URL that is not absolute http(s) and an empty or malformed event-type list."""
    errors = []
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.append(FieldError("url", "an absolute http:// or https:// URL"))
    if not event_types:
        errors.append(FieldError("event_types", "at least one event type, '*' or a prefix such as 'orderloom.order.*'"))
    for i, t in enumerate(event_types):
        if not t or " " in t or ("*" in t and t != "*" and not t.endswith(".*")):
            errors.append(FieldError(f"event_types/{i}", f"{t!r} is not an event type, '*' or 'prefix.*'"))
    if errors:
        raise ValidationFailed(errors)


def signature_headers(*, secret: str, delivery_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers that let the receiver verify a delivery."""
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return {
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }
