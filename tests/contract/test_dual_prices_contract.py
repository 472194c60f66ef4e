"""The routing dual-price store: the in-memory twin and the database adapter (SQLite, PostgreSQL) behave the same."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orderloom.adapters.memory_routing import MemoryDualPrices
from orderloom.adapters.persistence.engine import make_engines
from orderloom.adapters.persistence.routing_store import SqlDualPrices
from orderloom.application.routing_ports import DualPriceStore

AT = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "database"])
def store(request: pytest.FixtureRequest, db_url: str) -> DualPriceStore:
    if request.param == "memory":
        return MemoryDualPrices()
    engines = make_engines(db_url)
    request.addfinalizer(engines.dispose)
    return SqlDualPrices(engines.write, engines.read)


def test_replace_and_load_per_tenant(store: DualPriceStore) -> None:
    a, b = f"ten_{uuid.uuid4().hex[:8]}", f"ten_{uuid.uuid4().hex[:8]}"
    assert store.load(a) == {}
    store.replace(a, {("X", "SH"): Decimal("4.25"), ("Y", "HZ"): Decimal("0.0001")}, AT)
    store.replace(b, {("X", "SH"): Decimal(1)}, AT)
    assert store.load(a) == {("X", "SH"): Decimal("4.25"), ("Y", "HZ"): Decimal("0.0001")}
    store.replace(a, {("Z", "BJ"): Decimal("2.5")}, AT)  # the old set is dropped
    assert store.load(a) == {("Z", "BJ"): Decimal("2.5")}
    assert store.load(b) == {("X", "SH"): Decimal(1)}
    store.replace(a, {}, AT)
    assert store.load(a) == {}
