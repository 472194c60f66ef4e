"""Returns under concurrency on PostgreSQL: racing requests never ask back more than was shipped, racing refunds
never pay out more than was paid (the order row, locked first, serialises a order's return commands)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from orderloom.adapters.persistence.engine import Engines, make_engines
from orderloom.adapters.persistence.tenants import SqlTenantDirectory
from orderloom.adapters.persistence.writer import SqlTransactionRunner
from orderloom.application.returns import RequestedLine, issue_refund, receive_return, request_return
from orderloom.domain.errors import ConcurrencyConflict, DomainError
from orderloom.domain.returns import Disposition, InspectedLine
from tests.contract.test_inventory_contract import settle_outbox
from tests.contract.test_returns_contract import NOW, ReturnsContract, make_setup, ruow

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]
CLIENTS = 16


@pytest.fixture
def engines(postgres_url: str) -> Iterator[Engines]:
    e = make_engines(postgres_url)
    yield e
    with e.read.connect() as conn:
        tenants = [r[0] for r in conn.execute(sa.text("SELECT id FROM tenants WHERE name LIKE 'rconc-%'"))]
    settle_outbox(e.write, tenants)
    e.dispose()


def _race(n: int, fn: Callable[[int], Any]) -> list[str]:
    def attempt(i: int) -> str:
        try:
            fn(i)
        except ConcurrencyConflict:
            return "conflict"
        except DomainError as exc:
            return type(exc).__name__
        return "ok"

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(attempt, range(n)))


def test_racing_requests_and_refunds_stay_within_shipped_and_paid(engines: Engines) -> None:
    runner = SqlTransactionRunner(engines.write)
    tenant = SqlTenantDirectory(engines.write, engines.read).create(f"rconc-{uuid.uuid4().hex[:8]}")[0]
    setup, _ = make_setup()
    oid = ReturnsContract().order(runner, tenant, "confirm", "allocate", "ship", "deliver")
    common: dict[str, Any] = {"setup": setup, "tenant_id": tenant, "actor": "c", "now": NOW}

    def ask(i: int) -> None:
        line = RequestedLine(line_no=1 + i % 2, quantity=1, reason="wrong_size")
        runner.run(lambda uow: request_return(uow=ruow(uow), order_id=oid, lines=[line], source="api", **common))

    outcomes = _race(CLIENTS, ask)
    assert outcomes.count("ok") == 3  # 2 T-shirts + 1 mug shipped
    assert set(outcomes) == {"ok", "ReturnExceedsShipped"}
    returns = runner.run(lambda uow: ruow(uow).returns.for_order(tenant, oid))
    assert sorted(r.lines[0].line_no for r in returns) == [1, 1, 2]
    for r in returns:
        item = InspectedLine(line_no=r.lines[0].line_no, quantity=1, disposition=Disposition.SCRAP)
        runner.run(
            lambda uow, rid=r.id, it=item: receive_return(  # type: ignore[misc]
                uow=ruow(uow), return_id=rid, location_id=None, inspected=[it], **common
            )
        )

    def pay(i: int) -> None:
        rid = returns[i % len(returns)].id
        for _ in range(20):  # what a client does on 409 concurrent-update: try again
            try:
                runner.run(
                    lambda uow: issue_refund(
                        uow=ruow(uow), return_id=rid, amount=Decimal("9.99"), reason=None, **common
                    )
                )
            except ConcurrencyConflict:
                continue
            return

    _race(CLIENTS, pay)
    refunds = runner.run(lambda uow: ruow(uow).returns.refunds_of(tenant, oid))
    total = sum((r.amount for r in refunds), Decimal(0))
    assert total <= Decimal("70.03")
    assert len(refunds) == 7  # 7 x 9.99 = 69.93; an eighth would pass 70.03
    for r in runner.run(lambda uow: ruow(uow).returns.for_order(tenant, oid)):
        assert r.refunded == sum((f.amount for f in refunds if f.return_id == r.id), Decimal(0))
