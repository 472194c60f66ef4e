"""Fulfilment orders: what one location must pick, pack and ship (or hand over) for an order, and how far it got.

The state machine is data (``data/fulfilment.yaml``). Quantities only move forward and never past what was released:
for every line, picked, packed and shipped each stay within ``quantity - cancelled``, so shipped <= released <= ordered.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from orderloom.domain.errors import DomainError, FieldError, ValidationFailed
from orderloom.domain.lifecycle import Lifecycle, Status

__all__ = [
    "CONFIRMATION_TYPES",
    "ORDER_ACTIONS",
    "CancelNotPossible",
    "Confirmation",
    "ConfirmationReplayConflict",
    "FoKind",
    "FoLine",
    "FulfilmentMachine",
    "FulfilmentMachineError",
    "FulfilmentNotFound",
    "FulfilmentOrder",
    "FulfilmentOrderClosed",
    "IllegalFoTransition",
    "OverConfirmation",
    "Package",
    "PickupCodeMismatch",
    "UnitsNotReserved",
    "WaveNotFound",
    "code_digest",
    "next_cutoff",
    "order_path",
    "order_target",
    "plan_wave",
]

CONFIRMATION_TYPES = ("picked", "packed", "shipped")
# lifecycle actions the fulfilment flow may apply to an order, in the order it would apply them
ORDER_ACTIONS = ("start_fulfilment", "pick", "pack", "ship_partial", "ship", "ready_for_pickup", "collect")
_RANK = {
    "fulfilling.released_to_warehouse": 1,
    "fulfilling.picking": 2,
    "fulfilling.packed": 3,
    "fulfilling.partially_shipped": 4,
    "shipped.handed_to_carrier": 5,
    "delivered.collected": 6,
}
_CLOSED = frozenset({"cancelled", "rejected"})


class FoKind(StrEnum):
    """How the goods leave the location: shipped by a carrier, or collected (BOPIS; ROPO = pay at the counter)."""

    SHIP = "ship"
    BOPIS = "bopis"
    ROPO = "ropo"


class FulfilmentMachineError(ValueError):
    """``data/fulfilment.yaml`` is malformed."""


class IllegalFoTransition(DomainError):
    """The fulfilment-order state machine refuses the action from the current state."""

    def __init__(self, fo_id: str, action: str, current: str) -> None:
        self.fo_id = fo_id
        self.action = action
        self.current = current
        super().__init__(f"can't {action.replace('_', ' ')} fulfilment order {fo_id}: it is {current}")


class FulfilmentNotFound(DomainError):
    """No such fulfilment order for this tenant."""

    def __init__(self, fo_id: str) -> None:
        self.fo_id = fo_id
        super().__init__(f"fulfilment order {fo_id} not found")


class WaveNotFound(DomainError):
    """No such wave for this tenant."""

    def __init__(self, wave_id: str) -> None:
        self.wave_id = wave_id
        super().__init__(f"wave {wave_id} not found")


class FulfilmentOrderClosed(DomainError):
    """A confirmation for a fulfilment order that can no longer change (cancelled, rejected, shipped, or waiting for
    a cancellation answer)."""

    def __init__(self, fo_id: str, status: str) -> None:
        self.fo_id = fo_id
        self.status = status
        super().__init__(f"fulfilment order {fo_id} is {status}: it takes no more confirmations")


class OverConfirmation(DomainError):
    """More units confirmed for a line than were released to the location (and not cancelled)."""

    def __init__(self, fo_id: str, line_no: int, kind: str, requested: int, already: int, released: int) -> None:
        self.fo_id = fo_id
        self.line_no = line_no
        self.kind = kind
        self.requested = requested
        self.already = already
        self.released = released
        super().__init__(
            f"fulfilment order {fo_id} line {line_no}: {kind} {requested} more but {already} already {kind} "
            f"of {released} released"
        )


class ConfirmationReplayConflict(DomainError):
    """An event id already used for a different confirmation."""

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        super().__init__(f"event {event_id} was already applied with different content")


class CancelNotPossible(DomainError):
    """The goods already left: a cancellation must become a return."""

    def __init__(self, fo_id: str, reason: str) -> None:
        self.fo_id = fo_id
        super().__init__(f"can't cancel fulfilment order {fo_id}: {reason}")


class UnitsNotReserved(DomainError):
    """Shipped units whose reservations are gone (e.g. the order was cancelled behind the location's back)."""

    def __init__(self, fo_id: str, confirmed: int, reserved: int) -> None:
        self.fo_id = fo_id
        self.confirmed = confirmed
        self.reserved = reserved
        super().__init__(
            f"fulfilment order {fo_id}: {confirmed} unit(s) confirmed shipped but only {reserved} still reserved "
            "(was the order cancelled?)"
        )


class PickupCodeMismatch(DomainError):
    """The pickup code given at the counter is not the one issued."""

    def __init__(self, fo_id: str) -> None:
        self.fo_id = fo_id
        super().__init__(f"the pickup code does not match fulfilment order {fo_id}")


@dataclass(frozen=True, slots=True)
class _State:
    name: str
    meaning: str
    terminal: bool


@dataclass(frozen=True)
class FulfilmentMachine:
    """The validated fulfilment-order state machine."""

    states: Mapping[str, _State]
    actions: Mapping[str, tuple[frozenset[str], str]]

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> FulfilmentMachine:
        """Build and check the machine from its data."""
        try:
            states = {s["name"]: _State(s["name"], s["meaning"], bool(s.get("terminal"))) for s in definition["states"]}
            actions = {a["name"]: (frozenset(a["from"]), str(a["to"])) for a in definition["actions"]}
        except (KeyError, TypeError) as exc:
            raise FulfilmentMachineError(f"malformed fulfilment machine: {exc!r}") from exc
        problems = [
            f"action {name}: unknown state {s!r}"
            for name, (sources, target) in actions.items()
            for s in sorted(sources | {target})
            if s not in states
        ]
        problems += [
            f"action {name} leaves terminal state {s}"
            for name, (sources, _) in actions.items()
            for s in sorted(sources)
            if s in states and states[s].terminal
        ]
        if "open" not in states:
            problems.append("no 'open' state")
        if problems:
            raise FulfilmentMachineError("invalid fulfilment machine: " + "; ".join(problems))
        return cls(states, actions)

    def next(self, fo_id: str, current: str, action: str) -> str:
        """The state ``action`` leads to from ``current``; IllegalFoTransition if none."""
        sources, target = self.actions.get(action, (frozenset(), ""))
        if current not in sources:
            raise IllegalFoTransition(fo_id, action, current)
        return target

    def allows(self, current: str, action: str) -> bool:
        """True if ``action`` applies in ``current``."""
        return current in self.actions.get(action, (frozenset(), ""))[0]

    def terminal(self, state: str) -> bool:
        """True if nothing more happens to a fulfilment order in ``state``."""
        return self.states[state].terminal


@dataclass(frozen=True, slots=True)
class Package:
    """A parcel handed to a carrier."""

    weight_kg: float | None = None
    dimensions_cm: tuple[float, float, float] | None = None
    carrier: str | None = None
    service: str | None = None
    tracking_number: str | None = None


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A WMS/store message: units of lines picked, packed or shipped (with packages when shipped)."""

    event_id: str
    type: str
    lines: tuple[tuple[int, int], ...]
    packages: tuple[Package, ...] = ()

    def check(self) -> None:
        """ValidationFailed when the message is malformed on its face."""
        errors: list[FieldError] = []
        if not self.event_id.strip() or len(self.event_id) > 128:
            errors.append(FieldError("event_id", "1-128 characters"))
        if self.type not in CONFIRMATION_TYPES:
            errors.append(FieldError("type", f"one of {', '.join(CONFIRMATION_TYPES)}"))
        if not self.lines:
            errors.append(FieldError("lines", "at least one line"))
        errors += [FieldError(f"lines[{i}].quantity", "more than 0") for i, (_, q) in enumerate(self.lines) if q <= 0]
        if self.type == "shipped" and not any(p.tracking_number for p in self.packages):
            errors.append(FieldError("packages", "a shipped confirmation needs a package with a tracking number"))
        if errors:
            raise ValidationFailed(errors)

    def totals(self) -> dict[int, int]:
        """Units per line number (a line named twice counts twice)."""
        out: dict[int, int] = {}
        for line_no, q in self.lines:
            out[line_no] = out.get(line_no, 0) + q
        return out

    def digest(self) -> str:
        """A fingerprint of the content, to tell a replay from a reused event id."""
        packages = [(p.weight_kg, p.dimensions_cm, p.carrier, p.service, p.tracking_number) for p in self.packages]
        return hashlib.sha256(repr((self.type, sorted(self.lines), packages)).encode()).hexdigest()


@dataclass(slots=True)
class FoLine:
    """One order line's units at this location, and how far they got."""

    line_no: int
    sku: str
    quantity: int
    picked: int = 0
    packed: int = 0
    shipped: int = 0
    cancelled: int = 0

    @property
    def active(self) -> int:
        """Units released and not cancelled."""
        return self.quantity - self.cancelled

    @property
    def open(self) -> int:
        """Units still to ship (or cancel)."""
        return self.active - self.shipped

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "line_no": self.line_no,
            "sku": self.sku,
            "quantity": self.quantity,
            "picked": self.picked,
            "packed": self.packed,
            "shipped": self.shipped,
            "cancelled": self.cancelled,
        }


