"""Verifies every tenant's audit hash chain against the stored rows and chain heads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import msgspec
import sqlalchemy as sa

from orderloom.adapters.persistence.tables import audit_log, chain_heads
from orderloom.domain.audit import AuditEntry, verify_chain

__all__ = ["SqlAuditReader"]


class SqlAuditReader:
    """Walks audit_log per tenant in seq order."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def count(self) -> int:
        """Audit rows stored."""
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one())

    def verify(self) -> Iterator[str]:
        with self._engine.connect() as conn:
            heads = {r.tenant_id: r for r in conn.execute(sa.select(chain_heads)).all()}
            tenant_ids = set(heads) | set(conn.execute(sa.select(audit_log.c.tenant_id).distinct()).scalars())
            for tenant_id in sorted(tenant_ids):
                head = heads.get(tenant_id)
                rows = conn.execute(
                    sa.select(audit_log).where(audit_log.c.tenant_id == tenant_id).order_by(audit_log.c.seq)
                )
                breaks = verify_chain(
                    tenant_id,
                    (_entry(r) for r in rows),
                    head=(int(head.seq), str(head.hash)) if head is not None else None,
                    first_seq=int(head.first_seq) if head is not None else 1,
                )
                for b in breaks:
                    yield f"tenant {b.tenant_id} seq {b.seq}: {b.problem}"


def _json(text: str) -> dict[str, object] | None:
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return {"__unparseable__": text}
    return value if isinstance(value, dict) else {"__value__": value}


def _time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)  # an edited, unparseable time: the hash check reports it


def _entry(r: sa.Row[tuple[object, ...]]) -> tuple[AuditEntry, str, str]:
    entry = AuditEntry(
        tenant_id=r.tenant_id,
        actor=r.actor,
        action=r.action,
        entity_type=r.entity_type,
        entity_id=r.entity_id,
        at=_time(r.at),
        before=_json(r.before),
        after=_json(r.after),
        seq=int(r.seq),
        prev_hash=r.prev_hash,
        hash=r.hash,
    )
    return entry, r.before, r.after
