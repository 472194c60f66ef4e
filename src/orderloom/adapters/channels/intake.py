"""The channel adapters as channel intake sees them: raw bytes in, checked canonical documents out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from orderloom.adapters.channels.base import ChannelAdapter, MappingError
from orderloom.adapters.channels.checks import check_document, decode_order
from orderloom.domain.values import NewOrder

__all__ = ["AdapterMapper"]


class AdapterMapper:
    """A ChannelMapper over one channel adapter."""

    def __init__(self, adapter: ChannelAdapter) -> None:
        self.adapter = adapter

    def map(self, raw: bytes, now: datetime) -> list[dict[str, Any]]:
        """The documents a raw payload maps to; MappingError (with the JSON pointer) otherwise."""
        try:
            payload = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise MappingError("/", f"malformed JSON: {exc}") from None
        docs = [check_document(d) for d in self.adapter.map_payload(payload, received_at=now)]
        if not docs:
            raise MappingError("/", f"no {self.adapter.name} orders or status changes in this payload")
        return docs

    def to_new_order(self, doc: dict[str, Any]) -> NewOrder:
        """The domain's NewOrder for an order document."""
        return decode_order(doc)
