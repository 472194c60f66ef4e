"""Compensation for a predicted delay: the coupon a tenant's compensation rules grant, and the event that offers it.

A ``compensation`` rule set decides (see ``data/compensation_rules.yaml`` for the default one). Its rules are
evaluated highest priority first; the first fired rule with a ``coupon``, ``coupon_percent`` or ``no_coupon`` action
decides. A percentage is of the order's grand total, capped at ``max_amount``, rounded to the currency's minor unit.
The coupon code is derived from the tenant and the shipment, so a re-run offers the same code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, ClassVar

from orderloom.domain.currencies import CURRENCY_EXPONENTS
from orderloom.domain.events import Event
from orderloom.domain.rules import Decision

__all__ = ["COUPON_ACTIONS", "CompensationOffered", "Coupon", "coupon_code", "coupon_from_decision"]

COUPON_ACTIONS = ("coupon", "coupon_percent", "no_coupon")


@dataclass(frozen=True, slots=True)
class Coupon:
    """A coupon offered to a customer: code, amount in the order's currency, and the rule that granted it."""

    code: str
    amount: Decimal
    currency: str
    rule_id: str
    reason: str
    percent: Decimal | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (money as a decimal string)."""
        return {
            "code": self.code,
            "amount": str(self.amount),
            "currency": self.currency,
            "percent": None if self.percent is None else str(self.percent),
            "rule_id": self.rule_id,
            "reason": self.reason,
        }


def coupon_code(tenant_id: str, shipment_id: str, *, prefix: str = "SORRY") -> str:
    """A stable code for one shipment's compensation, e.g. ``SORRY-7K2QX9MD``."""
    digest = hashlib.blake2b(f"{tenant_id}/{shipment_id}".encode(), digest_size=5).digest()
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I
    number = int.from_bytes(digest, "big")
    return prefix + "-" + "".join(alphabet[(number >> (5 * i)) & 31] for i in range(8))


def _minor(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-CURRENCY_EXPONENTS.get(currency, 2)), rounding=ROUND_HALF_EVEN)


def coupon_from_decision(*, decision: Decision, code: str, order_total: Decimal, currency: str) -> Coupon | None:
    """The coupon the decision grants (None when no rule fired, a ``no_coupon`` rule won, or it comes to zero)."""
    for fired in decision.fired:  # highest priority first
        action = next((a for a in fired.actions if a.name in COUPON_ACTIONS), None)
        if action is None:
            continue
        reason = str(action.arg("reason"))
        if action.name == "no_coupon":
            return None
        percent = None
        if action.name == "coupon":
            amount = Decimal(action.arg("amount"))
        else:
            percent = Decimal(action.arg("percent"))
            amount = min(order_total * percent / 100, Decimal(action.arg("max_amount")))
        amount = _minor(max(amount, Decimal(0)), currency)
        if amount == 0:
            return None
        return Coupon(code, amount, currency, fired.rule_id, reason, percent)
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class CompensationOffered(Event):
    """A customer was offered a coupon for a shipment predicted to arrive late (aggregate: the order)."""

    TYPE: ClassVar[str] = "orderloom.customer.compensation_offered"
