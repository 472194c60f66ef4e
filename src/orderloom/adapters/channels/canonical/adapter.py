"""The canonical order JSON itself (own web shop, WeChat mini-program, files): checked, normalised, passed on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from orderloom.adapters.channels.base import MappingError, Node
from orderloom.adapters.channels.checks import decode_order

__all__ = ["CanonicalAdapter"]


class CanonicalAdapter:
    """Canonical order documents (one object, or an array of them)."""

    name = "canonical"

    def map_payload(self, payload: Any, *, received_at: datetime) -> list[dict[str, Any]]:
        """Every canonical order in the payload, normalised (amounts as strings, times as given)."""
        root = Node(payload)
        items = list(root.items()) if isinstance(payload, list) else [root]
        out: list[dict[str, Any]] = []
        for item in items:
            item.obj()
            if "command" in item.value:
                out.append(item.value)
                continue
            try:
                new = decode_order(item.value)
            except MappingError as exc:
                raise MappingError(item.pointer + (exc.pointer if exc.pointer != "/" else ""), exc.reason) from None
            doc = msgspec.to_builtins(new)
            out.append({k: v for k, v in doc.items() if v is not None})
        return out
