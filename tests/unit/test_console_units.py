"""Console building blocks without I/O: password hashes, KPI figures, tracking tokens and language, SVG layout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderloom.application.console import can_act, can_admin
from orderloom.application.kpis import OrderFacts, compute_kpis, milestone_actions, percentile
from orderloom.application.passwords import hash_password, new_password, verify_password
from orderloom.bootstrap import load_lifecycle
from orderloom.entrypoints.console.charts import time_series_chart
from orderloom.entrypoints.console.rendering import fmt_duration, fmt_rate
from orderloom.entrypoints.console.tracking import (
    choose_language,
    order_id_from_token,
    texts,
    tracking_token,
    verify_token,
)

END = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


# ---- passwords ----------------------------------------------------------------------------------------------
def test_password_hash_verifies_only_the_same_password() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert hash_password("correct horse") != stored  # salted


def test_short_passwords_are_refused_and_malformed_hashes_never_match() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        hash_password("short")
    for bad in ("", "plain", "bcrypt$1$2$3$4$5", "scrypt$x$8$1$AAAA$AAAA", "scrypt$16384$8$1$!!$!!"):
        assert not verify_password("whatever1", bad)
    assert len(new_password()) >= 16


def test_roles() -> None:
    assert [can_act(r) for r in ("viewer", "operator", "admin")] == [False, True, True]
    assert [can_admin(r) for r in ("viewer", "operator", "admin")] == [False, False, True]
    assert not can_act("root")


# ---- KPIs ---------------------------------------------------------------------------------------------------
def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([10.0, 0.0, 20.0], 100) == 20.0
    assert percentile(list(map(float, range(1, 101))), 95) == pytest.approx(95.05)


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=50), st.floats(0, 100))
def test_percentile_lies_within_the_values(values: list[float], q: float) -> None:
    result = percentile(values, q)
    assert result is not None and min(values) <= result <= max(values)


def test_milestones_come_from_the_lifecycle() -> None:
    m = milestone_actions(load_lifecycle())
    assert "order.allocate" in m["allocated"] and "order.reallocate" in m["allocated"]
    assert "order.deliver" in m["delivered"]
    assert {"order.hold", "order.flag_risk", "order.fail_validation", "order.stock_shortage"} <= m["held"]
    assert m["validation_failed"] == {"order.fail_validation"}
    assert "order.confirm" not in set().union(*m.values())


def _fact(n: int, channel: str, hours_ago: float, **kw: object) -> OrderFacts:
    return OrderFacts(order_id=f"ord_{n}", channel=channel, placed_at=END - timedelta(hours=hours_ago), **kw)  # type: ignore[arg-type]


def test_kpi_figures_overall_by_channel_and_over_time() -> None:
    facts = [
        _fact(1, "web", 30, allocated_at=END - timedelta(hours=29), delivered_at=END - timedelta(hours=6)),
        _fact(2, "web", 20, allocated_at=END - timedelta(hours=17), held=True),
        _fact(3, "web", 10, held=True, validation_failed=True),
        _fact(4, "jd", 5, allocated_at=END - timedelta(hours=4)),
    ]
    report = compute_kpis(window="7d", end=END, facts=facts, quarantined=1)
    o = report.overall
    assert o["orders"] == 4 and o["quarantined"] == 1 and o["held_for_validation"] == 1
    assert o["order_error_rate"] == 0.4  # (1 quarantined + 1 held for validation) / (4 orders + 1 quarantined)
    assert o["manual_intervention_rate"] == 0.5
    assert o["allocated_orders"] == 3
    assert o["order_to_allocation_p50_s"] == 3600.0  # 1 h, 3 h, 1 h
    assert o["order_to_allocation_p95_s"] == pytest.approx(3600 * 2.8)
    assert o["end_to_end_p50_s"] == 24 * 3600.0 and o["delivered_orders"] == 1
    web, jd = (next(c for c in report.by_channel if c["channel"] == ch) for ch in ("web", "jd"))
    assert web["orders"] == 3 and web["order_error_rate"] == pytest.approx(0.3333)
    assert jd["manual_intervention_rate"] == 0.0 and jd["end_to_end_p50_s"] is None
    assert len(report.series) == 28  # 7 days of 6-hour buckets
    assert sum(b["orders"] for b in report.series) == 4 and sum(b["held"] for b in report.series) == 2
    assert report.series[-1]["orders"] == 1  # placed 5 h before the end
    doc = report.as_document()
    assert doc["from"] == "2026-11-18T12:00:00Z" and doc["to"] == "2026-11-25T12:00:00Z"
    assert "routing_accuracy" in doc["not_available"]


def test_kpis_of_an_empty_window_are_none_not_zero_division() -> None:
    report = compute_kpis(window="24h", end=END, facts=[], quarantined=0)
    assert report.overall["order_error_rate"] is None and report.overall["order_to_allocation_p50_s"] is None
    assert len(report.series) == 24 and report.by_channel == []
    with pytest.raises(KeyError):
        compute_kpis(window="1y", end=END, facts=[], quarantined=0)


def test_display_formats() -> None:
    assert fmt_duration(None) == "—" and fmt_duration(42) == "42 s" and fmt_duration(90) == "1.5 min"
    assert fmt_duration(7200) == "2.0 h" and fmt_duration(3 * 86400) == "3.0 d"
    assert fmt_rate(None) == "—" and fmt_rate(0.1234) == "12.3 %"


# ---- tracking -----------------------------------------------------------------------------------------------
def test_tracking_tokens_are_bound_to_secret_tenant_and_order() -> None:
    token = tracking_token("s3cret", "ten_A", "ord_01ABC")
    assert order_id_from_token(token) == "ord_01ABC"
    assert "ten_A" not in token and "s3cret" not in token
    assert verify_token("s3cret", "ten_A", token)
    assert not verify_token("other", "ten_A", token)
    assert not verify_token("s3cret", "ten_B", token)
    forged = tracking_token("s3cret", "ten_A", "ord_01ABD").split(".")[1]
    assert not verify_token("s3cret", "ten_A", f"01ABC.{forged}")
    for bad in ("", "nodot", "01ABC.", "../etc.passwd-aaaaaaaaaaaaaaaa", "01ABC.short"):
        assert order_id_from_token(bad) is None or not verify_token("s3cret", "ten_A", bad)


@pytest.mark.parametrize(
    ("header", "override", "expected"),
    [
        (None, None, "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", None, "zh-CN"),
        ("zh-TW", None, "zh-CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", None, "en"),
        ("fr-FR, zh;q=0.5, en;q=0.4", None, "zh-CN"),
        ("de, en;q=0.1, zh;q=0.9", None, "zh-CN"),
        ("en;q=bogus, zh;q=0.2", None, "zh-CN"),
        ("zh-CN", "en", "en"),
        ("en", "zh-CN", "zh-CN"),
        ("en", "xx", "en"),
    ],
)
def test_language_from_accept_language(header: str | None, override: str | None, expected: str) -> None:
    assert choose_language(header, override) == expected


def test_tracking_texts_cover_every_main_status_in_both_languages() -> None:
    from orderloom.domain.lifecycle import MAIN_STATUSES

    for lang in ("en", "zh-CN"):
        t = texts()[lang]
        assert set(MAIN_STATUSES) <= set(t["statuses"]), lang
        assert len(t["steps"]) == 6
        assert all(v["headline"] and v["next"] for v in t["statuses"].values())
    assert texts()["en"].keys() == texts()["zh-CN"].keys()
    assert texts()["en"]["statuses"].keys() == texts()["zh-CN"]["statuses"].keys()
    declared = {str(s) for s in load_lifecycle().all_statuses()}
    overrides = {k for k in texts()["en"]["statuses"] if "." in k}
    assert overrides <= declared, overrides - declared  # no typo'd sub-status
    assert {k for k in declared if k.startswith("delivery_issue.")} <= overrides  # every delivery problem explained


# ---- charts -------------------------------------------------------------------------------------------------
def test_time_series_layout() -> None:
    chart = time_series_chart(["a", "b", "c"], {"orders": [0, 5, 10], "held": [0, 1, 0]}, width=240, height=140, pad=20)
    pts = chart.series["orders"]
    assert chart.y_max == 20.0  # four ticks of a round step (5) that cover the largest value
    assert [p.x for p in pts] == [20.0, 120.0, 220.0]
    assert pts[0].y == 120.0 and pts[2].y == 70.0
    assert chart.polyline("held") == "20.0,120.0 120.0,115.0 220.0,120.0"
    assert [label for _, label in chart.y_ticks] == ["0", "5", "10", "15", "20"]
    empty = time_series_chart(["only"], {"orders": [0]})
    assert empty.y_max == 1.0 and len(empty.series["orders"]) == 1


# ---- sign-in throttle ---------------------------------------------------------------------------------------
def test_login_throttle_counts_failures_per_account_within_the_window() -> None:
    from orderloom.entrypoints.console.throttle import LoginThrottle

    t = LoginThrottle(limit=3, window=100)
    for i in range(3):
        assert t.retry_after("Acme", "olga", now=i) == 0
        t.failed("acme", "Olga ", now=i)
    assert t.retry_after("acme", "olga", now=10) == 91  # the oldest failure (t=0) leaves the window at 100
    assert t.retry_after("acme", "vera", now=10) == 0
    assert t.retry_after("acme", "olga", now=100.5) == 0
    t.failed("acme", "olga", now=101)
    t.succeeded("acme", "olga")
    assert t.retry_after("acme", "olga", now=102) == 0


def test_quarantine_sources_map_to_decoders_by_prefix() -> None:
    from orderloom.entrypoints.api.schemas import decode_new_order
    from orderloom.entrypoints.console.quarantine_retry import decoder_for

    assert decoder_for("api:/v1/orders") is decode_new_order
    assert decoder_for("import:orders.ndjson:7") is decode_new_order
    assert decoder_for("channel:unknown") is None and decoder_for("api") is None
