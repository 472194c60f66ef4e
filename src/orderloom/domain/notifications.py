"""Customer notifications: who is told about which shipment event, and the message itself.

Tiers: a VIP customer hears about every scan (and telemetry alerts), a standard one only about the milestones
(shipped, out for delivery, delivered, delivery problem). Each (event, channel) is sent at most once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Message", "Recipient", "TierPolicy", "customer_of"]


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who to tell, in which language, at which level."""

    email: str | None
    name: str
    language: str
    tier: str


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered notification for one event and one channel."""

    event_id: str
    event_type: str
    channel: str
    tenant_id: str
    order_id: str
    shipment_id: str
    recipient: Recipient
    subject: str
    body: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """Which events each tier receives (``statuses``: for status changes, the main statuses that count)."""

    events: Mapping[str, frozenset[str]]
    statuses: Mapping[str, frozenset[str]]

    def wants(self, tier: str, event_type: str, data: Mapping[str, Any]) -> bool:
        """True if a customer of this tier is told about this event."""
        if event_type not in self.events.get(tier, frozenset()):
            return False
        if event_type == "orderloom.shipment.scan_recorded":
            return data.get("flag") is None and data.get("mapping") == "mapped"
        if event_type == "orderloom.shipment.status_changed":
            main = str(data.get("to") or "").split(".", 1)[0]
            allowed = self.statuses.get(tier)
            return bool(main) and (allowed is None or main in allowed)
        return True


def customer_of(order: Mapping[str, Any], *, languages: Sequence[str]) -> Recipient:
    """The order's customer as a recipient: VIP if the order is tagged ``vip``; language from the order's
    ``custom_fields.language`` if we have templates for it, else Chinese for orders shipped to China, else English."""
    customer = order.get("customer") or {}
    custom = order.get("custom_fields") or {}
    wanted = str(custom.get("language") or "")
    country = str((order.get("shipping_address") or {}).get("country") or "").upper()
    language = wanted if wanted in languages else ("zh-CN" if country in ("CN", "HK", "MO", "TW") else "en")
    if language not in languages:
        language = languages[0]
    tier = "vip" if "vip" in [str(t).lower() for t in order.get("tags") or []] else "standard"
    return Recipient(customer.get("email"), str(customer.get("name") or ""), language, tier)
