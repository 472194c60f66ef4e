"""Customer notifications from shipment events: pick the tier, render in the customer's language, send on every
channel once. Runs as a bus handler fed by the outbox, so a notification exists only for a committed event."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from orderloom.domain.notifications import Message, Recipient, TierPolicy, customer_of

__all__ = [
    "NotificationLedger",
    "Notifier",
    "OrderLookup",
    "Renderer",
    "ShipmentNotifications",
    "notify_event",
]


class Notifier(Protocol):
    """One delivery channel (email, webhook, log)."""

    channel: str

    def send(self, message: Message) -> None:
        """Deliver, or raise (the bus retries with backoff)."""
        ...


class NotificationLedger(Protocol):
    """Which (event, channel) pairs were sent: the guarantee that nothing goes out twice."""

    def claim(self, message: Message, now: datetime) -> bool:
        """Reserve the pair; False if it was claimed before (already sent or being sent)."""
        ...

    def release(self, event_id: str, channel: str) -> None:
        """Give a claim back after a failed send, so the retry may send."""
        ...


class OrderLookup(Protocol):
    """The order document (canonical JSON) of a tenant's order."""

    def get_document(self, tenant_id: str, order_id: str) -> dict[str, Any]:
        """The document, or OrderNotFound."""
        ...


class Renderer(Protocol):
    """Templates per language."""

    @property
    def languages(self) -> Sequence[str]:
        """Languages with templates, the default first."""
        ...

    def render(
        self, recipient: Recipient, event_type: str, data: Mapping[str, Any], order: Mapping[str, Any], at: datetime
    ) -> tuple[str, str]:
        """(subject, body)."""
        ...


@dataclass
class ShipmentNotifications:
    """Everything the handler needs (wired by the composition root)."""

    policy: TierPolicy
    renderer: Renderer
    orders: OrderLookup
    ledger: NotificationLedger
    notifiers: Sequence[Notifier]

    def __call__(self, event: dict[str, Any]) -> None:
        """Bus handler."""
        notify_event(event=event, setup=self, now=datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00")))


def notify_event(*, event: Mapping[str, Any], setup: ShipmentNotifications, now: datetime) -> list[str]:
    """Send one shipment event to its customer on every channel not yet used for it; returns the channels sent."""
    data: Mapping[str, Any] = event.get("data") or {}
    tenant_id = str(event["source"]).rsplit("/", 1)[-1]
    order_id = str(data.get("order_id") or "")
    if not order_id:
        return []
    order = setup.orders.get_document(tenant_id, order_id)
    recipient = customer_of(order, languages=setup.renderer.languages)
    if not setup.policy.wants(recipient.tier, str(event["type"]), data):
        return []
    subject, body = setup.renderer.render(recipient, str(event["type"]), data, order, now)
    sent = []
    errors = []
    for notifier in setup.notifiers:
        message = Message(
            event_id=str(event["id"]),
            event_type=str(event["type"]),
            channel=notifier.channel,
            tenant_id=tenant_id,
            order_id=order_id,
            shipment_id=str(data.get("shipment_id") or ""),
            recipient=recipient,
            subject=subject,
            body=body,
            data=data,
        )
        if not setup.ledger.claim(message, now):
            continue
        try:
            notifier.send(message)
        except Exception as exc:  # give the claim back; the bus retries the whole handler later
            setup.ledger.release(message.event_id, message.channel)
            errors.append(f"{notifier.channel}: {exc}")
            continue
        sent.append(notifier.channel)
    if errors:
        raise RuntimeError("; ".join(errors))
    return sent
