"""The audit trail: append-only entries, hash-chained per tenant so that an edited or removed row is detectable."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["GENESIS", "AuditEntry", "ChainBreak", "canonical_json", "chain_hash", "verify_chain"]

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """Who did what to which entity, when, with the state before and after."""

    tenant_id: str
    actor: str
    action: str
    entity_type: str
    entity_id: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    seq: int = 0
    prev_hash: str = GENESIS
    hash: str = ""


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where and how a tenant's audit chain is broken."""

    tenant_id: str
    seq: int
    problem: str


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(entry: AuditEntry, *, seq: int, prev_hash: str, before_json: str, after_json: str) -> str:
    """SHA-256 over the previous hash and every recorded field of the entry."""
    material = "\x1f".join(
        [
            prev_hash,
            str(seq),
            entry.tenant_id,
            entry.actor,
            entry.action,
            entry.entity_type,
            entry.entity_id,
            entry.at.isoformat(),
            before_json,
            after_json,
        ]
    )
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()  # total over any text


def canonical_json(value: dict[str, Any] | None) -> str:
    """The exact JSON text stored for ``before``/``after`` (and hashed)."""
    return "null" if value is None else _canonical(value)


def verify_chain(
    tenant_id: str,
    rows: Iterable[tuple[AuditEntry, str, str]],
    *,
    head: tuple[int, str] | None,
    first_seq: int = 1,
) -> list[ChainBreak]:
    """Check one tenant's chain: rows are (entry, stored before JSON, stored after JSON) in seq order.

    ``first_seq`` is where the chain starts (above 1 only after retention pruned older rows).
    """
    breaks: list[ChainBreak] = []
    expected_seq = first_seq
    prev: str | None = GENESIS if first_seq == 1 else None
    last = (first_seq - 1, GENESIS)
    for entry, before_json, after_json in rows:
        if entry.seq != expected_seq:
            breaks.append(ChainBreak(tenant_id, entry.seq, f"expected seq {expected_seq}: rows are missing"))
        if prev is not None and entry.prev_hash != prev:
            breaks.append(ChainBreak(tenant_id, entry.seq, "prev_hash does not match the previous entry"))
        actual = chain_hash(
            entry, seq=entry.seq, prev_hash=entry.prev_hash, before_json=before_json, after_json=after_json
        )
        if actual != entry.hash:
            breaks.append(ChainBreak(tenant_id, entry.seq, "content does not match its hash: the row was edited"))
        expected_seq = entry.seq + 1
        prev = entry.hash
        last = (entry.seq, entry.hash)
    if head is not None and head[0] != last[0]:
        breaks.append(ChainBreak(tenant_id, last[0], f"chain ends at seq {last[0]} but the head records seq {head[0]}"))
    elif head is not None and head[1] != last[1]:
        breaks.append(ChainBreak(tenant_id, last[0], "the last entry's hash does not match the recorded head"))
    return breaks
