"""Group commit under concurrency: every acknowledged order is stored once, failures stay with their caller."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import msgspec
import pytest
import sqlalchemy as sa

from orderloom.adapters.persistence.tables import audit_log, orders, outbox
from orderloom.adapters.persistence.writer import BATCH_SIZE
from orderloom.application.orders import place_order
from orderloom.application.ports import UnitOfWork
from orderloom.bootstrap import Container
from orderloom.domain.errors import DuplicateOrder
from orderloom.entrypoints.api.schemas import decode_new_order
from tests.conftest import example_order


def _count(c: Container, table: sa.Table, tenant_id: str) -> int:
    with c.engines.read.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.tenant_id == tenant_id)
            ).scalar_one()
        )


def test_concurrent_submissions_are_batched_and_all_durable(container: Container, tenant: tuple[str, str]) -> None:
    tenant_id = tenant[0]
    bodies = [example_order() for _ in range(200)]
    bodies[50]["channel_order_id"] = bodies[10]["channel_order_id"]  # one duplicate inside the burst
    before = BATCH_SIZE._sum.get()  # type: ignore[attr-defined]

    def work(body: dict[str, object]) -> object:
        new = decode_new_order(msgspec.json.encode(body))

        def fn(uow: UnitOfWork) -> object:
            return place_order(
                uow=uow, tenant_id=tenant_id, new=new, lifecycle=container.lifecycle, actor="t", now=datetime.now(UTC)
            )

        return fn

    async def burst() -> list[object]:
        return await asyncio.gather(*(container.writer.submit(work(b)) for b in bodies), return_exceptions=True)

    results = asyncio.run(burst())
    failures = [r for r in results if isinstance(r, Exception)]
    assert len(failures) == 1 and isinstance(failures[0], DuplicateOrder)
    assert _count(container, orders, tenant_id) == 199
    assert _count(container, outbox, tenant_id) == 199
    assert _count(container, audit_log, tenant_id) == 199
    assert BATCH_SIZE._sum.get() - before == 200  # type: ignore[attr-defined]
    assert list(container.audit.verify()) == []


@pytest.mark.parametrize("n", [1, 3])
def test_writer_run_blocks_until_committed(container: Container, tenant: tuple[str, str], n: int) -> None:
    for _ in range(n):
        new = decode_new_order(msgspec.json.encode(example_order()))
        doc = container.writer.run(
            lambda uow, new=new: place_order(
                uow=uow, tenant_id=tenant[0], new=new, lifecycle=container.lifecycle, actor="t", now=datetime.now(UTC)
            )
        )
        assert container.queries.get_document(tenant[0], doc["id"])["id"] == doc["id"]
