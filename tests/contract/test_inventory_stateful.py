"""Stateful property test of the stock ledger: random receipts, adjustments, orders confirmed and allocated,
cancellations, shipments and expiries, against the in-memory twin and a real SQLite file.

After every step: the ledger sums to the balances, active reservations sum to ``reserved``, nothing is over-reserved,
every active reservation belongs to a live order line, and on-hand matches a plain model of what happened.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from orderloom.adapters.memory import MemoryTransactionRunner
from orderloom.adapters.persistence.engine import make_engines
from orderloom.adapters.persistence.tenants import SqlTenantDirectory
from orderloom.adapters.persistence.writer import SqlTransactionRunner
from orderloom.application.inventory import (
    NearestFullStockSourcing,
    ReceiptLine,
    adjust_stock,
    allocate_order,
    create_location,
    fulfil_order,
    receive_stock,
    release_expired,
    release_order,
)
from orderloom.application.orders import apply_action, place_order
from orderloom.application.ports import TransactionRunner
from orderloom.bootstrap import load_lifecycle
from orderloom.domain.inventory import InsufficientStock, Location, LocationType, ReservationStatus
from orderloom.domain.values import NewLine, NewOrder, Payment, Totals
from tests.conftest import sqlite_url

LIFECYCLE = load_lifecycle()
SKUS = ["A", "B", "C"]
LOCS = ["L1", "L2", "L3"]
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
sku_st = st.sampled_from(SKUS)
loc_st = st.sampled_from(LOCS)


def _new_order(n: int, lines: list[tuple[str, int]], paid: bool) -> NewOrder:
    total = Decimal(sum(q for _, q in lines))
    return NewOrder(
        channel="web",
        channel_order_id=f"S-{n}",
        currency="USD",
        placed_at=T0,
        lines=[NewLine(sku=s, quantity=q, unit_price=Decimal("1.00")) for s, q in lines],
        totals=Totals(subtotal=total, grand_total=total),
        payment=Payment(status="paid" if paid else "pending"),
    )


class LedgerMachine(RuleBasedStateMachine):
    """Drives the application services; checks the store against a model after every step."""

    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.runner, self.tenant = self.make_store()
        self.now = T0
        self.on_hand: dict[tuple[str, str], int] = {}
        self.live: dict[str, list[tuple[str, int]]] = {}  # order id -> lines, for orders not cancelled
        self.n = 0
        self.receipts = 0

        def setup(uow: Any) -> None:
            for loc in LOCS:
                create_location(
                    uow=uow,
                    location=Location(id=loc, tenant_id=self.tenant, name=loc, type=LocationType.WAREHOUSE),
                    now=T0,
                )

        self.runner.run(setup)

    def make_store(self) -> tuple[TransactionRunner, str]:
        return MemoryTransactionRunner(), "ten_mem"

    def tick(self) -> datetime:
        self.now += timedelta(minutes=7)
        return self.now

    @rule(sku=sku_st, loc=loc_st, qty=st.integers(1, 6))
    def receive(self, sku: str, loc: str, qty: int) -> None:
        self.receipts += 1
        ref = f"R-{self.receipts}"
        self.runner.run(
            lambda uow: receive_stock(
                uow=uow,
                tenant_id=self.tenant,
                reference=ref,
                lines=[ReceiptLine(sku, loc, qty)],
                reason="r",
                now=self.tick(),
            )
        )
        self.on_hand[(sku, loc)] = self.on_hand.get((sku, loc), 0) + qty

    @rule(sku=sku_st, loc=loc_st, change=st.integers(-6, 6).filter(bool))
    def adjust(self, sku: str, loc: str, change: int) -> None:
        try:
            self.runner.run(
                lambda uow: adjust_stock(
                    uow=uow,
                    tenant_id=self.tenant,
                    sku=sku,
                    location_id=loc,
                    change=change,
                    reason="count",
                    reference=None,
                    now=self.tick(),
                )
            )
        except InsufficientStock as exc:
            assert exc.balance.on_hand - exc.balance.reserved < -change
            return
        self.on_hand[(sku, loc)] = self.on_hand.get((sku, loc), 0) + change

    @rule(
        target=orders,
        lines=st.lists(st.tuples(sku_st, st.integers(1, 4)), min_size=1, max_size=3),
        paid=st.booleans(),
    )
    def confirm_order(self, lines: list[tuple[str, int]], paid: bool) -> str:
        self.n += 1
        new = _new_order(self.n, lines, paid)

        def work(uow: Any) -> str:
            now = self.tick()
            doc = place_order(uow=uow, tenant_id=self.tenant, new=new, lifecycle=LIFECYCLE, actor="t", now=now)
            apply_action(
                uow=uow,
                tenant_id=self.tenant,
                order_id=doc["id"],
                action="confirm",
                params={},
                lifecycle=LIFECYCLE,
                actor="t",
                now=now,
            )
            allocate_order(
                uow=uow,
                tenant_id=self.tenant,
                order_id=doc["id"],
                lifecycle=LIFECYCLE,
                sourcing=NearestFullStockSourcing(),
                now=now,
                unpaid_hold=timedelta(minutes=20),
            )
            return str(doc["id"])

        order_id = self.runner.run(work)
        self.live[order_id] = lines
        return order_id

    @rule(order_id=consumes(orders))
    def cancel(self, order_id: str) -> None:
        def work(uow: Any) -> None:
            now = self.tick()
            apply_action(
                uow=uow,
                tenant_id=self.tenant,
                order_id=order_id,
                action="cancel",
                params={},
                lifecycle=LIFECYCLE,
                actor="t",
                now=now,
            )
            release_order(uow=uow, tenant_id=self.tenant, order_id=order_id, reason="cancel", now=now)

        self.runner.run(work)
        self.live.pop(order_id, None)

    @rule(order_id=consumes(orders))
    def ship(self, order_id: str) -> None:
        held = self.runner.run(
            lambda uow: uow.inventory.reservations_of(self.tenant, order_id, ReservationStatus.ACTIVE)
        )
        self.runner.run(lambda uow: fulfil_order(uow=uow, tenant_id=self.tenant, order_id=order_id, now=self.tick()))
        for r in held:
            self.on_hand[(r.sku, r.location_id)] -= r.quantity

    @rule()
    def expire(self) -> None:
        self.runner.run(lambda uow: release_expired(uow=uow, now=self.tick()))

    @invariant()
    def ledger_and_balances_agree(self) -> None:
        assert self.runner.run(lambda uow: uow.inventory.reconcile(self.tenant)) == []

    @invariant()
    def nothing_over_reserved_and_on_hand_matches_the_model(self) -> None:
        balances = self.runner.run(lambda uow: uow.inventory.balances(self.tenant, SKUS))
        for b in balances:
            assert 0 <= b.reserved <= b.on_hand
            assert b.on_hand == self.on_hand.get((b.sku, b.location_id), 0)

    @invariant()
    def every_reservation_belongs_to_a_live_order_line(self) -> None:
        for order_id, lines in self.live.items():
            held = self.runner.run(
                lambda uow, o=order_id: uow.inventory.reservations_of(self.tenant, o, ReservationStatus.ACTIVE)
            )
            for r in held:
                assert lines[r.line_no - 1] == (r.sku, r.quantity)
                assert r.location_id == held[0].location_id  # single-location sourcing


class SqliteLedgerMachine(LedgerMachine):
    """The same machine on a real SQLite file."""

    def make_store(self) -> tuple[TransactionRunner, str]:
        self._dir = tempfile.TemporaryDirectory()
        url = sqlite_url(Path(self._dir.name))
        self._engines = make_engines(url)
        tenant, _ = SqlTenantDirectory(self._engines.write, self._engines.read).create("stateful")
        return SqlTransactionRunner(self._engines.write), tenant

    def teardown(self) -> None:
        self._engines.dispose()
        self._dir.cleanup()


LedgerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
SqliteLedgerMachine.TestCase.settings = settings(max_examples=12, stateful_step_count=25, deadline=None)
TestLedgerInMemory = LedgerMachine.TestCase
TestLedgerOnSqlite = SqliteLedgerMachine.TestCase
