"""The order lifecycle built from data: the real lifecycle.yaml, random walks over it, and broken definitions."""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from orderloom.bootstrap import load_lifecycle
from orderloom.domain.errors import IllegalTransition, LifecycleDefinitionError
from orderloom.domain.lifecycle import MAIN_STATUSES, GuardContext, Lifecycle, Status

RAW: dict[str, Any] = yaml.safe_load(
    resources.files("orderloom.data").joinpath("lifecycle.yaml").read_text(encoding="utf-8")
)
LIFECYCLE = load_lifecycle()
ALL_STATUSES = LIFECYCLE.all_statuses()
ACTION_NAMES = sorted(LIFECYCLE.actions)

EXPECTED_MAIN = [
    "pending",
    "confirmed",
    "on_hold",
    "allocated",
    "fulfilling",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "delivery_issue",
    "returning",
    "closed",
]


def ctx(params: Mapping[str, Any] | None = None, *, payment: str = "pending", balance_due: bool = True) -> GuardContext:
    return GuardContext(payment_status=payment, balance_due=balance_due, params=params or {})


def definition() -> dict[str, Any]:
    """A fresh deep copy of the real YAML definition, to mutate."""
    return copy.deepcopy(RAW)


def raw_action(d: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in d["actions"] if a["name"] == name)


def raw_main(d: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in d["statuses"] if m["name"] == name)


def path_to(start: Status, goal: Callable[[Status], bool]) -> list[str]:
    """Shortest list of actions from ``start`` to a status matching ``goal``, using unguarded transitions only."""
    queue: deque[tuple[Status, list[str]]] = deque([(start, [])])
    seen = {start}
    while queue:
        status, actions = queue.popleft()
        if goal(status):
            return actions
        for action in LIFECYCLE.actions.values():
            for t in action.transitions:
                if t.guard is None and t.applies_to(status) and t.target not in seen:
                    seen.add(t.target)
                    queue.append((t.target, [*actions, action.name]))
    raise AssertionError(f"no path from {start}")


def walk(start: Status, actions: list[str]) -> Status:
    status = start
    for action in actions:
        status = LIFECYCLE.next_status(order_id="ord_1", current=status, action=action, ctx=ctx())
    return status


# ---- the real file ------------------------------------------------------------------------------------------


def test_exactly_the_twelve_main_statuses_in_order() -> None:
    assert [m.name for m in LIFECYCLE.statuses] == EXPECTED_MAIN
    assert list(MAIN_STATUSES) == EXPECTED_MAIN


def test_main_statuses_have_a_meaning_and_a_known_owner() -> None:
    for main in LIFECYCLE.statuses:
        assert main.meaning.strip(), main.name
        assert main.owner in LIFECYCLE.owners, main.name
        assert main.substatuses, f"{main.name} has no sub-status"


def test_at_least_41_sub_statuses_each_with_meaning_and_known_owner() -> None:
    subs = [(m.name, s) for m in LIFECYCLE.statuses for s in m.substatuses]
    assert len(subs) >= 41
    assert len(ALL_STATUSES) == len(subs)
    assert len({str(s) for s in ALL_STATUSES}) == len(subs), "duplicate sub-status"
    for main, sub in subs:
        assert sub.meaning.strip(), f"{main}.{sub.name}"
        assert sub.owner in LIFECYCLE.owners, f"{main}.{sub.name}"


def test_owners_are_the_five_parties() -> None:
    assert LIFECYCLE.owners == ("customer", "merchant", "warehouse", "carrier", "system")


@pytest.mark.parametrize("status", ALL_STATUSES, ids=str)
def test_every_offered_action_has_a_transition_from_that_status(status: Status) -> None:
    offered = LIFECYCLE.offered_actions(status)
    available = LIFECYCLE.available_actions(status)
    for name in offered:
        assert name in LIFECYCLE.actions, f"{status} offers unknown {name}"
        assert any(t.applies_to(status) for t in LIFECYCLE.actions[name].transitions)
        assert name in available


@pytest.mark.parametrize("status", [s for s in ALL_STATUSES if s.main != "closed"], ids=str)
def test_open_statuses_offer_something_and_can_reach_closed(status: Status) -> None:
    assert LIFECYCLE.offered_actions(status), f"{status} is a dead end"
    assert path_to(status, lambda s: s.main == "closed")


