"""Routing feeds, trade terms and carrier capacity in the cost model; the circuit breaker on a frozen clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources

import pytest
import yaml
from tests.unit.test_routing_domain import NET, TABLE, everywhere, loc, req

from orderloom.application.routing_feeds import FeedHub, FeedUnavailable, GuardedFeed
from orderloom.domain.breaker import BreakerState, CircuitBreaker
from orderloom.domain.inventory import LocationType
from orderloom.domain.routing import route
from orderloom.domain.routing_feeds import (
    FeedAdjustments,
    FeedSource,
    InvalidFeed,
    parse_carrier_heat,
    parse_region_alerts,
)
from orderloom.domain.routing_trade import InvalidTradeTable, parse_trade_rules
from orderloom.domain.sourcing import Demand, ShipTo

A_SH, B_HZ, C_BJ = (replace(x, region=r) for x, r in zip(NET, ("CN-31", "CN-33", "CN-11"), strict=True))
REGIONAL = (A_SH, B_HZ, C_BJ)


def rreq(demand: list[Demand], stock: dict[tuple[str, str], int], **kw: object):  # type: ignore[no-untyped-def]
    return replace(req(demand, stock, **kw), locations=REGIONAL)


# --- circuit breaker ---------------------------------------------------------------------------------------------


def test_breaker_opens_after_threshold_and_half_opens_after_the_wait() -> None:
    b = CircuitBreaker(failure_threshold=3, reset_after=30)
    assert b.allow(0.0)
    b.record_failure(1.0)
    b.record_failure(2.0)
    assert b.state == BreakerState.CLOSED and b.allow(2.5)
    b.record_failure(3.0)
    assert b.state == BreakerState.OPEN
    assert not b.allow(32.9)  # 29.9 s after opening
    assert b.allow(33.0) and b.state == BreakerState.HALF_OPEN
    b.record_failure(33.1)  # the trial failed: open again, from now
    assert b.state == BreakerState.OPEN and not b.allow(63.0) and b.allow(63.1)
    b.record_success()
    assert (b.state, b.failures) == (BreakerState.CLOSED, 0)


def test_a_success_resets_the_failure_count() -> None:
    b = CircuitBreaker(failure_threshold=2, reset_after=5)
    b.record_failure(0)
    b.record_success()
    b.record_failure(1)
    assert b.state == BreakerState.CLOSED


class FakeFeed:
    """A feed whose next answers are scripted: an adjustments value or an exception."""

    name = "weather"

    def __init__(self) -> None:
        self.script: list[FeedAdjustments | Exception] = []
        self.calls = 0

    def fetch(self) -> FeedAdjustments:
        self.calls += 1
        nxt = self.script.pop(0)
        if isinstance(nxt, Exception):
            raise nxt
        return nxt


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


WALL = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
CLOSED_SH = FeedAdjustments(closed_regions={"CN-31": "weather: typhoon"})


def guarded(feed: FakeFeed, clock: Clock, default: FeedAdjustments | None = None) -> GuardedFeed:
    return GuardedFeed(
        feed=feed,
        monotonic=clock,
        wall=lambda: WALL,
        default=default or FeedAdjustments(),
        ttl=10,
        breaker=CircuitBreaker(failure_threshold=2, reset_after=30),
    )


def test_guarded_feed_uses_default_then_live_then_last_good_then_recovers() -> None:
    feed, clock = FakeFeed(), Clock()
    default = FeedAdjustments(delay_days={"CN-31": 1})
    g = guarded(feed, clock, default)
    feed.script = [FeedUnavailable("HTTP 503")]
    r = g.read()
    assert (r.source, r.adjustments, r.note) == (
        FeedSource.DEFAULT,
        default,
        "weather feed unavailable (HTTP 503): used the default",
    )
    feed.script = [CLOSED_SH]
    r = g.read()
    assert (r.source, r.adjustments, r.fetched_at) == (FeedSource.LIVE, CLOSED_SH, WALL.isoformat())
    clock.t = 5  # within the ttl: no fetch
    assert g.read().source == FeedSource.LIVE and feed.calls == 2
    clock.t = 11
    feed.script = [FeedUnavailable("timed out")]
    r = g.read()
    assert r.source == FeedSource.LAST_GOOD and r.adjustments == CLOSED_SH
    assert r.note == f"weather feed unavailable (timed out): used the last good value from {WALL.isoformat()}"
    assert g.state == BreakerState.CLOSED  # one failure since the last success (threshold 2)
    clock.t = 12
    feed.script = [FeedUnavailable("timed out")]
    assert g.read().source == FeedSource.LAST_GOOD and g.state == BreakerState.OPEN
    clock.t = 20
    r = g.read()  # open: no call at all
    assert feed.calls == 4 and r.note.startswith("weather feed circuit open: used the last good value")
    clock.t = 42  # 30 s after opening: one trial
    feed.script = [FeedAdjustments()]
    r = g.read()
    assert (r.source, r.adjustments, g.state, feed.calls) == (FeedSource.LIVE, FeedAdjustments(), "closed", 5)


def test_hub_merges_feeds_and_reports_each() -> None:
    clock = Clock()
    w, c = FakeFeed(), FakeFeed()
    c.name = "carrier"  # type: ignore[misc]
    w.script = [CLOSED_SH]
    c.script = [FeedAdjustments(lane_surcharge={("std", "*"): Decimal("1.50")})]
    merged, readings = FeedHub([guarded(w, clock), guarded(c, clock)]).read()
    assert merged.closed_regions == {"CN-31": "weather: typhoon"}
    assert merged.lane_surcharge == {("std", "*"): Decimal("1.50")}
    assert [(r.feed, r.source) for r in readings] == [("weather", "live"), ("carrier", "live")]


# --- parsers -----------------------------------------------------------------------------------------------------


def test_region_alerts_parse_and_reject_bad_rows() -> None:
    adj = parse_region_alerts(
        {
            "regions": [
                {"region": "CN-31", "status": "closed", "reason": "typhoon In-fa"},
                {"region": "CN-33", "status": "warning", "delay_days": 2},
                {"region": "CN-11", "status": "clear"},
            ]
        },
        "weather",
    )
    assert adj.closed_regions == {"CN-31": "weather: typhoon In-fa"} and adj.delay_days == {"CN-33": 2}
    with pytest.raises(InvalidFeed, match=r"weather regions\[0\].status: closed, warning or clear"):
        parse_region_alerts({"regions": [{"region": "X", "status": "stormy"}]}, "weather")
    with pytest.raises(InvalidFeed, match=r"traffic regions\[0\].region: required"):
        parse_region_alerts({"regions": [{"status": "closed"}]}, "traffic")


def test_carrier_heat_parses_and_rejects_bad_rows() -> None:
    adj = parse_carrier_heat(
        {
            "lanes": [
                {"service": "std", "origin": "CN-31", "heat": "high", "surcharge": "2.5", "capacity_factor": 0.5},
                {"service": "express", "heat": "full", "reason": "peak season"},
            ]
        }
    )
    assert adj.lane_surcharge == {("std", "CN-31"): Decimal("2.5")}
    assert adj.lane_capacity == {("std", "CN-31"): 0.5}
    assert adj.lane_closed == {("express", "*"): "carrier: peak season"}
    with pytest.raises(InvalidFeed, match=r"lanes\[0\].surcharge: must be ≥ 0"):
        parse_carrier_heat({"lanes": [{"service": "std", "surcharge": -1}]})
    with pytest.raises(InvalidFeed, match=r"lanes\[0\].capacity_factor: a number from 0 to 1"):
        parse_carrier_heat({"lanes": [{"service": "std", "capacity_factor": 2}]})


# --- feeds in the cost model (hand-checked against test_routing_domain's table) ----------------------------------


def test_closed_origin_region_is_excluded_with_the_feed_reason() -> None:
    d = route(rreq([Demand(1, "X", 2)], everywhere("X", 5), feeds=CLOSED_SH), TABLE)
    assert (d.locations, d.total) == (("B-HZ",), Decimal("14.00"))
    assert dict(d.excluded) == {"A-SH": "region CN-31 closed (weather: typhoon)"}


def test_closed_destination_region_holds_the_order_no_source() -> None:
    d = route(rreq([Demand(1, "X", 2)], everywhere("X", 5), feeds=CLOSED_SH, dest_region="CN-31"), TABLE)
    assert d.shipments == () and d.no_source
    assert dict(d.excluded) == {
        "A-SH": "region CN-31 closed (weather: typhoon)",
        "B-HZ": "ship-to region CN-31 closed (weather: typhoon)",
        "C-BJ": "ship-to region CN-31 closed (weather: typhoon)",
    }


def test_surcharge_delay_and_full_lane() -> None:
    stock = everywhere("X", 5)
    # A: 8 + 7 surcharge = 15 > B: 14
    hot = FeedAdjustments(lane_surcharge={("std", "CN-31"): Decimal(7)})
    d = route(rreq([Demand(1, "X", 2)], stock, feeds=hot), TABLE)
    assert d.singles[:2] == (("B-HZ", "std", Decimal("14.00")), ("A-SH", "std", Decimal("15.00")))
    full = FeedAdjustments(lane_closed={("std", "CN-31"): "carrier: lane full"})
    d = route(rreq([Demand(1, "X", 2)], stock, feeds=full), TABLE)
    assert dict(d.excluded) == {"A-SH": "std lane closed (carrier: lane full)"}
    # a warning on the destination adds a day to every estimate: A ships on the 27th, 1 day + 1 delay → 29th
    slow = FeedAdjustments(delay_days={"CN-31": 1})
    d = route(rreq([Demand(1, "X", 2)], stock, feeds=slow, dest_region="CN-31"), TABLE)
    assert d.shipments[0].delivery.isoformat() == "2026-11-29"


def test_carrier_daily_capacity_and_heat_cut() -> None:
    stock = everywhere("X", 5)
    d = route(rreq([Demand(1, "X", 1)], stock, service_load={"std": (10, 10)}), TABLE)
    assert d.shipments == () and dict(d.excluded)["A-SH"] == "std daily capacity reached (10/10)"
    cut = FeedAdjustments(lane_capacity={("std", "*"): 0.5})
    d = route(rreq([Demand(1, "X", 1)], stock, service_load={"std": (10, 5)}, feeds=cut), TABLE)
    assert dict(d.excluded)["B-HZ"] == "std daily capacity reached (5/5)"
    assert route(rreq([Demand(1, "X", 1)], stock, service_load={"std": (10, 9)}), TABLE).locations == ("A-SH",)


# --- trade terms -------------------------------------------------------------------------------------------------


def _tariffs() -> dict[str, object]:
    text = resources.files("orderloom.data").joinpath("routing/tariffs.yaml").read_text(encoding="utf-8")
    raw: dict[str, object] = yaml.safe_load(text)
    return raw


def test_packaged_tariffs_rcep_preference_and_mfn() -> None:
    t = parse_trade_rules(_tariffs())
    assert t.duty_rate("JP", "CN") == Decimal("0.035")  # both RCEP members: preferential
    assert t.duty_rate("US", "CN") == Decimal("0.075")  # MFN
    assert t.duty_rate("CN", "CN") == Decimal(0)
    assert t.duty_rate("CN", "ZA") == Decimal("0.05")  # not listed: default
    assert t.value_limit("bonded") == Decimal("5000.00") and t.value_limit("overseas") is None
    with pytest.raises(InvalidTradeTable, match=r"mfn.CN: must be a rate from 0 to 1"):
        parse_trade_rules({"mfn": {"CN": 7.5}})


def test_duty_is_priced_and_bonded_value_limit_excludes() -> None:
    trade = parse_trade_rules(_tariffs())
    tokyo = replace(loc("JP-1", 31.2304, 121.4737, country="JP"), capabilities=A_SH.capabilities | {"cross_border"})  # type: ignore[operator]
    bonded = replace(loc("BD-1", 31.2304, 121.4737), type=LocationType.BONDED)
    table = TABLE.__class__(**{**{f: getattr(TABLE, f) for f in TABLE.__dataclass_fields__}})
    table = replace(table, services=(replace(table.services[0], cross_border=True),))
    r = replace(
        req([Demand(1, "X", 1)], {("X", "JP-1"): 1, ("X", "BD-1"): 1}),
        locations=(tokyo, bonded),
        ship_to=ShipTo("CN", 31.2304, 121.4737),
        trade=trade,
        order_value=Decimal("6000.00"),
    )
    d = route(r, table)
    # JP-1: handling 2 + zone 0 first kg 5 + duty 6000 x 3.5 % = 210 → 217
    assert (d.locations, d.total, d.shipments[0].duty) == (("JP-1",), Decimal("217.00"), Decimal("210.00"))
    assert dict(d.excluded) == {"BD-1": "order value ¥6000.00 over the bonded per-order limit ¥5000.00"}
    d = route(replace(r, order_value=Decimal("4000.00")), table)
    assert (d.locations, d.total) == (("BD-1",), Decimal("7.00"))  # domestic: no duty
