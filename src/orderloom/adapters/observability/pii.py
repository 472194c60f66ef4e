"""A structlog processor that keeps personal data out of the logs (e-mails, phone numbers, addresses, names)."""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

__all__ = ["mask_pii", "mask_text"]

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# 7+ digits, allowing spaces, dots, dashes and brackets inside, optionally after a +: phone numbers, not ids or years
_PHONE = re.compile(r"(?<![\w])\+?\d[\d ().-]{5,}\d(?![\w])")
_SENSITIVE_KEYS = frozenset(
    {
        "email",
        "phone",
        "mobile",
        "name",
        "first_name",
        "last_name",
        "full_name",
        "address",
        "address1",
        "address2",
        "street",
        "line1",
        "line2",
        "postal_code",
        "zip",
        "shipping_address",
        "billing_address",
        "customer",
        "buyer",
        "receiver",
        "receiver_name",
        "receiver_phone",
        "receiver_address",
    }
)


def _phone(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return m.group(0) if len(digits) < 7 else "***" + digits[-2:]


def mask_text(text: str) -> str:
    """E-mails become ``j***@example.com``, phone numbers ``***89``."""
    return _PHONE.sub(_phone, _EMAIL.sub(r"\1***@\2", text))


def _mask(value: Any, key: str | None = None) -> Any:
    if key is not None and key.lower() in _SENSITIVE_KEYS and value not in (None, ""):
        return "[redacted]"
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: _mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def mask_pii(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: redact sensitive keys and mask e-mails and phone numbers in every value."""
    for key, value in list(event_dict.items()):
        event_dict[key] = _mask(value, key)
    return event_dict
