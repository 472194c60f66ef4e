"""The rule store contract: the in-memory twin, SQLite and PostgreSQL behave the same behind RuleStore."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from orderloom.adapters.memory_rules import MemoryRuleStore
from orderloom.adapters.persistence.engine import make_engines
from orderloom.adapters.persistence.rules_store import SqlRuleStore
from orderloom.adapters.persistence.tables import audit_log
from orderloom.application.rules_ports import RuleStore
from orderloom.domain.audit import AuditEntry
from orderloom.domain.rules import Activation, FeatureToggle
from tests.conftest import sqlite_url

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
DOC = {"rules": [{"id": "big", "when": "order.grand_total > 5000.0", "then": ["hold('x')"]}]}


def _entry(tenant: str, kind: str) -> AuditEntry:
    return AuditEntry(
        tenant_id=tenant,
        actor="t",
        action="rules.activate",
        entity_type="rule_set",
        entity_id=kind,
        at=NOW,
        before=None,
        after={"kind": kind},
    )


class RuleStoreContract:
    @pytest.fixture
    def store(self) -> Iterator[RuleStore]:
        raise NotImplementedError

    def audit_actions(self, store: RuleStore, tenant: str) -> list[str]:
        raise NotImplementedError

    def tenant(self) -> str:
        return f"ten_{uuid.uuid4().hex[:8]}"

    def _add(self, store: RuleStore, tenant: str, kind: str = "hold", status: str = "valid") -> int:
        v = store.add_version(
            tenant_id=tenant, kind=kind, document=DOC, status=status, created_by="ann", now=NOW, note="n"
        )
        return v.version

    def test_versions_number_per_tenant_and_kind_and_round_trip(self, store: RuleStore) -> None:
        a, b = self.tenant(), self.tenant()
        assert [self._add(store, a), self._add(store, a), self._add(store, b), self._add(store, a, "routing")] == [
            1,
            2,
            1,
            1,
        ]
        got = store.get_version(a, "hold", 2)
        assert got is not None
        assert (got.document, got.status, got.created_by, got.note) == (DOC, "valid", "ann", "n")
        assert got.created_at.startswith("2026-11-26T01:00:00")
        assert len(got.checksum) == 64
        assert store.get_version(a, "hold", 3) is None
        assert store.get_version(b, "hold", 2) is None
        assert [v.version for v in store.list_versions(a, "hold")] == [1, 2]

    def test_one_activation_per_tenant_and_kind_with_audit(self, store: RuleStore) -> None:
        t = self.tenant()
        assert store.activation(t, "hold") is None
        store.set_activation(Activation(t, "hold", 1), audit=_entry(t, "hold"))
        gray = Activation(
            t,
            "hold",
            1,
            previous_version=None,
            candidate_version=2,
            candidate_bps=1000,
            candidate_channels=("pos", "web"),
        )
        store.set_activation(gray, audit=_entry(t, "hold"))
        assert store.activation(t, "hold") == gray
        assert store.activation(t, "routing") is None
        assert self.audit_actions(store, t) == ["rules.activate", "rules.activate"]
        history = store.history(t, "hold")
        assert [(h["action"], h["actor"], h["after"]) for h in history] == [
            ("rules.activate", "t", {"kind": "hold"})
        ] * 2
        assert history[0]["at"].startswith("2026-11-26T01:00:00")
        assert store.history(t, "routing") == []

    def test_toggles_and_documents(self, store: RuleStore) -> None:
        tenant = self.tenant()
        assert store.toggles(tenant) == []
        toggle = FeatureToggle(tenant, "rules.intake", enabled=True, bps=1000, channels=("pos",))
        store.set_toggle(toggle, audit=_entry(tenant, "rules.intake"))
        store.set_toggle(toggle, audit=_entry(tenant, "rules.intake"))
        assert store.toggles(tenant) == [toggle]
        assert store.get_document(tenant, "custom_fields") is None
        store.put_document(tenant, "template:b2b", {"required": ["po"]}, audit=_entry(tenant, "t"))
        store.put_document(tenant, "template:b2b", {"required": ["po", "vat"]}, audit=_entry(tenant, "t"))
        store.put_document(tenant, "custom_fields", {"type": "object"}, audit=_entry(tenant, "t"))
        assert store.get_document(tenant, "template:b2b") == {"required": ["po", "vat"]}
        assert store.list_documents(tenant, "template:") == {"template:b2b": {"required": ["po", "vat"]}}
        assert len(self.audit_actions(store, tenant)) == 5


class TestMemoryRuleStore(RuleStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[RuleStore]:
        yield MemoryRuleStore()

    def audit_actions(self, store: RuleStore, tenant: str) -> list[str]:
        assert isinstance(store, MemoryRuleStore)
        return [e.action for e in store.audit if e.tenant_id == tenant]


class _SqlStore(RuleStoreContract):
    url: str

    def audit_actions(self, store: RuleStore, tenant: str) -> list[str]:
        engines = make_engines(self.url)
        try:
            with engines.read.connect() as conn:
                q = sa.select(audit_log.c.action).where(audit_log.c.tenant_id == tenant).order_by(audit_log.c.seq)
                return [str(a) for a in conn.execute(q).scalars()]
        finally:
            engines.dispose()


class TestSqliteRuleStore(_SqlStore):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[RuleStore]:
        self.url = sqlite_url(tmp_path)
        engines = make_engines(self.url)
        yield SqlRuleStore(engines.write, engines.read)
        engines.dispose()


@pytest.mark.postgres
class TestPostgresRuleStore(_SqlStore):
    @pytest.fixture
    def store(self, postgres_url: str) -> Iterator[RuleStore]:
        self.url = postgres_url
        engines = make_engines(self.url)
        yield SqlRuleStore(engines.write, engines.read)
        engines.dispose()