def test_entry_statuses_start_with_the_defaults() -> None:
    entry = [str(s) for s in LIFECYCLE.entry]
    assert entry[:2] == ["pending.awaiting_payment", "pending.awaiting_confirmation"]
    assert all(LIFECYCLE.has_status(s) for s in LIFECYCLE.entry)


def test_as_document_mirrors_the_data() -> None:
    doc = LIFECYCLE.as_document()
    assert [m["name"] for m in doc["statuses"]] == EXPECTED_MAIN
    assert len(doc["actions"]) == len(RAW["actions"])
    confirm = next(a for a in doc["actions"] if a["name"] == "confirm")
    assert confirm["transitions"] == [{"from": ["pending"], "to": "confirmed.validated", "guard": None}]


def test_status_parse_and_str() -> None:
    assert Status.parse("pending.awaiting_payment") == Status("pending", "awaiting_payment")
    assert str(Status("closed", "completed")) == "closed.completed"
    for bad in ["pending", ".x", "pending.", ""]:
        with pytest.raises(ValueError, match=r"main\.sub"):
            Status.parse(bad)


# ---- random walks -------------------------------------------------------------------------------------------


def _declared_source(sources: list[str], status: Status) -> bool:
    return status.main in sources or f"{status.main}.{status.sub}" in sources


def _guard_passes(guard: str | None, context: GuardContext) -> bool:
    if guard is None:
        return True
    if guard == "reason_given":
        reason = context.params.get("reason")
        return isinstance(reason, str) and bool(reason.strip())
    assert guard == "payment_complete"
    return not context.balance_due


def _raw_outcome(status: Status, action: str, context: GuardContext) -> str | None:
    """What the YAML says: the first declared transition from ``status`` whose guard passes, else None."""
    for a in RAW["actions"]:
        if a["name"] != action:
            continue
        for t in a["transitions"]:
            if _declared_source(t["from"], status) and _guard_passes(t.get("guard"), context):
                return str(t["to"])
    return None


ANY_ACTION = st.sampled_from([*ACTION_NAMES, "teleport"])
PARAMS = st.sampled_from([{}, {"reason": "x"}, {"reason": "  "}])


@settings(max_examples=200, deadline=None)
@given(start=st.sampled_from(LIFECYCLE.entry), data=st.data())
def test_random_action_sequences_follow_declared_transitions(start: Status, data: st.DataObject) -> None:
    status = start
    for _ in range(data.draw(st.integers(min_value=0, max_value=40), label="steps")):
        # half the time any action name at all, half the time one the status has a transition for (to go deep)
        available = LIFECYCLE.available_actions(status)
        action = data.draw(st.one_of(ANY_ACTION, st.sampled_from(available)) if available else ANY_ACTION)
        params = data.draw(PARAMS)
        context = ctx(params, balance_due=data.draw(st.booleans(), label="balance_due"))
        expected = _raw_outcome(status, action, context)
        try:
            target = LIFECYCLE.next_status(order_id="ord_1", current=status, action=action, ctx=context)
        except IllegalTransition as exc:
            assert expected is None, f"{action} from {status} refused but the data allows {expected}"
            assert exc.action == action
            assert exc.current == str(status)
            assert str(exc).startswith(f"can't {action} order ord_1: it is {status.main} ({status})")
            continue
        assert LIFECYCLE.has_status(target)
        assert str(target) == expected
        assert any(t.applies_to(status) and t.target == target for t in LIFECYCLE.actions[action].transitions), (
            f"({status}, {action}, {target}) is not declared"
        )
        assert target in LIFECYCLE.targets_from(status)
        status = target


# ---- closed is terminal, illegal transitions --------------------------------------------------------------


@pytest.mark.parametrize("status", [s for s in ALL_STATUSES if s.main == "closed"], ids=str)
def test_closed_is_terminal(status: Status) -> None:
    assert LIFECYCLE.offered_actions(status) == ()
    assert LIFECYCLE.available_actions(status) == []
    assert LIFECYCLE.targets_from(status) == []
    for action in ACTION_NAMES:
        for params in ({}, {"reason": "x"}):
            with pytest.raises(IllegalTransition):
                LIFECYCLE.next_status(
                    order_id="ord_1", current=status, action=action, ctx=ctx(params, payment="paid", balance_due=False)
                )


