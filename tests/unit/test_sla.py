"""The SLA policy (data, validation, most specific rule) and the engine on the in-memory store with a frozen clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orderloom.adapters.memory_sla import MemorySlaStore
from orderloom.adapters.sla_policy_file import load_sla_policy
from orderloom.application.sla import order_sla_handler, scan_sla
from orderloom.application.sla_ports import SlaInboxFilter
from orderloom.bootstrap import load_lifecycle
from orderloom.domain.lifecycle import Status
from orderloom.domain.sla import SlaDefinitionError, parse_duration

LIFECYCLE = load_lifecycle()
POLICY = load_sla_policy(LIFECYCLE)
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TENANT = "ten_test"


def _z(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def placed(order_id: str, at: datetime, status: str = "pending.awaiting_confirmation", channel: str = "web") -> Any:
    main, sub = status.split(".")
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "source": f"/orderloom/tenants/{TENANT}",
        "type": "orderloom.order.placed",
        "time": _z(at),
        "data": {"order_id": order_id, "channel": channel, "status": {"main": main, "sub": sub}},
    }


def changed(order_id: str, at: datetime, to: str) -> Any:
    main, sub = to.split(".")
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "source": f"/orderloom/tenants/{TENANT}",
        "type": "orderloom.order.status_changed",
        "time": _z(at),
        "data": {"order_id": order_id, "to": {"main": main, "sub": sub}, "from": None, "action": "x"},
    }


# ---- policy -----------------------------------------------------------------------------------------------------


def test_durations() -> None:
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("3d") == timedelta(days=3)
    assert parse_duration(1.5) == timedelta(hours=1.5)
    for bad in ("2 weeks", "-1h", "0h", "h"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_shipped_rules_cover_the_examples_of_the_issue() -> None:
    def within(status: str, **kw: Any) -> float:
        rule = POLICY.rule_for("order", Status.parse(status), kw.get("channel"), kw.get("carrier"))
        assert rule is not None, status
        return rule.within.total_seconds() / 3600

    assert within("confirmed.paid") == 2
    assert within("confirmed.paid", channel="amazon") == 1  # channel override
    assert within("on_hold.manual_review") == 24
    assert within("allocated.reserved") == 12
    assert within("in_transit.in_transit") == 72
    assert within("in_transit.in_transit", carrier="dhl_express") == 48  # carrier override
    assert within("in_transit.customs_clearance", carrier="dhl_express") == 120  # sub-status beats carrier
    assert within("out_for_delivery.with_courier") == 12
    assert POLICY.rule_for("order", Status.parse("closed.completed"), None, None) is None


def test_clock_has_warning_owner_and_an_offered_action() -> None:
    clock = POLICY.clock(
        tenant_id=TENANT,
        kind="order",
        subject_id="ord_1",
        entry_id="evt_1",
        status=Status.parse("on_hold.approval_required"),
        entered_at=T0,
    )
    assert clock.due_at == T0 + timedelta(hours=24)
    assert clock.warn_at == T0 + timedelta(hours=24 * 0.8)
    assert clock.owner == "merchant"  # the sub-status owner from lifecycle.yaml
    assert clock.action == "approve"  # release is not offered in approval_required; approve is
    assert (
        POLICY.clock(
            tenant_id=TENANT,
            kind="order",
            subject_id="ord_1",
            entry_id="evt_2",
            status=Status.parse("on_hold.address_verification"),
            entered_at=T0,
        ).owner
        == "customer"
    )


def test_terminal_status_has_no_deadline() -> None:
    clock = POLICY.clock(
        tenant_id=TENANT,
        kind="order",
        subject_id="ord_1",
        entry_id="e",
        status=Status.parse("closed.cancelled"),
        entered_at=T0,
    )
    assert clock.due_at is None and clock.warn_at is None


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("rules: [{status: shipping, within: 2h, actions: [ship]}]", "unknown status 'shipping'"),
        ("rules: [{status: confirmed.nope, within: 2h, actions: [allocate]}]", "unknown status 'confirmed.nope'"),
        ("rules: [{status: confirmed, within: 2h, actions: [teleport]}]", "unknown action 'teleport'"),
        ("rules: [{status: confirmed, within: 2h, actions: [deliver]}]", "none of the actions ['deliver']"),
        ("rules: [{status: confirmed, within: 2 weeks, actions: [allocate]}]", "duration must look like"),
        ("rules: [{status: confirmed, within: 2h, actions: [allocate], owner: boss}]", "unknown owner 'boss'"),
        ("rules: [{status: closed, within: 2h, actions: []}]", "closed is terminal"),
        ("rules: [{status: confirmed, within: 2h, actions: [allocate], colour: red}]", "unknown keys ['colour']"),
        ("warn_fraction: 1.5\nrules: []", "warn_fraction must be between 0 and 1"),
        ("rules: [{status: confirmed, within: 2h, actions: [allocate], kinds: [parcel]}]", "unknown subject kind"),
        ("- just a list", "must be a mapping"),
        (
            "rules: [{status: confirmed, within: 2h, actions: [allocate]},"
            " {status: confirmed, within: 3h, actions: [allocate]}]",
            "duplicate rule",
        ),
    ],
)
def test_bad_definitions_are_start_up_errors_that_say_what_is_wrong(yaml_text: str, message: str) -> None:
    with pytest.raises(SlaDefinitionError) as info:
        load_sla_policy(LIFECYCLE, yaml_text)
    assert message in str(info.value)


# ---- engine ---------------------------------------------------------------------------------------------------------


def test_breach_and_near_breach_with_a_frozen_clock() -> None:
    store = MemorySlaStore()
    handle = order_sla_handler(store=store, policy=POLICY)
    handle(placed("ord_a", T0, "confirmed.paid"))  # 2 h: warn at 1h36, due at 2h
    handle(placed("ord_b", T0, "on_hold.manual_review"))  # 24 h
    assert scan_sla(store=store, now=T0 + timedelta(minutes=90)).breaches == 0
    warn = scan_sla(store=store, now=T0 + timedelta(minutes=100))
    assert (warn.warnings, warn.breaches) == (1, 0)
    assert warn.flags[0].clock.subject_id == "ord_a" and warn.flags[0].level == "warning"
    breach = scan_sla(store=store, now=T0 + timedelta(hours=2, minutes=5))
    assert (breach.warnings, breach.breaches) == (0, 1)
    flag = breach.flags[0]
    assert flag.clock.owner == "system" and flag.clock.action == "allocate"
    assert flag.overdue_by == timedelta(minutes=5)
    assert [e.type for e in store.events] == ["orderloom.sla.warning", "orderloom.sla.breached"]
    data = store.events[1].data
    assert data["subject"] == {"kind": "order", "id": "ord_a"}
    assert data["overdue_seconds"] == 300 and data["suggested_action"] == "allocate"


def test_no_double_flag_across_scans() -> None:
    store = MemorySlaStore()
    handle = order_sla_handler(store=store, policy=POLICY)
    handle(placed("ord_a", T0, "confirmed.paid"))
    first = scan_sla(store=store, now=T0 + timedelta(days=3))
    assert (first.warnings, first.breaches) == (0, 1)  # scanned late: the breach only, no stale warning
    for hours in (80, 100, 1000):
        again = scan_sla(store=store, now=T0 + timedelta(hours=hours))
        assert (again.warnings, again.breaches) == (0, 0)
    assert len(store.events) == 1


def test_status_change_resolves_the_exception_and_restarts_the_clock() -> None:
    store = MemorySlaStore()
    handle = order_sla_handler(store=store, policy=POLICY)
    handle(placed("ord_a", T0, "confirmed.paid", channel="amazon"))  # amazon: 1 h
    assert scan_sla(store=store, now=T0 + timedelta(hours=1, minutes=1)).breaches == 1
    assert len(store.inbox(TENANT, SlaInboxFilter(), limit=10, cursor=None).items) == 1
    handle(changed("ord_a", T0 + timedelta(hours=3), "allocated.reserved"))  # 12 h from 12:00
    open_items = store.inbox(TENANT, SlaInboxFilter(), limit=10, cursor=None).items
    assert open_items == []
    resolved = store.inbox(TENANT, SlaInboxFilter(open_only=False), limit=10, cursor=None).items
    assert resolved[0].resolved_at == T0 + timedelta(hours=3)
    assert scan_sla(store=store, now=T0 + timedelta(hours=11)).breaches == 0
    late = scan_sla(store=store, now=T0 + timedelta(hours=15, seconds=1))
    assert late.breaches == 1 and late.flags[0].clock.state == "allocated.reserved"
    assert late.flags[0].clock.channel == "amazon"  # the channel follows the order from its placement


def test_terminal_status_clears_the_clock() -> None:
    store = MemorySlaStore()
    handle = order_sla_handler(store=store, policy=POLICY)
    handle(placed("ord_a", T0, "confirmed.paid"))
    handle(changed("ord_a", T0 + timedelta(minutes=30), "closed.cancelled"))
    assert scan_sla(store=store, now=T0 + timedelta(days=30)).breaches == 0
    assert store.events == []


def test_redelivered_or_stale_events_do_not_restart_the_clock() -> None:
    store = MemorySlaStore()
    handle = order_sla_handler(store=store, policy=POLICY)
    first = placed("ord_a", T0, "confirmed.paid")
    handle(first)
    later = changed("ord_a", T0 + timedelta(hours=1), "allocated.reserved")
    handle(later)
    handle(first)  # redelivered out of order: older than the stored entry
    handle(later)  # redelivered: same entry
    clock = store.current(TENANT, "order", "ord_a")
    assert clock is not None and clock.state == "allocated.reserved"
    assert clock.entered_at == T0 + timedelta(hours=1)


def test_worker_scans_on_a_timer_and_survives_a_failing_store() -> None:
    import threading

    from orderloom.application.sla_worker import SlaScanWorker

    store = MemorySlaStore()
    order_sla_handler(store=store, policy=POLICY)(placed("ord_a", T0, "confirmed.paid"))
    seen: list[int] = []
    done = threading.Event()

    def on_summary(summary: Any) -> None:
        seen.append(summary.breaches)
        if len(seen) >= 3:
            done.set()

    worker = SlaScanWorker(store=store, clock=lambda: T0 + timedelta(hours=3), interval=0.01, on_summary=on_summary)
    worker.start()
    assert done.wait(5)
    worker.stop()
    assert seen[:3] == [1, 0, 0]  # flagged once, then nothing more

    class Broken(MemorySlaStore):
        def flag_due(self, now: datetime, *, limit: int) -> list[Any]:
            raise RuntimeError("database is locked")

    broken = SlaScanWorker(store=Broken(), clock=lambda: T0, interval=0.01)
    broken.start()
    for _ in range(500):
        if broken.failures >= 2:
            break
        threading.Event().wait(0.01)
    broken.stop()
    assert broken.failures >= 2 and broken.scans == 0
