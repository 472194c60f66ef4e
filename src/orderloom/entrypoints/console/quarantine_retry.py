"""Retrying a quarantined payload: canonical order payloads (from ``POST /v1/orders`` or canonical imports) go
through the same decoding and placing as at intake; an accepted one is marked resolved."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import msgspec

from orderloom.application.orders import place_order
from orderloom.application.ports import UnitOfWork
from orderloom.bootstrap import Container, utc_now
from orderloom.domain.errors import DomainError, DuplicateOrder
from orderloom.domain.values import NewOrder
from orderloom.entrypoints.api.schemas import decode_new_order

__all__ = ["DECODERS", "RetryOutcome", "decoder_for", "retry_quarantined"]

Decoder = Callable[[bytes], NewOrder]
DECODERS: dict[str, Decoder] = {"api:/v1/orders": decode_new_order, "import:": decode_new_order}
"""Quarantine source prefix → how to turn its payload into a NewOrder again. Channel adapters add theirs
(e.g. ``"channel:shopify"``); payloads from other sources are shown without a retry button."""


def decoder_for(source: str) -> Decoder | None:
    """The decoder for a quarantine source, by longest matching prefix."""
    matches = [prefix for prefix in DECODERS if source.startswith(prefix)]
    return DECODERS[max(matches, key=len)] if matches else None


@dataclass(frozen=True, slots=True)
class RetryOutcome:
    """What a retry did: accepted (with the order id) or still refused (with the reason)."""

    accepted: bool
    message: str
    order_id: str | None = None

    @property
    def summary(self) -> str:
        """One line: the message and the order id, if any."""
        return f"{self.message} {self.order_id}" if self.order_id else self.message


def _place(uow: UnitOfWork, *, args: dict[str, Any]) -> dict[str, Any]:
    return place_order(uow=uow, **args)


async def retry_quarantined(container: Container, *, tenant_id: str, qid: str, actor: str) -> RetryOutcome:
    """Decode and place the payload again; resolve it when accepted, else keep it with the new reason."""
    store = container.console
    item = await asyncio.to_thread(store.quarantined_payload, tenant_id, qid)
    if item is None:
        return RetryOutcome(False, f"{qid} is not waiting in quarantine (already resolved, or not this tenant's)")
    decode = decoder_for(item.source)
    if decode is None:
        return RetryOutcome(False, f"payloads from {item.source!r} cannot be retried here")
    try:
        new: NewOrder = decode(item.payload)
        doc = await container.writer.submit(
            partial(
                _place,
                args={
                    "tenant_id": tenant_id,
                    "new": new,
                    "lifecycle": container.lifecycle,
                    "actor": f"console:{actor} (retry {qid})",
                    "now": utc_now(),
                },
            )
        )
    except DuplicateOrder as exc:
        # placed by an earlier retry (or re-sent by the channel): nothing is lost, so the payload is resolved
        await asyncio.to_thread(store.resolve_quarantined, tenant_id, qid)
        existing = await asyncio.to_thread(
            container.queries.find_by_channel_ref, tenant_id, exc.channel, exc.channel_order_id
        )
        return RetryOutcome(True, "already accepted as order", existing)
    except (msgspec.DecodeError, DomainError) as exc:
        reason = f"retry failed: {exc}"
        await asyncio.to_thread(store.note_retry_failure, tenant_id, qid, reason)
        return RetryOutcome(False, reason)
    await asyncio.to_thread(store.resolve_quarantined, tenant_id, qid)
    return RetryOutcome(True, "accepted as order", doc["id"])
