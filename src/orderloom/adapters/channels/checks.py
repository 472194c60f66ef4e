"""The last gate of every mapping: the produced document must decode and validate exactly as ``POST /v1/orders``
would take it; anything else is a mapping error naming the field."""

from __future__ import annotations

from typing import Any

import msgspec

from orderloom.adapters.channels.base import MappingError
from orderloom.domain.errors import ValidationFailed
from orderloom.domain.order_validation import validate_new_order
from orderloom.domain.values import NewOrder

__all__ = ["check_document", "decode_order", "to_pointer"]


def to_pointer(path: str) -> str:
    """``lines[0].sku`` or ``$.lines[0].sku`` → ``/lines/0/sku``."""
    path = path.lstrip("$").lstrip(".")
    parts = path.replace("[", ".").replace("]", "").split(".")
    return "/" + "/".join(p for p in parts if p)


def decode_order(doc: Any) -> NewOrder:
    """A canonical order document as the domain's NewOrder; MappingError names the field otherwise."""
    try:
        return msgspec.convert(doc, NewOrder, strict=False)
    except msgspec.ValidationError as exc:
        text = str(exc)
        msg, _, where = text.partition(" - at `")
        raise MappingError(to_pointer(where.rstrip("`")) if where else "/", msg) from None


def check_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Commands pass through; an order must decode and validate as ``POST /v1/orders`` would."""
    if "command" in doc:
        return doc
    new = decode_order(doc)
    try:
        validate_new_order(new)
    except ValidationFailed as exc:
        first = exc.errors[0]
        raise MappingError(to_pointer(first.field), f"the mapped order is not valid: {exc}") from None
    return doc
