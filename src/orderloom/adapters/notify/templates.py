"""Notification templates per language (``data/notification_templates.yaml``), dates and money localised by babel."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

import yaml
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency

from orderloom.domain.notifications import Recipient, TierPolicy

__all__ = ["TemplateRenderer", "load_policy", "load_templates"]


def load_templates() -> dict[str, Any]:
    """The packaged template document."""
    text = resources.files("orderloom.data").joinpath("notification_templates.yaml").read_text(encoding="utf-8")
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


def load_policy(doc: Mapping[str, Any] | None = None) -> TierPolicy:
    """The tier policy from the template document."""
    tiers = (doc or load_templates())["tiers"]
    return TierPolicy(
        events={name: frozenset(t["events"]) for name, t in tiers.items()},
        statuses={name: frozenset(t["statuses"]) for name, t in tiers.items() if "statuses" in t},
    )


def _babel_locale(language: str) -> str:
    return language.replace("-", "_")


class TemplateRenderer:
    """Renders subject and body in the recipient's language."""

    def __init__(self, doc: Mapping[str, Any] | None = None) -> None:
        self.doc = doc or load_templates()
        self.languages = list(self.doc["languages"])

    def render(
        self, recipient: Recipient, event_type: str, data: Mapping[str, Any], order: Mapping[str, Any], at: datetime
    ) -> tuple[str, str]:
        """(subject, body) for one event."""
        t = self.doc["languages"][recipient.language]
        locale = _babel_locale(recipient.language)
        status_text = str(data.get("to") or data.get("status") or "")
        main = status_text.split(".", 1)[0] or "in_transit"
        label = t["statuses"].get(main, main.replace("_", " "))
        when = data.get("occurred_at")
        moment = datetime.fromisoformat(str(when)) if when else at
        values = {
            "customer": recipient.name or recipient.email or "",
            "order_ref": order.get("channel_order_id") or order.get("id"),
            "status": label,
            "carrier": str(data.get("carrier") or "").upper().replace("_", " "),
            "tracking_number": data.get("tracking_number") or "—",
            "when": format_datetime(moment, "medium", tzinfo=moment.tzinfo, locale=locale),
            "eta": self._eta(order, data, locale),
            "total": self._total(order, locale),
            "detail": self._detail(t, event_type, data),
        }
        return t["subject"].format(**values), t["body"].format(**values)

    @staticmethod
    def _eta(order: Mapping[str, Any], data: Mapping[str, Any], locale: str) -> str:
        raw = data.get("eta") or order.get("promised_delivery_date")
        try:
            return format_date(date.fromisoformat(str(raw)[:10]), "long", locale=locale) if raw else "—"
        except ValueError:
            return "—"

    @staticmethod
    def _total(order: Mapping[str, Any], locale: str) -> str:
        totals = order.get("totals") or {}
        try:
            amount = Decimal(str(totals.get("grand_total")))
        except (InvalidOperation, ValueError):
            return "—"
        return format_currency(amount, str(order.get("currency") or "USD"), locale=locale)

    @staticmethod
    def _detail(t: Mapping[str, Any], event_type: str, data: Mapping[str, Any]) -> str:
        if event_type.endswith("scan_recorded"):
            return str(t["scan_detail"]).format(scan=data.get("raw_description") or data.get("raw_code") or "")
        if event_type.endswith("arriving_soon"):
            return str(t["arriving_detail"]).format(distance_m=data.get("distance_m"))
        if event_type.endswith("cold_chain_breached"):
            return str(t["cold_chain_detail"]).format(
                limit_c=data.get("limit_c"), seconds=data.get("seconds_above_limit")
            )
        return ""
