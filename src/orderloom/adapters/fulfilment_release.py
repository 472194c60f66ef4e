"""Webhook release: a released fulfilment order POSTed to the location's WMS as a CloudEvent, signed the Standard
Webhooks way (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``) like every outgoing OrderLoom webhook."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from orderloom.application.ports import WebhookSender
from orderloom.domain.webhooks import signature_headers

__all__ = ["SignedWebhookRelease"]


@dataclass
class SignedWebhookRelease:
    """ReleaseChannel over the shared outgoing-webhook HTTP sender."""

    sender: WebhookSender

    def send(self, *, url: str, secret: str, event: dict[str, Any]) -> int:
        """POST the CloudEvent (structured mode) with Standard Webhooks signature headers; the HTTP status."""
        body = msgspec.json.encode(event)
        headers = signature_headers(secret=secret, delivery_id=str(event["id"]), timestamp=int(time.time()), body=body)
        headers["content-type"] = "application/cloudevents+json"
        try:
            return self.sender.send(url, body=body, headers=headers)
        except httpx.HTTPError as exc:  # transport trouble: the FO stays undispatched and is retried
            raise OSError(f"{type(exc).__name__}: {exc}") from exc