def test_illegal_transition_names_order_action_and_main_status() -> None:
    with pytest.raises(IllegalTransition) as info:
        LIFECYCLE.next_status(order_id="ord_1", current=Status("closed", "completed"), action="confirm", ctx=ctx())
    assert str(info.value) == "can't confirm order ord_1: it is closed (closed.completed)"
    assert info.value.order_id == "ord_1"
    assert info.value.action == "confirm"
    assert info.value.current == "closed.completed"


def test_illegal_transition_from_an_open_status() -> None:
    with pytest.raises(IllegalTransition, match=r"^can't ship order ord_9: it is on_hold \(on_hold.manual_review\)$"):
        LIFECYCLE.next_status(order_id="ord_9", current=Status("on_hold", "manual_review"), action="ship", ctx=ctx())


def test_unknown_action_is_an_illegal_transition() -> None:
    with pytest.raises(IllegalTransition, match="unknown action 'teleport'"):
        LIFECYCLE.next_status(
            order_id="ord_1", current=Status("pending", "awaiting_payment"), action="teleport", ctx=ctx()
        )


def test_main_status_source_covers_every_sub_status() -> None:
    for sub in ("awaiting_payment", "awaiting_deposit", "partially_paid", "awaiting_confirmation"):
        assert LIFECYCLE.next_status(
            order_id="o", current=Status("pending", sub), action="confirm", ctx=ctx()
        ) == Status("confirmed", "validated")


# ---- guards -------------------------------------------------------------------------------------------------


def test_write_off_needs_a_reason() -> None:
    start = LIFECYCLE.entry[0]
    route = path_to(start, lambda s: s.main == "delivery_issue")
    issue = walk(start, route)
    assert issue.main == "delivery_issue"
    for params in ({}, {"reason": ""}, {"reason": "   "}, {"reason": 42}):
        with pytest.raises(IllegalTransition, match=r"it is delivery_issue .*a non-empty 'reason' is required"):
            LIFECYCLE.next_status(order_id="ord_1", current=issue, action="write_off", ctx=ctx(params))
    target = LIFECYCLE.next_status(order_id="ord_1", current=issue, action="write_off", ctx=ctx({"reason": "lost"}))
    assert target == Status("closed", "written_off")


@pytest.mark.parametrize("sub", ["manual_review", "validation_failed", "risk_review"])
def test_reject_needs_a_reason(sub: str) -> None:
    current = Status("on_hold", sub)
    with pytest.raises(IllegalTransition, match="reason"):
        LIFECYCLE.next_status(order_id="o", current=current, action="reject", ctx=ctx())
    assert LIFECYCLE.next_status(
        order_id="o", current=current, action="reject", ctx=ctx({"reason": "fraud"})
    ) == Status("closed", "rejected")


def test_capture_payment_needs_the_balance_paid() -> None:
    current = Status("pending", "awaiting_payment")
    with pytest.raises(IllegalTransition, match="payment is authorized, not complete"):
        LIFECYCLE.next_status(
            order_id="o", current=current, action="capture_payment", ctx=ctx(payment="authorized", balance_due=True)
        )
    target = LIFECYCLE.next_status(
        order_id="o", current=current, action="capture_payment", ctx=ctx(payment="paid", balance_due=False)
    )
    assert target == Status("confirmed", "paid")


# ---- broken definitions -------------------------------------------------------------------------------------


def test_the_unmodified_copy_builds() -> None:
    lifecycle = Lifecycle.from_definition(definition())
    assert lifecycle.as_document() == LIFECYCLE.as_document()


def _unknown_target(d: dict[str, Any]) -> None:
    raw_action(d, "confirm")["transitions"][0]["to"] = "confirmed.nowhere"


def _unknown_guard(d: dict[str, Any]) -> None:
    raw_action(d, "write_off")["transitions"][0]["guard"] = "moon_is_full"


def _unreachable_sub_status(d: dict[str, Any]) -> None:
    raw_main(d, "on_hold")["substatuses"].append(
        {"name": "limbo", "meaning": "Nobody gets here", "owner": "merchant", "actions": ["release"]}
    )


