"""The return store contract: the in-memory twin, SQLite and PostgreSQL behave the same behind the ReturnStore port,
and the return use cases (shipped quantities from the ledger, stock movements at receipt, tenant rule sets) work on
each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from orderloom.adapters.carriers.fake_booking import FakeCarrier
from orderloom.adapters.memory import MemoryTransactionRunner
from orderloom.adapters.memory_rules import MemoryRuleHistory, MemoryRuleStore
from orderloom.adapters.persistence.engine import make_engines
from orderloom.adapters.persistence.tenants import SqlTenantDirectory
from orderloom.adapters.persistence.writer import SqlTransactionRunner
from orderloom.adapters.return_labels import BookedReturnLabels
from orderloom.adapters.returns_config import load_default_return_rules, load_return_reasons
from orderloom.adapters.rules.cel_engine import CelRuleCompiler
from orderloom.application.inventory import (
    NearestFullStockSourcing,
    ReceiptLine,
    allocate_order,
    create_location,
    fulfil_order,
    receive_stock,
)
from orderloom.application.orders import apply_action, place_order
from orderloom.application.ports import TransactionRunner, UnitOfWork
from orderloom.application.returns import (
    RequestedLine,
    ReturnsSetup,
    issue_refund,
    receive_return,
    request_return,
)
from orderloom.application.returns_policy import RulesReturnPolicy
from orderloom.application.returns_ports import ReturnsUnitOfWork
from orderloom.application.returns_shipped import LedgerShippedQuantities
from orderloom.application.rules import RuleSets
from orderloom.bootstrap import load_lifecycle, load_rules_context
from orderloom.domain.errors import ConcurrencyConflict
from orderloom.domain.inventory import Location, LocationType
from orderloom.domain.returns import (
    Disposition,
    InspectedLine,
    RefundRecord,
    ReturnExceedsShipped,
    ReturnLine,
    ReturnNotFound,
    ReturnRefused,
    ReturnRequest,
)
from orderloom.entrypoints.api.schemas import decode_new_order
from tests.conftest import example_order, sqlite_url
from tests.contract.test_inventory_contract import settle_outbox

LIFECYCLE = load_lifecycle()
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
COMPILER = CelRuleCompiler(load_rules_context())


def make_setup() -> tuple[ReturnsSetup, RuleSets]:
    rules = RuleSets(store=MemoryRuleStore(), compiler=COMPILER, clock=lambda: NOW, history=MemoryRuleHistory())
    setup = ReturnsSetup(
        lifecycle=LIFECYCLE,
        reasons=load_return_reasons(),
        policy=RulesReturnPolicy(rules=rules, default_document=load_default_return_rules()),
        shipped=LedgerShippedQuantities(),
        labels=BookedReturnLabels(FakeCarrier()),
    )
    return setup, rules


def ruow(uow: UnitOfWork) -> ReturnsUnitOfWork:
    assert hasattr(uow, "returns")
    return uow  # type: ignore[return-value]


def _loc(tenant: str, loc_id: str) -> Location:
    return Location(
        id=loc_id,
        tenant_id=tenant,
        name=loc_id,
        type=LocationType.WAREHOUSE,
        country="US",
        latitude=37.77,
        longitude=-122.41,
        time_zone="America/Los_Angeles",
    )


class ReturnsContract:
    @pytest.fixture
    def runner(self) -> Iterator[TransactionRunner]:
        raise NotImplementedError

    def new_tenant(self) -> str:
        return f"ten_{uuid.uuid4().hex[:8]}"

    def order(self, runner: TransactionRunner, tenant: str, *actions: str, **overrides: Any) -> str:
        new = decode_new_order(msgspec.json.encode(example_order(**overrides)))
        oid = str(
            runner.run(
                lambda uow: place_order(uow=uow, tenant_id=tenant, new=new, lifecycle=LIFECYCLE, actor="t", now=NOW)
            )["id"]
        )
        self.act(runner, tenant, oid, *actions)
        return oid

    def act(self, runner: TransactionRunner, tenant: str, oid: str, *actions: str) -> None:
        for action in actions:
            runner.run(
                lambda uow, a=action: apply_action(  # type: ignore[misc]
                    uow=uow,
                    tenant_id=tenant,
                    order_id=oid,
                    action=a,
                    params={},
                    lifecycle=LIFECYCLE,
                    actor="t",
                    now=NOW,
                )
            )

    def request(
        self, runner: TransactionRunner, setup: ReturnsSetup, tenant: str, oid: str, *lines: RequestedLine
    ) -> Any:
        return runner.run(
            lambda uow: request_return(
                uow=ruow(uow),
                setup=setup,
                tenant_id=tenant,
                order_id=oid,
                lines=lines,
                source="api",
                actor="t",
                now=NOW,
            )
        )

    def test_store_round_trip_is_tenant_scoped_and_versioned(self, runner: TransactionRunner) -> None:
        tenant, other = self.new_tenant(), self.new_tenant()
        ret = ReturnRequest.open(
            tenant_id=tenant,
            order_id="ord_x",
            currency="USD",
            lines=[ReturnLine(line_no=1, sku="A", quantity=2, reason="wrong_size")],
            source="api",
            now=NOW,
        )
        runner.run(lambda uow: ruow(uow).returns.add(ret))
        got = runner.run(lambda uow: ruow(uow).returns.get(tenant, ret.id))
        assert got.as_document() == ret.as_document()
        with pytest.raises(ReturnNotFound):
            runner.run(lambda uow: ruow(uow).returns.get(other, ret.id))
        got.approve(label={"carrier": "c"}, now=NOW + timedelta(minutes=1))
        runner.run(lambda uow: ruow(uow).returns.save(got))
        with pytest.raises(ConcurrencyConflict):
            runner.run(lambda uow: ruow(uow).returns.save(got))  # stale: version already stored
        listed = runner.run(lambda uow: ruow(uow).returns.for_order(tenant, "ord_x"))
        assert [(r.id, r.status.value, r.version) for r in listed] == [(ret.id, "approved", 2)]
        assert runner.run(lambda uow: ruow(uow).returns.for_order(other, "ord_x")) == []
        refund = RefundRecord(
            id="rfd_1" + tenant,
            tenant_id=tenant,
            order_id="ord_x",
            return_id=ret.id,
            amount=Decimal("12.34"),
            shipping=Decimal("0.00"),
            currency="USD",
            lines=((1, 2),),
            reason="r",
            created_at=NOW,
        )
        runner.run(lambda uow: ruow(uow).returns.add_refund(refund))
        assert runner.run(lambda uow: ruow(uow).returns.refunds_of(tenant, "ord_x")) == [refund]
        assert runner.run(lambda uow: ruow(uow).returns.refunds_of(other, "ord_x")) == []

    def test_delivery_time_comes_from_the_deliver_action(self, runner: TransactionRunner) -> None:
        tenant = self.new_tenant()
        oid = self.order(runner, tenant, "confirm", "allocate", "ship")
        assert runner.run(lambda uow: ruow(uow).returns.delivered_at(tenant, oid)) is None
        self.act(runner, tenant, oid, "deliver")
        assert runner.run(lambda uow: ruow(uow).returns.delivered_at(tenant, oid)) == NOW

    def test_shipped_units_come_from_fulfilled_reservations_and_return_to_stock(
        self, runner: TransactionRunner
    ) -> None:
        setup, _ = make_setup()
        tenant = self.new_tenant()

        def network(uow: UnitOfWork) -> None:
            for loc in ("WH1", "REFURB"):
                create_location(uow=uow, location=_loc(tenant, loc), now=NOW)
            lines = [ReceiptLine("TSHIRT-BLK-M", "WH1", 10), ReceiptLine("MUG-WHT", "WH1", 5)]
            receive_stock(uow=uow, tenant_id=tenant, reference="PO-1", lines=lines, reason="opening", now=NOW)

        runner.run(network)
        oid = self.order(runner, tenant, "confirm")
        runner.run(
            lambda uow: allocate_order(
                uow=uow,
                tenant_id=tenant,
                order_id=oid,
                lifecycle=LIFECYCLE,
                sourcing=NearestFullStockSourcing(),
                now=NOW,
            )
        )
        with pytest.raises(ReturnExceedsShipped) as refused:  # reserved, not shipped yet
            self.request(runner, setup, tenant, oid, RequestedLine(line_no=1, quantity=1, reason="wrong_size"))
        assert (refused.value.shipped, refused.value.requested) == (0, 1)
        runner.run(lambda uow: fulfil_order(uow=uow, tenant_id=tenant, order_id=oid, now=NOW))
        self.act(runner, tenant, oid, "ship", "deliver")
        ret = self.request(
            runner,
            setup,
            tenant,
            oid,
            RequestedLine(line_no=1, quantity=2, reason="wrong_size"),
            RequestedLine(line_no=2, quantity=1, reason="defective", condition="damaged"),
        )
        with pytest.raises(ReturnExceedsShipped):
            self.request(runner, setup, tenant, oid, RequestedLine(line_no=1, quantity=1, reason="wrong_size"))
        inspected = [
            InspectedLine(line_no=1, quantity=1, disposition=Disposition.RESTOCK),
            InspectedLine(line_no=2, quantity=1, disposition=Disposition.REFURBISH, location_id="REFURB"),
        ]
        runner.run(
            lambda uow: receive_return(
                uow=ruow(uow),
                setup=setup,
                tenant_id=tenant,
                return_id=ret["id"],
                location_id="WH1",
                inspected=inspected,
                actor="t",
                now=NOW,
            )
        )

        def balances(uow: UnitOfWork) -> dict[tuple[str, str], int]:
            got = uow.inventory.balances(tenant, ["TSHIRT-BLK-M", "MUG-WHT"])
            return {(b.sku, b.location_id): b.on_hand for b in got}

        # 10 - 2 shipped + 1 restocked; the mug went to the refurbishing location, not back on the shelf
        assert runner.run(balances) == {("TSHIRT-BLK-M", "WH1"): 9, ("MUG-WHT", "WH1"): 4, ("MUG-WHT", "REFURB"): 1}
        moves = runner.run(lambda uow: uow.inventory.movements(tenant, "MUG-WHT", after=None, limit=10))
        assert [(m.kind.value, m.reason, m.location_id) for m in moves][-1] == ("return", "return:refurbish", "REFURB")
        result = runner.run(
            lambda uow: issue_refund(
                uow=ruow(uow),
                setup=setup,
                tenant_id=tenant,
                return_id=ret["id"],
                amount=None,
                reason=None,
                actor="t",
                now=NOW,
            )
        )
        # T-shirt: 24.99 - 2.50 + 1.80 = 24.29; mug (defective, no fee): 12.50 + 1.00; shipping refunded (defective)
        assert result["refund"]["amount"] == "45.74"
        assert result["breakdown"]["shipping"] == "7.95"
        order = runner.run(lambda uow: uow.orders.get(tenant, oid))
        assert str(order.status) == "closed.partially_refunded"

    def test_a_tenant_rule_set_replaces_the_default_one(self, runner: TransactionRunner) -> None:
        setup, rules = make_setup()
        tenant = self.new_tenant()
        doc = {"rules": [{"id": "no-mind-changes", "when": 'rma.reason == "changed_mind"', "then": ['deny("final")']}]}
        version = rules.create_version(tenant_id=tenant, kind="returns", document=doc, actor="t")
        rules.activate(tenant_id=tenant, kind="returns", version=version.version, actor="t")
        oid = self.order(runner, tenant, "confirm", "allocate", "ship", "deliver", tags=["final_sale"])
        with pytest.raises(ReturnRefused) as refused:
            self.request(runner, setup, tenant, oid, RequestedLine(line_no=1, quantity=1, reason="changed_mind"))
        assert (refused.value.rule_id, refused.value.reason) == ("no-mind-changes", "final")
        # the default rules would refuse a final_sale order; the tenant's set does not
        ret = self.request(runner, setup, tenant, oid, RequestedLine(line_no=1, quantity=1, reason="wrong_size"))
        assert ret["status"] == "approved"
        other = self.new_tenant()
        oid2 = self.order(runner, other, "confirm", "allocate", "ship", "deliver", tags=["final_sale"])
        with pytest.raises(ReturnRefused) as default:
            self.request(runner, setup, other, oid2, RequestedLine(line_no=1, quantity=1, reason="wrong_size"))
        assert default.value.rule_id == "non-returnable"


class TestMemoryReturns(ReturnsContract):
    @pytest.fixture
    def runner(self) -> Iterator[TransactionRunner]:
        yield MemoryTransactionRunner()


class SqlReturnsContract(ReturnsContract):
    url: str
    tenants: list[str]

    def new_tenant(self) -> str:
        engines = make_engines(self.url)
        try:
            tenant = SqlTenantDirectory(engines.write, engines.read).create(f"t-{uuid.uuid4().hex[:8]}")[0]
        finally:
            engines.dispose()
        self.tenants.append(tenant)
        return tenant

    def _runner(self) -> Iterator[TransactionRunner]:
        self.tenants = []
        engines = make_engines(self.url)
        yield SqlTransactionRunner(engines.write)
        settle_outbox(engines.write, self.tenants)
        engines.dispose()


class TestSqliteReturns(SqlReturnsContract):
    @pytest.fixture
    def runner(self, tmp_path: Path) -> Iterator[TransactionRunner]:
        self.url = sqlite_url(tmp_path)
        yield from self._runner()


class TestPostgresReturns(SqlReturnsContract):
    @pytest.fixture
    def runner(self, postgres_url: str) -> Iterator[TransactionRunner]:
        self.url = postgres_url
        yield from self._runner()
