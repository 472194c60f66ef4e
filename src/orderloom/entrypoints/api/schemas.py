"""The order body at the API edge: decoded with msgspec straight into the domain's NewOrder (the hot path),
and described in OpenAPI from the same types, with a complete example."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from orderloom.domain.errors import FieldError, ValidationFailed
from orderloom.domain.values import NewOrder

__all__ = ["EXAMPLE_ORDER", "decode_new_order", "encode", "openapi_components"]

encode = msgspec.json.Encoder().encode
_decoder = msgspec.json.Decoder(NewOrder)
_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_MISSING = re.compile(r"missing required field `(?P<name>[^`]+)`")

EXAMPLE_ORDER: dict[str, Any] = {
    "channel": "web",
    "channel_order_id": "WEB-100234",
    "currency": "USD",
    "placed_at": "2026-11-24T15:04:05Z",
    "customer": {
        "id": "cus_8812",
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "phone": "+14155550123",
    },
    "shipping_address": {
        "name": "Ada Lovelace",
        "line1": "1 Market St",
        "line2": "Suite 300",
        "city": "San Francisco",
        "region": "CA",
        "postal_code": "94105",
        "country": "US",
        "phone": "+14155550123",
    },
    "billing_address": {
        "name": "Ada Lovelace",
        "line1": "1 Market St",
        "city": "San Francisco",
        "region": "CA",
        "postal_code": "94105",
        "country": "US",
    },
    "lines": [
        {
            "sku": "TSHIRT-BLK-M",
            "name": "T-shirt, black, M",
            "quantity": 2,
            "unit_price": "24.99",
            "discount": "5.00",
            "tax": "3.60",
        },
        {
            "sku": "MUG-WHT",
            "name": "Mug, white",
            "quantity": 1,
            "unit_price": "12.50",
            "discount": "0.00",
            "tax": "1.00",
        },
    ],
    "totals": {
        "subtotal": "62.48",
        "discount": "5.00",
        "shipping": "7.95",
        "tax": "4.60",
        "grand_total": "70.03",
    },
    "payment": {"status": "paid", "method": "card", "reference": "ch_3PqX"},
    "status": {"main": "pending", "sub": "awaiting_confirmation"},
    "tags": ["vip"],
    "custom_fields": {"gift_message": "Happy birthday!"},
}


def _field_error(exc: msgspec.ValidationError) -> FieldError:
    m = _AT.match(str(exc))
    msg = m.group("msg") if m else str(exc)
    path = (m.group("path") or "") if m else ""
    path = path.lstrip(".")
    missing = _MISSING.search(msg)
    if missing:
        path = f"{path}.{missing.group('name')}" if path else missing.group("name")
    return FieldError(path or "$", msg)


def decode_new_order(body: bytes) -> NewOrder:
    """Decode and type-check a canonical order body; ValidationFailed names the field, MalformedJson otherwise."""
    try:
        return _decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise ValidationFailed([_field_error(exc)]) from None


def openapi_components() -> tuple[dict[str, Any], dict[str, Any]]:
    """(schema of the order body, component schemas) for the OpenAPI document."""
    (schema,), components = msgspec.json.schema_components([NewOrder], ref_template="#/components/schemas/{name}")
    return schema, components