def _offered_action_without_transition(d: dict[str, Any]) -> None:
    raw_main(d, "pending")["substatuses"][0]["actions"].append("deliver")


def _offered_unknown_action(d: dict[str, Any]) -> None:
    raw_main(d, "pending")["substatuses"][0]["actions"].append("teleport")


def _unknown_source(d: dict[str, Any]) -> None:
    raw_action(d, "confirm")["transitions"][0]["from"] = ["pending", "limbo.somewhere"]


def _transition_out_of_closed(d: dict[str, Any]) -> None:
    raw_action(d, "close")["transitions"][0]["from"] = ["delivered", "closed.refunded"]


def _unknown_owner(d: dict[str, Any]) -> None:
    raw_main(d, "returning")["substatuses"][0]["owner"] = "courier"


def _undeclared_entry(d: dict[str, Any]) -> None:
    d["entry"].append("pending.limbo")


BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "unknown target": (_unknown_target, "action confirm: unknown target confirmed.nowhere"),
    "unknown guard": (_unknown_guard, "action write_off: unknown guard 'moon_is_full'"),
    "unreachable sub-status": (_unreachable_sub_status, "on_hold.limbo is unreachable from the entry statuses"),
    "offered action with no transition": (
        _offered_action_without_transition,
        "pending.awaiting_payment offers 'deliver' but 'deliver' has no transition from it",
    ),
    "offered unknown action": (_offered_unknown_action, "pending.awaiting_payment offers unknown action 'teleport'"),
    "unknown source": (_unknown_source, "action confirm: unknown source 'limbo.somewhere'"),
    "transition out of closed": (_transition_out_of_closed, "action close: closed is terminal"),
    "unknown owner": (_unknown_owner, "returning.return_requested: unknown owner 'courier'"),
    "undeclared entry": (_undeclared_entry, "entry status pending.limbo is not declared"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_definition_is_refused(case: str) -> None:
    mutate, problem = BROKEN[case]
    d = definition()
    mutate(d)
    with pytest.raises(LifecycleDefinitionError) as info:
        Lifecycle.from_definition(d)
    assert str(info.value).startswith("invalid lifecycle: ")
    assert problem in str(info.value)


def test_all_problems_are_reported_together() -> None:
    d = definition()
    _unknown_target(d)
    _unknown_guard(d)
    _unknown_owner(d)
    with pytest.raises(LifecycleDefinitionError) as info:
        Lifecycle.from_definition(d)
    for _, problem in (BROKEN["unknown target"], BROKEN["unknown guard"], BROKEN["unknown owner"]):
        assert problem in str(info.value)


def _renamed(d: dict[str, Any]) -> None:
    raw_main(d, "on_hold")["name"] = "held"


def _reordered(d: dict[str, Any]) -> None:
    d["statuses"][0], d["statuses"][1] = d["statuses"][1], d["statuses"][0]


def _dropped(d: dict[str, Any]) -> None:
    d["statuses"] = [m for m in d["statuses"] if m["name"] != "returning"]


def _extra(d: dict[str, Any]) -> None:
    d["statuses"].append({"name": "archived", "meaning": "x", "owner": "system", "substatuses": []})


@pytest.mark.parametrize("mutate", [_renamed, _reordered, _dropped, _extra], ids=lambda f: f.__name__.strip("_"))
def test_wrong_main_status_names_are_refused(mutate: Callable[[dict[str, Any]], None]) -> None:
    d = definition()
    mutate(d)
    with pytest.raises(LifecycleDefinitionError, match="main statuses must be exactly"):
        Lifecycle.from_definition(d)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("owners"),
        lambda d: d.pop("entry"),
        lambda d: raw_action(d, "confirm").pop("transitions"),
        lambda d: raw_action(d, "confirm")["transitions"][0].update(to="no_dot_here"),
        lambda d: raw_main(d, "pending")["substatuses"][0].pop("meaning"),
    ],
    ids=["no owners", "no entry", "no transitions", "target not main.sub", "sub-status without meaning"],
)
def test_malformed_definition_is_refused(mutate: Callable[[dict[str, Any]], object]) -> None:
    d = definition()
    mutate(d)
    with pytest.raises(LifecycleDefinitionError, match="malformed lifecycle definition"):
        Lifecycle.from_definition(d)
