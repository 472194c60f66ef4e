"""Order intake checks: what a finding is, its stable reason code, and which hold it leads to."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HOLD_ACTIONS", "LEVELS", "REASON_CODES", "Finding", "hold_for"]

# check levels, in the order a hold reason is chosen when several fail
LEVELS = ("format", "compliance", "inventory", "price", "address")

# level -> the lifecycle action that puts the order on hold (and so its on_hold sub-status)
HOLD_ACTIONS = {
    "format": "fail_validation",  # on_hold.validation_failed
    "compliance": "fail_validation",
    "inventory": "fail_validation",
    "price": "price_conflict",  # on_hold.price_conflict
    "address": "address_issue",  # on_hold.address_verification
}

# stable reason codes (API and audit consumers match on these) -> level
REASON_CODES = {
    "phone_invalid": "format",
    "postal_code_invalid": "format",
    "totals_unreconciled": "format",
    "sku_unknown": "inventory",
    "no_stock": "inventory",
    "compliance_rule": "compliance",
    "price_conflict": "price",
    "address_ambiguous": "address",
    "zip_unknown": "address",
    "zip_city_mismatch": "address",
    "zip_state_mismatch": "address",
    "cep_state_mismatch": "address",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One failed check: a stable reason code, the JSON pointer of the field in the canonical order, and why."""

    code: str
    field: str
    message: str

    def __post_init__(self) -> None:
        if self.code not in REASON_CODES:
            raise ValueError(f"unknown reason code {self.code!r}")

    @property
    def level(self) -> str:
        """format, compliance, inventory, price or address."""
        return REASON_CODES[self.code]

    def as_dict(self) -> dict[str, str]:
        """The finding as JSON."""
        return {"code": self.code, "level": self.level, "field": self.field, "message": self.message}


def hold_for(findings: list[Finding]) -> tuple[str, Finding] | None:
    """The hold action and the finding that decides it (the highest level first), or None when all passed."""
    if not findings:
        return None
    first = min(findings, key=lambda f: LEVELS.index(f.level))
    return HOLD_ACTIONS[first.level], first
