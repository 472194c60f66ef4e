"""Format level: phone numbers (``phonenumbers``), postal code shape per country (``data/postal_codes.yaml``) and
channel totals that did not reconcile (the adapter's ``channel_reconciliation`` note)."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import phonenumbers
import yaml

from orderloom.application.ports import UnitOfWork
from orderloom.domain.intake_checks import Finding

__all__ = ["FormatChecks", "postal_patterns"]

_MASKED = re.compile(r"[*#$]")  # marketplaces mask or encrypt buyer phones (138****0000, #…#, $…$): not checkable


@cache
def postal_patterns() -> dict[str, re.Pattern[str]]:
    """Country -> compiled postal code pattern."""
    text = resources.files("orderloom.data").joinpath("postal_codes.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)["patterns"]
    return {str(k): re.compile(str(v)) for k, v in raw.items()}


def _phone(value: str, country: str | None, field: str) -> Finding | None:
    if _MASKED.search(value):
        return None
    try:
        number = phonenumbers.parse(value, country if value.strip()[:1] != "+" else None)
    except phonenumbers.NumberParseException as exc:
        return Finding("phone_invalid", field, f"not a phone number: {value!r} ({exc})")
    if not phonenumbers.is_possible_number(number):
        region = country or "international"
        return Finding("phone_invalid", field, f"{value!r} is not a possible {region} phone number")
    return None


class FormatChecks:
    """Phone, postal code and totals checks on the canonical document."""

    def check(self, *, uow: UnitOfWork, tenant_id: str, doc: dict[str, Any]) -> list[Finding]:
        """``phone_invalid``, ``postal_code_invalid``, ``totals_unreconciled`` findings."""
        findings: list[Finding] = []
        for key in ("shipping_address", "billing_address"):
            addr = doc.get(key) or {}
            country = addr.get("country")
            if addr.get("phone") and (f := _phone(str(addr["phone"]), country, f"/{key}/phone")) is not None:
                findings.append(f)
            postal = str(addr.get("postal_code") or "").strip().upper()
            pattern = postal_patterns().get(str(country))
            if postal and pattern is not None and not pattern.match(postal):
                findings.append(
                    Finding("postal_code_invalid", f"/{key}/postal_code", f"{postal!r} is not a {country} postal code")
                )
        phone = (doc.get("customer") or {}).get("phone")
        country = (doc.get("shipping_address") or doc.get("billing_address") or {}).get("country")
        if phone and (f := _phone(str(phone), country, "/customer/phone")) is not None:
            findings.append(f)
        rec = (doc.get("custom_fields") or {}).get("channel_reconciliation")
        if rec:
            findings.append(Finding("totals_unreconciled", "/totals/grand_total", str(rec.get("note"))))
        return findings
