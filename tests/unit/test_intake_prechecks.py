"""The real inventory pre-check (SKU known, network ATP > 0) and compliance check (the active ``compliance`` rule
set, incl. the demo's rules) on the in-memory twins."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import pytest
import yaml

from orderloom.adapters.memory import MemoryTransactionRunner
from orderloom.adapters.memory_rules import MemoryRuleHistory, MemoryRuleStore
from orderloom.adapters.rules.cel_engine import CelRuleCompiler
from orderloom.application.intake_prechecks import RuleCompliance, StockPrecheck
from orderloom.application.inventory import ReceiptLine, adjust_stock, create_location, receive_stock, update_location
from orderloom.application.ports import UnitOfWork
from orderloom.application.rules import RuleSets
from orderloom.bootstrap import load_rules_context
from orderloom.domain.intake_checks import Finding, hold_for
from orderloom.domain.inventory import Location, LocationType
from orderloom.domain.rules import RuleSetInvalid
from orderloom.entrypoints.api.schemas import EXAMPLE_ORDER

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
T = "t1"


def _doc(*skus: str, **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(EXAMPLE_ORDER)
    line = doc["lines"][0]
    doc["lines"] = [{**line, "line_id": str(i + 1), "sku": sku} for i, sku in enumerate(skus)]
    doc["channel_order_id"] = "C-1"
    doc.update(changes)
    return doc


def _codes(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.code, f.field, f.message) for f in findings]


@pytest.fixture
def runner() -> MemoryTransactionRunner:
    runner = MemoryTransactionRunner()

    def setup(uow: UnitOfWork) -> None:
        for loc_id in ("SH", "SF"):
            create_location(
                uow=uow, location=Location(id=loc_id, tenant_id=T, name=loc_id, type=LocationType.WAREHOUSE), now=NOW
            )
        lines = [ReceiptLine("MUG", "SH", 2), ReceiptLine("TEE", "SF", 1), ReceiptLine("CAP", "SF", 3)]
        receive_stock(uow=uow, tenant_id=T, reference="PO-1", lines=lines, reason="opening", now=NOW)
        adjust_stock(
            uow=uow, tenant_id=T, sku="TEE", location_id="SF", change=-1, reason="lost", reference=None, now=NOW
        )

    runner.run(setup)
    return runner


def test_known_skus_with_stock_somewhere_pass(runner: MemoryTransactionRunner) -> None:
    assert runner.run(lambda uow: StockPrecheck().check(uow=uow, tenant_id=T, doc=_doc("MUG", "CAP"))) == []


def test_unknown_and_out_of_stock_skus_are_named(runner: MemoryTransactionRunner) -> None:
    findings = runner.run(lambda uow: StockPrecheck().check(uow=uow, tenant_id=T, doc=_doc("MUG", "NOPE", "TEE")))
    assert _codes(findings) == [
        ("sku_unknown", "/lines/1/sku", "SKU NOPE is not stocked at any location"),
        ("no_stock", "/lines/2/sku", "SKU TEE has no stock available anywhere"),
    ]
    assert hold_for(findings) == ("fail_validation", findings[0])


def test_stock_only_at_an_inactive_location_is_no_stock(runner: MemoryTransactionRunner) -> None:
    def offline(uow: UnitOfWork) -> list[Finding]:
        update_location(uow=uow, tenant_id=T, location_id="SF", changes={"active": False}, now=NOW)
        return StockPrecheck().check(uow=uow, tenant_id=T, doc=_doc("CAP"))

    assert [f.code for f in runner.run(offline)] == ["no_stock"]


def test_tenant_without_locations_passes() -> None:
    runner = MemoryTransactionRunner()
    assert runner.run(lambda uow: StockPrecheck().check(uow=uow, tenant_id="other", doc=_doc("ANYTHING"))) == []


def _rules() -> RuleSets:
    return RuleSets(
        store=MemoryRuleStore(),
        compiler=CelRuleCompiler(load_rules_context()),
        clock=lambda: NOW,
        history=MemoryRuleHistory(),
    )


def _demo_compliance(rules: RuleSets) -> None:
    text = resources.files("orderloom.data").joinpath("demo_rules.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(text)["compliance"]
    v = rules.create_version(tenant_id=T, kind="compliance", document=document, actor="test")
    rules.activate(tenant_id=T, kind="compliance", version=v.version, actor="test")


def _check(rules: RuleSets, doc: dict[str, Any]) -> list[Finding]:
    return RuleCompliance(rules).check(uow=None, tenant_id=T, doc=doc)  # type: ignore[arg-type]  # reads no store


def test_no_active_compliance_rule_set_passes() -> None:
    assert _check(_rules(), _doc("KINDER-SURPRISE-3")) == []


def test_demo_compliance_rules_fire_with_the_rule_id() -> None:
    rules = _rules()
    _demo_compliance(rules)
    us = EXAMPLE_ORDER["shipping_address"] | {"country": "US"}
    au = EXAMPLE_ORDER["shipping_address"] | {"country": "AU"}
    cn = EXAMPLE_ORDER["shipping_address"] | {"country": "CN"}
    big = EXAMPLE_ORDER["totals"] | {"grand_total": "5000.01"}
    limit = EXAMPLE_ORDER["totals"] | {"grand_total": "5000.00"}
    assert _check(rules, _doc("MUG", shipping_address=us)) == []
    (kinder,) = _check(rules, _doc("MUG", "KINDER-SURPRISE-3", shipping_address=us))
    assert (kinder.code, kinder.field) == ("compliance_rule", "/rules/restricted-kinder-surprise-us")
    assert kinder.message.startswith("restricted-kinder-surprise-us: ")
    assert _check(rules, _doc("KINDER-SURPRISE-3", shipping_address=au)) == []
    assert [f.field for f in _check(rules, _doc("VAPE-MINT", shipping_address=au))] == ["/rules/restricted-vapes-au"]
    cross = {"currency": "CNY", "shipping_address": cn, "tags": ["cross-border"]}
    (over,) = _check(rules, _doc("MUG", totals=big, **cross))
    assert over.message == "cross-border-cny-5000: cross-border single order over the CNY 5000 limit"
    assert _check(rules, _doc("MUG", totals=limit, **cross)) == []  # the limit itself is allowed
    assert _check(rules, _doc("MUG", totals=big, **(cross | {"tags": []}))) == []  # domestic: no limit


def test_hold_rules_fire_too_and_rule_errors_hold() -> None:
    rules = _rules()
    doc = {
        "rules": [
            {"id": "review-b2b", "when": "order.total_quantity > 10", "then": ['hold("bulk")', 'add_tag("b2b")']},
            {"id": "tag-only", "when": "true", "then": ['add_tag("seen")']},
            {"id": "needs-field", "when": 'order.custom["declared_age"] < 1', "then": ['fail("formula stage")']},
        ]
    }
    v = rules.create_version(tenant_id=T, kind="compliance", document=doc, actor="test")
    rules.activate(tenant_id=T, kind="compliance", version=v.version, actor="test")
    order = _doc("MUG")
    order["lines"][0]["quantity"] = 11
    fields = [f.field for f in _check(rules, order)]
    assert fields == ["/rules/review-b2b", "/rules/needs-field"]  # tag-only passes; the raising rule holds


def test_compliance_kind_only_allows_fail_and_hold() -> None:
    with pytest.raises(RuleSetInvalid):
        _rules().create_version(
            tenant_id=T,
            kind="compliance",
            document={"rules": [{"id": "x", "when": "true", "then": ['route_to("SH")']}]},
            actor="test",
        )
