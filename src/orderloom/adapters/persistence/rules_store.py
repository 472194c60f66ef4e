"""Rule set versions, activations (audited) and the order history the rules engine reads, in SQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa

from orderloom.adapters.persistence.tables import audit_log, orders
from orderloom.adapters.persistence.tables_rules import (
    feature_toggles,
    rule_activations,
    rule_documents,
    rule_set_versions,
)
from orderloom.adapters.persistence.uow import SqlUnitOfWork
from orderloom.domain.audit import AuditEntry
from orderloom.domain.rules import Activation, FeatureToggle, RuleSetVersion

__all__ = ["SqlRuleHistory", "SqlRuleStore", "document_checksum"]

_encode = msgspec.json.encode
_decode = msgspec.json.decode


def document_checksum(document: dict[str, Any]) -> str:
    """SHA-256 of the document's canonical JSON (sorted keys)."""
    return hashlib.sha256(_encode(document, order="sorted")).hexdigest()


def _version(row: Any) -> RuleSetVersion:
    return RuleSetVersion(
        tenant_id=row.tenant_id,
        kind=row.kind,
        version=int(row.version),
        document=_decode(row.document),
        status=row.status,
        created_at=row.created_at.isoformat().replace("+00:00", "Z"),
        created_by=row.created_by,
        checksum=row.checksum,
        note=row.note,
    )