@dataclass(slots=True, kw_only=True)
class FulfilmentOrder:
    """An order's lines at one location, released to it in a wave and confirmed back."""

    id: str
    tenant_id: str
    order_id: str
    location_id: str
    kind: FoKind
    status: str
    lines: list[FoLine]
    created_at: datetime
    updated_at: datetime
    service_level: str = "standard"
    ship_by: datetime | None = None
    notes: dict[str, str] = field(default_factory=dict)
    wave_id: str | None = None
    released_at: datetime | None = None
    pickup_code_hash: str | None = None
    pickup_expires_at: datetime | None = None
    before_cancel: str | None = None
    cancel_lines: dict[int, int] = field(default_factory=dict)
    version: int = 1

    def line(self, line_no: int) -> FoLine:
        """The line with that number; ValidationFailed if the FO has none."""
        for ln in self.lines:
            if ln.line_no == line_no:
                return ln
        raise ValidationFailed([FieldError("lines.line_no", f"fulfilment order {self.id} has no line {line_no}")])

    def move(self, machine: FulfilmentMachine, action: str, now: datetime) -> str:
        """Apply a state-machine action; returns the new state."""
        self.status = machine.next(self.id, self.status, action)
        self.updated_at = now
        return self.status

    def confirm(self, machine: FulfilmentMachine, c: Confirmation, now: datetime) -> str:
        """Count a confirmation's units (OverConfirmation naming the figures if too many) and move the state."""
        if machine.terminal(self.status) or self.status in ("open", "cancel_requested"):
            raise FulfilmentOrderClosed(self.id, self.status)
        totals = c.totals()
        for line_no, q in sorted(totals.items()):
            ln = self.line(line_no)
            already = getattr(ln, c.type)
            if already + q > ln.active:
                raise OverConfirmation(self.id, line_no, c.type, q, already, ln.active)
        for line_no, q in totals.items():
            ln = self.line(line_no)
            setattr(ln, c.type, getattr(ln, c.type) + q)
        action = self._action_for(c.type)
        if not machine.allows(self.status, action):  # undo the counts: a refused confirmation changes nothing
            for line_no, q in totals.items():
                ln = self.line(line_no)
                setattr(ln, c.type, getattr(ln, c.type) - q)
        return self.move(machine, action, now)

    def _action_for(self, kind: str) -> str:
        if kind == "picked":
            return "pick"
        if kind == "packed":
            if all(ln.packed >= ln.active for ln in self.lines):
                return "ready_for_pickup" if self.kind != FoKind.SHIP else "pack"
            return "pick" if self.status != "partially_shipped" else "ship_part"
        return "ship" if all(ln.open == 0 for ln in self.lines) else "ship_part"

    @property
    def shipped_units(self) -> int:
        """Units shipped so far, all lines."""
        return sum(ln.shipped for ln in self.lines)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the pickup code itself is never stored, only its digest)."""
        return {
            "id": self.id,
            "order_id": self.order_id,
            "location_id": self.location_id,
            "kind": str(self.kind),
            "status": self.status,
            "service_level": self.service_level,
            "ship_by": self.ship_by.isoformat() if self.ship_by else None,
            "notes": dict(self.notes),
            "wave_id": self.wave_id,
            "released_at": self.released_at.isoformat() if self.released_at else None,
            "pickup_expires_at": self.pickup_expires_at.isoformat() if self.pickup_expires_at else None,
            "cancel_requested_lines": [{"line_no": k, "quantity": v} for k, v in sorted(self.cancel_lines.items())],
            "lines": [ln.as_dict() for ln in self.lines],
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "version": self.version,
        }

    def copy(self) -> FulfilmentOrder:
        """A deep copy (lines included)."""
        return replace(self, lines=[replace(ln) for ln in self.lines], notes=dict(self.notes))


def code_digest(fo_id: str, code: str) -> str:
    """The stored digest of a pickup code (salted with the FO id)."""
    return hashlib.sha256(f"{fo_id}:{code.strip().upper()}".encode()).hexdigest()


def next_cutoff(cutoff_time: str | None, time_zone: str, now: datetime) -> datetime | None:
    """The location's next cut-off at or after ``now`` (local HH:MM in its IANA zone), in UTC; None without one."""
    if not cutoff_time:
        return None
    zone = ZoneInfo(time_zone)
    local = now.astimezone(zone)
    hours, minutes = (int(x) for x in cutoff_time.split(":"))
    at = datetime.combine(local.date(), time(hours, minutes), tzinfo=zone)
    if at < local:
        at = datetime.combine(local.date() + timedelta(days=1), time(hours, minutes), tzinfo=zone)
    return at.astimezone(ZoneInfo("UTC"))


