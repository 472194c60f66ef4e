"""The order lifecycle: 12 main statuses, their sub-statuses and the allowed transitions, built from data.

The definition is a plain mapping (read from ``data/lifecycle.yaml`` by the composition root) and is validated
when built: unknown targets, unknown guards, unreachable statuses and offered actions without a transition are
start-up errors.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orderloom.domain.errors import IllegalTransition, LifecycleDefinitionError

__all__ = [
    "MAIN_STATUSES",
    "Action",
    "Guard",
    "GuardContext",
    "Lifecycle",
    "MainStatus",
    "Status",
    "SubStatus",
    "Transition",
]

MAIN_STATUSES = (
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
)


@dataclass(frozen=True, slots=True)
class Status:
    """A main status and one of its sub-statuses."""

    main: str
    sub: str

    @classmethod
    def parse(cls, text: str) -> Status:
        """``"pending.awaiting_payment"`` → Status."""
        main, sep, sub = text.partition(".")
        if not sep or not main or not sub:
            raise ValueError(f"status must be 'main.sub', got {text!r}")
        return cls(main, sub)

    def __str__(self) -> str:
        return f"{self.main}.{self.sub}"


@dataclass(frozen=True, slots=True)
class GuardContext:
    """What a guard may look at: the order's payment state and the action's parameters."""

    payment_status: str
    balance_due: bool
    params: Mapping[str, Any]


Guard = Callable[[GuardContext], str | None]
"""A guard returns None when the transition may happen, else the reason it may not."""


def _reason_given(ctx: GuardContext) -> str | None:
    reason = ctx.params.get("reason")
    return None if isinstance(reason, str) and reason.strip() else "a non-empty 'reason' is required"


def _payment_complete(ctx: GuardContext) -> str | None:
    return None if not ctx.balance_due else f"payment is {ctx.payment_status}, not complete"


GUARDS: Mapping[str, Guard] = {"reason_given": _reason_given, "payment_complete": _payment_complete}


@dataclass(frozen=True, slots=True)
class SubStatus:
    """A sub-status: what it means, who must act next, and the actions offered to an operator."""

    name: str
    meaning: str
    owner: str
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MainStatus:
    """One of the 12 main statuses with its sub-statuses."""

    name: str
    meaning: str
    owner: str
    substatuses: tuple[SubStatus, ...]


@dataclass(frozen=True, slots=True)
class Transition:
    """From a set of statuses, an action leads to one status, if the guard allows."""

    sources: frozenset[str]  # "main" (any sub) or "main.sub"
    target: Status
    guard: str | None

    def applies_to(self, status: Status) -> bool:
        """True if this transition starts from ``status``."""
        return status.main in self.sources or str(status) in self.sources


@dataclass(frozen=True, slots=True)
class Action:
    """A named command an operator or the system applies to an order."""

    name: str
    label: str
    description: str
    operator: bool
    transitions: tuple[Transition, ...]


@dataclass(frozen=True)
class Lifecycle:
    """The validated state machine."""

    statuses: tuple[MainStatus, ...]
    actions: Mapping[str, Action]
    entry: tuple[Status, ...]
    owners: tuple[str, ...]
    _subs: dict[str, SubStatus] = field(default_factory=dict, repr=False)

    # ---- construction -------------------------------------------------------------------------------------
    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> Lifecycle:
        """Build and validate a lifecycle from its data definition."""
        try:
            owners = tuple(definition["owners"])
            statuses = tuple(_main_status(m) for m in definition["statuses"])
            actions = {a["name"]: _action(a) for a in definition["actions"]}
            entry = tuple(Status.parse(s) for s in definition["entry"])
        except (KeyError, TypeError, ValueError) as exc:
            raise LifecycleDefinitionError(f"malformed lifecycle definition: {exc!r}") from exc
        subs = {f"{m.name}.{s.name}": s for m in statuses for s in m.substatuses}
        lifecycle = cls(statuses=statuses, actions=actions, entry=entry, owners=owners, _subs=subs)
        lifecycle._validate()
        return lifecycle

    def _validate(self) -> None:
        names = tuple(m.name for m in self.statuses)
        if names != MAIN_STATUSES:
            raise LifecycleDefinitionError(f"main statuses must be exactly {MAIN_STATUSES}, got {names}")
        problems: list[str] = []
        problems += self._owner_problems()
        problems += self._transition_problems()
        problems += self._offered_action_problems()
        problems += self._reachability_problems()
        if problems:
            raise LifecycleDefinitionError("invalid lifecycle: " + "; ".join(problems))

    def _owner_problems(self) -> list[str]:
        out = [f"{m.name}: unknown owner {m.owner!r}" for m in self.statuses if m.owner not in self.owners]
        out += [f"{key}: unknown owner {s.owner!r}" for key, s in self._subs.items() if s.owner not in self.owners]
        return out

    def _transition_problems(self) -> list[str]:
        out: list[str] = []
        mains = set(MAIN_STATUSES)
        for action in self.actions.values():
            for t in action.transitions:
                if str(t.target) not in self._subs:
                    out.append(f"action {action.name}: unknown target {t.target}")
                out += [
                    f"action {action.name}: unknown source {s!r}"
                    for s in sorted(t.sources)
                    if s not in mains and s not in self._subs
                ]
                if t.guard is not None and t.guard not in GUARDS:
                    out.append(f"action {action.name}: unknown guard {t.guard!r}")
                if "closed" in t.sources or any(s.startswith("closed.") for s in t.sources):
                    out.append(f"action {action.name}: closed is terminal")
        out += [f"entry status {s} is not declared" for s in self.entry if str(s) not in self._subs]
        return out

    def _offered_action_problems(self) -> list[str]:
        out: list[str] = []
        for key, sub in self._subs.items():
            status = Status.parse(key)
            for name in sub.actions:
                action = self.actions.get(name)
                if action is None:
                    out.append(f"{key} offers unknown action {name!r}")
                elif not any(t.applies_to(status) for t in action.transitions):
                    out.append(f"{key} offers {name!r} but {name!r} has no transition from it")
        return out

    def _reachability_problems(self) -> list[str]:
        seen = {str(s) for s in self.entry}
        queue = deque(self.entry)
        while queue:
            status = queue.popleft()
            for target in self.targets_from(status):
                if str(target) not in seen:
                    seen.add(str(target))
                    queue.append(target)
        return [f"{key} is unreachable from the entry statuses" for key in self._subs if key not in seen]

    # ---- queries --------------------------------------------------------------------------------------------
    def has_status(self, status: Status) -> bool:
        """True if the status is declared."""
        return str(status) in self._subs

    def substatus(self, status: Status) -> SubStatus:
        """The declared sub-status (KeyError if undeclared)."""
        return self._subs[str(status)]

    def all_statuses(self) -> list[Status]:
        """Every declared main.sub status, in file order."""
        return [Status.parse(k) for k in self._subs]

    def targets_from(self, status: Status) -> list[Status]:
        """Every status some action can lead to from ``status`` (guards ignored)."""
        return [t.target for a in self.actions.values() for t in a.transitions if t.applies_to(status)]

    def available_actions(self, status: Status) -> list[str]:
        """Names of actions with a transition from ``status``."""
        return [a.name for a in self.actions.values() if any(t.applies_to(status) for t in a.transitions)]

    def offered_actions(self, status: Status) -> tuple[str, ...]:
        """The actions the data offers an operator in ``status``."""
        return self._subs[str(status)].actions

    def next_status(self, *, order_id: str, current: Status, action: str, ctx: GuardContext) -> Status:
        """The status ``action`` leads to from ``current``; IllegalTransition if none or a guard refuses."""
        definition = self.actions.get(action)
        if definition is None:
            raise IllegalTransition(
                order_id=order_id, action=action, current=str(current), reason=f"unknown action {action!r}"
            )
        refusal: str | None = None
        for t in definition.transitions:
            if not t.applies_to(current):
                continue
            refusal = GUARDS[t.guard](ctx) if t.guard else None
            if refusal is None:
                return t.target
        raise IllegalTransition(order_id=order_id, action=action, current=str(current), reason=refusal)

    def as_document(self) -> dict[str, Any]:
        """The taxonomy as a JSON-ready document (what ``GET /v1/statuses`` returns)."""
        return {
            "owners": list(self.owners),
            "entry": [str(s) for s in self.entry],
            "statuses": [
                {
                    "name": m.name,
                    "meaning": m.meaning,
                    "owner": m.owner,
                    "substatuses": [
                        {"name": s.name, "meaning": s.meaning, "owner": s.owner, "actions": list(s.actions)}
                        for s in m.substatuses
                    ],
                }
                for m in self.statuses
            ],
            "actions": [
                {
                    "name": a.name,
                    "label": a.label,
                    "description": a.description,
                    "operator": a.operator,
                    "transitions": [
                        {"from": sorted(t.sources), "to": str(t.target), "guard": t.guard} for t in a.transitions
                    ],
                }
                for a in self.actions.values()
            ],
        }


def _main_status(raw: Mapping[str, Any]) -> MainStatus:
    subs = tuple(
        SubStatus(
            name=str(s["name"]),
            meaning=str(s["meaning"]),
            owner=str(s["owner"]),
            actions=tuple(str(a) for a in s.get("actions") or ()),
        )
        for s in raw["substatuses"]
    )
    return MainStatus(name=str(raw["name"]), meaning=str(raw["meaning"]), owner=str(raw["owner"]), substatuses=subs)


def _action(raw: Mapping[str, Any]) -> Action:
    transitions = tuple(
        Transition(
            sources=frozenset(str(s) for s in t["from"]),
            target=Status.parse(str(t["to"])),
            guard=t.get("guard"),
        )
        for t in raw["transitions"]
    )
    return Action(
        name=str(raw["name"]),
        label=str(raw.get("label") or raw["name"].replace("_", " ").capitalize()),
        description=str(raw.get("description", "")),
        operator=bool(raw.get("operator", True)),
        transitions=transitions,
    )
