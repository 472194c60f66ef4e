"""Property: for any sequence of return, approval, rejection, receipt and refund commands, no line is asked back or
received above what was shipped, and the refunds never add up to more than was paid (memory twin and SQLite)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from orderloom.adapters.memory import MemoryTransactionRunner
from orderloom.adapters.persistence.engine import make_engines
from orderloom.adapters.persistence.tenants import SqlTenantDirectory
from orderloom.adapters.persistence.writer import SqlTransactionRunner
from orderloom.application.ports import TransactionRunner
from orderloom.application.returns import (
    RequestedLine,
    ReturnsSetup,
    approve_return,
    issue_refund,
    receive_return,
    reject_return,
    request_return,
)
from orderloom.domain.errors import DomainError
from orderloom.domain.returns import Disposition, InspectedLine, ReturnStatus
from tests.conftest import sqlite_url
from tests.contract.test_returns_contract import NOW, ReturnsContract, make_setup, ruow

SHIPPED = {1: 2, 2: 1}  # the example order, delivered: every line fully shipped
PAID = Decimal("70.03")

reasons = st.sampled_from(["wrong_size", "changed_mind", "defective", "exchange"])
# a round: ask units of a line back, receive and refund them, with random steps in between (approve, reject,
# receive, refund; -1 targets the return just asked for, 0-3 an earlier one)
_amount = st.one_of(st.none(), st.decimals(min_value=Decimal("0.01"), max_value=Decimal("80.00"), places=2))
_step = st.one_of(
    st.tuples(st.just("approve"), st.integers(-1, 3)),
    st.tuples(st.just("reject"), st.integers(-1, 3)),
    st.tuples(st.just("receive"), st.integers(-1, 3), st.integers(0, 3), st.sampled_from(list(Disposition))),
    st.tuples(st.just("refund"), st.integers(-1, 3), _amount),
)
rounds = st.tuples(
    st.tuples(st.just("request"), st.integers(1, 2), st.integers(1, 3), reasons),
    st.lists(_step, max_size=2),
    st.tuples(st.just("receive"), st.just(-1), st.integers(0, 3), st.sampled_from(list(Disposition))),
    st.lists(_step, max_size=2),
    st.tuples(st.just("refund"), st.just(-1), _amount),
    st.lists(_step, max_size=3),
)


def _flatten(plan: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for part in (p for r in plan for p in r):
        out.extend(part if isinstance(part, list) else [part])
    return out


def _command(setup: ReturnsSetup, tenant: str, oid: str, ids: list[str], cmd: tuple[Any, ...]) -> Callable[..., Any]:
    kind = cmd[0]
    common = {"setup": setup, "tenant_id": tenant, "actor": "p", "now": NOW}
    if kind == "request":
        line = RequestedLine(line_no=cmd[1], quantity=cmd[2], reason=cmd[3])
        return lambda uow: ids.append(
            request_return(uow=ruow(uow), order_id=oid, lines=[line], source="api", **common)["id"]
        )
    if kind == "approve" and not ids:
        return lambda uow: None
    if not ids:
        return lambda uow: None
    rid = ids[-1] if cmd[1] < 0 else ids[cmd[1] % len(ids)]
    if kind == "approve":
        return lambda uow: approve_return(uow=ruow(uow), return_id=rid, **common)
    if kind == "reject":
        return lambda uow: reject_return(uow=ruow(uow), return_id=rid, reason="no", **common)
    if kind == "receive":

        def receive(uow: Any) -> Any:
            ret = ruow(uow).returns.get(tenant, rid)
            items = [
                InspectedLine(line_no=ln.line_no, quantity=min(cmd[2], ln.quantity + 1), disposition=cmd[3])
                for ln in ret.lines
            ]
            return receive_return(uow=ruow(uow), return_id=rid, location_id=None, inspected=items, **common)

        return receive
    return lambda uow: issue_refund(uow=ruow(uow), return_id=rid, amount=cmd[2], reason=None, **common)


def _check(runner: TransactionRunner, tenant: str, oid: str) -> None:
    def read(uow: Any) -> tuple[Any, Any]:
        return ruow(uow).returns.for_order(tenant, oid), ruow(uow).returns.refunds_of(tenant, oid)

    returns, refunds = runner.run(read)
    for line_no, shipped in SHIPPED.items():
        asked = sum(
            ln.quantity
            for r in returns
            if r.status is not ReturnStatus.REJECTED
            for ln in r.lines
            if ln.line_no == line_no
        )
        received = sum(ln.received for r in returns for ln in r.lines if ln.line_no == line_no)
        assert asked <= shipped and received <= shipped
    assert all(r.amount > 0 for r in refunds)
    assert sum((r.amount for r in refunds), Decimal(0)) <= PAID
    for r in returns:
        assert r.refunded == sum((f.amount for f in refunds if f.return_id == r.id), Decimal(0))
    event(f"refunds issued: {min(len(refunds), 2)}+")


def _run_sequence(runner: TransactionRunner, tenant: str, cmds: list[tuple[Any, ...]]) -> None:
    setup, _ = make_setup()
    helper = ReturnsContract()
    oid = helper.order(runner, tenant, "confirm", "allocate", "ship", "deliver")
    ids: list[str] = []
    for cmd in cmds:
        with contextlib.suppress(DomainError):  # a refused command must leave everything as it was
            runner.run(_command(setup, tenant, oid, ids, cmd))
        _check(runner, tenant, oid)


@settings(max_examples=150, deadline=None)
@given(st.lists(rounds, min_size=1, max_size=5))
def test_memory_returned_within_shipped_and_refunded_within_paid(plan: list[Any]) -> None:
    _run_sequence(MemoryTransactionRunner(), "ten_prop", _flatten(plan))


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("returns_prop")
    return sqlite_url(path)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(rounds, min_size=1, max_size=4))
def test_sqlite_returned_within_shipped_and_refunded_within_paid(sqlite_store: str, plan: list[Any]) -> None:
    engines = make_engines(sqlite_store)
    try:
        tenant = SqlTenantDirectory(engines.write, engines.read).create(f"p-{uuid.uuid4().hex[:8]}")[0]
        _run_sequence(SqlTransactionRunner(engines.write), tenant, _flatten(plan))
    finally:
        engines.dispose()
