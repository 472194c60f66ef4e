"""Notification channels: SMTP email, a signed outgoing webhook (retried), and a log sink for the demo."""

from __future__ import annotations

import json
import smtplib
import time
from collections import deque
from email.message import EmailMessage

import httpx
import structlog
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from orderloom.domain.notifications import Message
from orderloom.domain.webhooks import signature_headers

__all__ = ["LogSink", "SmtpNotifier", "WebhookNotifier"]

log = structlog.get_logger("orderloom.notify")


class SmtpNotifier:
    """Email over SMTP (plain or STARTTLS), one connection per message."""

    channel = "email"

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str = "orderloom@localhost",
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender, self.starttls = host, port, sender, starttls
        self.username, self.password, self.timeout = username, password, timeout

    def send(self, message: Message) -> None:
        """Send the message to the customer's address (skipped when the order has none)."""
        if not message.recipient.email:
            return
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.recipient.email
        mail["Subject"] = message.subject
        mail["Message-ID"] = f"<{message.event_id}.{message.channel}@orderloom>"
        mail["Content-Language"] = message.recipient.language
        mail.set_content(message.body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(mail)


class WebhookNotifier:
    """POSTs a JSON notification signed like every outgoing webhook (Standard Webhooks: ``webhook-id``,
    ``webhook-timestamp``, ``webhook-signature``; see domain/webhooks.py), retried on failure."""

    channel = "webhook"

    def __init__(
        self, url: str, secret: str, *, client: httpx.Client | None = None, attempts: int = 3, backoff: float = 0.2
    ) -> None:
        self.url, self.secret = url, secret
        self._client = client or httpx.Client(timeout=10.0)
        self._attempts, self._backoff = attempts, backoff

    def send(self, message: Message) -> None:
        """Deliver; raises after the retries so the bus retries later."""
        body = json.dumps(
            {
                "event_id": message.event_id,
                "event_type": message.event_type,
                "order_id": message.order_id,
                "shipment_id": message.shipment_id,
                "language": message.recipient.language,
                "tier": message.recipient.tier,
                "to": message.recipient.email,
                "subject": message.subject,
                "body": message.body,
            },
            ensure_ascii=False,
        ).encode()
        for attempt in Retrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=self._backoff, max=5),
            retry=retry_if_exception_type(httpx.HTTPError),
            reraise=True,
        ):
            with attempt:
                key = f"{message.event_id}:{message.channel}"
                headers = {
                    "Content-Type": "application/json",
                    "Idempotency-Key": key,
                    **signature_headers(secret=self.secret, delivery_id=key, timestamp=int(time.time()), body=body),
                }
                self._client.post(self.url, content=body, headers=headers).raise_for_status()


class LogSink:
    """Writes notifications to the log and keeps the latest ones in memory (the demo shows them)."""

    channel = "log"

    def __init__(self, keep: int = 500) -> None:
        self.messages: deque[Message] = deque(maxlen=keep)

    def send(self, message: Message) -> None:
        """Log it."""
        self.messages.append(message)
        log.info(
            "notification",
            event_id=message.event_id,
            language=message.recipient.language,
            tier=message.recipient.tier,
            to=message.recipient.email,
            subject=message.subject,
        )