class SqlRuleStore:
    """Versions are insert-only; the activation row per (tenant, kind) is replaced with an audit entry."""

    def __init__(self, write: sa.Engine, read: sa.Engine) -> None:
        self._write = write
        self._read = read

    def add_version(
        self,
        *,
        tenant_id: str,
        kind: str,
        document: dict[str, Any],
        status: str,
        created_by: str,
        now: datetime,
        note: str | None = None,
    ) -> RuleSetVersion:
        t = rule_set_versions.c
        for _attempt in range(5):
            try:
                with self._write.begin() as conn:
                    latest = conn.execute(
                        sa.select(sa.func.max(t.version)).where(t.tenant_id == tenant_id, t.kind == kind)
                    ).scalar()
                    number = int(latest or 0) + 1
                    conn.execute(
                        rule_set_versions.insert().values(
                            tenant_id=tenant_id,
                            kind=kind,
                            version=number,
                            status=status,
                            document=_encode(document).decode(),
                            checksum=document_checksum(document),
                            note=note,
                            created_by=created_by,
                            created_at=now,
                        )
                    )
            except sa.exc.IntegrityError:
                continue  # another writer took the number; take the next
            found = self.get_version(tenant_id, kind, number)
            assert found is not None
            return found
        raise RuntimeError("could not allocate a rule set version number")

    def get_version(self, tenant_id: str, kind: str, version: int) -> RuleSetVersion | None:
        t = rule_set_versions.c
        with self._read.connect() as conn:
            row = conn.execute(
                sa.select(rule_set_versions).where(t.tenant_id == tenant_id, t.kind == kind, t.version == version)
            ).first()
        return None if row is None else _version(row)

    def list_versions(self, tenant_id: str, kind: str) -> list[RuleSetVersion]:
        t = rule_set_versions.c
        with self._read.connect() as conn:
            rows = conn.execute(
                sa.select(rule_set_versions).where(t.tenant_id == tenant_id, t.kind == kind).order_by(t.version)
            ).all()
        return [_version(r) for r in rows]

    def activation(self, tenant_id: str, kind: str) -> Activation | None:
        t = rule_activations.c
        with self._read.connect() as conn:
            row = conn.execute(sa.select(rule_activations).where(t.tenant_id == tenant_id, t.kind == kind)).first()
        if row is None:
            return None
        return Activation(
            tenant_id=tenant_id,
            kind=kind,
            version=row.version,
            previous_version=row.previous_version,
            candidate_version=row.candidate_version,
            candidate_bps=int(row.candidate_bps),
            candidate_channels=tuple(c for c in row.candidate_channels.split(" ") if c),
        )

    def set_activation(self, activation: Activation, *, audit: AuditEntry) -> None:
        t = rule_activations.c
        values = {
            "version": activation.version,
            "previous_version": activation.previous_version,
            "candidate_version": activation.candidate_version,
            "candidate_bps": activation.candidate_bps,
            "candidate_channels": " ".join(activation.candidate_channels),
            "updated_at": audit.at,
        }
        with self._write.begin() as conn:
            uow = SqlUnitOfWork(conn)
            where = (t.tenant_id == activation.tenant_id, t.kind == activation.kind)
            if conn.execute(rule_activations.update().where(*where).values(values)).rowcount == 0:
                conn.execute(
                    rule_activations.insert().values(tenant_id=activation.tenant_id, kind=activation.kind, **values)
                )
            uow.audit.append(audit)
            uow.flush()

    def _upsert(self, table: sa.Table, keys: dict[str, Any], values: dict[str, Any], audit: AuditEntry) -> None:
        with self._write.begin() as conn:
            uow = SqlUnitOfWork(conn)
            where = [table.c[k] == v for k, v in keys.items()]
            if conn.execute(table.update().where(*where).values(values)).rowcount == 0:
                conn.execute(table.insert().values(**keys, **values))
            uow.audit.append(audit)
            uow.flush()

    def history(self, tenant_id: str, kind: str) -> list[dict[str, Any]]:
        a = audit_log.c
        with self._read.connect() as conn:
            rows = conn.execute(
                sa.select(a.at, a.actor, a.action, a.before, a.after)
                .where(a.tenant_id == tenant_id, a.entity_type == "rule_set", a.entity_id == kind)
                .order_by(a.seq)
            ).all()
        return [
            {
                "at": r.at.replace("+00:00", "Z"),
                "actor": r.actor,
                "action": r.action,
                "before": _decode(r.before),
                "after": _decode(r.after),
            }
            for r in rows
        ]

    def get_document(self, tenant_id: str, name: str) -> dict[str, Any] | None:
        t = rule_documents.c
        with self._read.connect() as conn:
            text = conn.execute(
                sa.select(t.document).where(t.tenant_id == tenant_id, t.name == name)
            ).scalar_one_or_none()
        return None if text is None else dict(_decode(text))

    def list_documents(self, tenant_id: str, prefix: str) -> dict[str, dict[str, Any]]:
        t = rule_documents.c
        with self._read.connect() as conn:
            rows = conn.execute(
                sa.select(t.name, t.document)
                .where(t.tenant_id == tenant_id, t.name.startswith(prefix, autoescape=True))
                .order_by(t.name)
            ).all()
        return {r.name: dict(_decode(r.document)) for r in rows}

    def put_document(self, tenant_id: str, name: str, document: dict[str, Any], *, audit: AuditEntry) -> None:
        values = {"document": _encode(document).decode(), "updated_at": audit.at}
        self._upsert(rule_documents, {"tenant_id": tenant_id, "name": name}, values, audit)

    def toggles(self, tenant_id: str) -> list[FeatureToggle]:
        t = feature_toggles.c
        with self._read.connect() as conn:
            rows = conn.execute(sa.select(feature_toggles).where(t.tenant_id == tenant_id).order_by(t.name)).all()
        return [
            FeatureToggle(
                tenant_id=tenant_id,
                name=r.name,
                enabled=bool(r.enabled),
                bps=int(r.bps),
                channels=tuple(c for c in r.channels.split(" ") if c),
            )
            for r in rows
        ]

    def set_toggle(self, toggle: FeatureToggle, *, audit: AuditEntry) -> None:
        values = {
            "enabled": toggle.enabled,
            "bps": toggle.bps,
            "channels": " ".join(toggle.channels),
            "updated_at": audit.at,
        }
        self._upsert(feature_toggles, {"tenant_id": toggle.tenant_id, "name": toggle.name}, values, audit)


class SqlRuleHistory:
    """Reads orders for first-order checks and dry runs."""

    def __init__(self, read: sa.Engine) -> None:
        self._read = read

    def is_first_order(self, tenant_id: str, email: str, order_id: str) -> bool:
        c = orders.c
        with self._read.connect() as conn:
            other = conn.execute(
                sa.select(c.id).where(c.tenant_id == tenant_id, c.customer_email == email, c.id != order_id).limit(1)
            ).first()
        return other is None

    def documents_since(self, tenant_id: str, since: datetime) -> Iterator[dict[str, Any]]:
        c = orders.c
        query = (
            sa.select(c.doc)
            .where(c.tenant_id == tenant_id, c.placed_at >= since)
            .order_by(c.placed_at, c.id)
            .execution_options(yield_per=2000)
        )
        with self._read.connect() as conn:
            for (doc,) in conn.execute(query):
                yield _decode(doc)