def plan_wave(
    candidates: Iterable[tuple[str, datetime | None]], *, max_batch: int, horizon: datetime | None
) -> list[str]:
    """Which open FOs a wave takes: ship-by first (none last), only those due by ``horizon`` when given, at most
    ``max_batch``."""
    far = datetime.max.replace(tzinfo=ZoneInfo("UTC"))
    due = [(ship_by or far, fo_id) for fo_id, ship_by in candidates if horizon is None or (ship_by or far) <= horizon]
    return [fo_id for _, fo_id in sorted(due)[:max_batch]]


def order_target(fos: Sequence[FulfilmentOrder]) -> str | None:
    """The order status its fulfilment orders imply ("main.sub"), or None while nothing was released."""
    live = [fo for fo in fos if fo.status not in _CLOSED]
    if not live or all(fo.status == "open" for fo in live):
        return None
    if all(fo.status == "shipped" for fo in live):
        return "delivered.collected" if all(fo.kind != FoKind.SHIP for fo in live) else "shipped.handed_to_carrier"
    if any(fo.shipped_units for fo in live):
        return "fulfilling.partially_shipped"
    if all(fo.status == "ready_for_pickup" for fo in live):
        return "fulfilling.packed"  # waiting for the customer at the counter
    return "fulfilling.released_to_warehouse"  # picking and packing show on the fulfilment orders themselves


def _step(lifecycle: Lifecycle, status: Status, action: str) -> Status | None:
    definition = lifecycle.actions.get(action)
    if definition is None:
        return None
    for t in definition.transitions:
        if t.applies_to(status) and t.guard is None:
            return t.target
    return None


def order_path(lifecycle: Lifecycle, current: Status, target: str) -> list[str] | None:
    """The shortest run of fulfilment actions taking an order from ``current`` forward to ``target``; [] when it is
    there or further already, None when the lifecycle has no way."""
    here = str(current)
    if here == target or _RANK.get(here, 0) >= _RANK.get(target, 0) or current.main in ("closed", "on_hold"):
        return []
    seen = {here}
    queue: deque[tuple[Status, list[str]]] = deque([(current, [])])
    while queue:
        status, path = queue.popleft()
        for action in ORDER_ACTIONS:
            nxt = _step(lifecycle, status, action)
            if nxt is None or str(nxt) in seen:
                continue
            if str(nxt) == target:
                return [*path, action]
            seen.add(str(nxt))
            queue.append((nxt, [*path, action]))
    return None
