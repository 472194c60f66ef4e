"""Service levels: how long an order or shipment may stay in a status, as data, checked against the lifecycle.

A rule names a status (``main`` or ``main.sub``), a time limit, optionally a channel or a carrier it is specific
to, and the actions to suggest (the first one the sub-status offers wins). When a subject enters a status, the
policy turns the most specific matching rule into a clock: ``warn_at`` (near breach, ``warn_fraction`` of the
limit) and ``due_at``. The scanner only looks at clocks whose ``warn_at``/``due_at`` has passed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from orderloom.domain.errors import DomainError
from orderloom.domain.events import Event
from orderloom.domain.lifecycle import MAIN_STATUSES, Lifecycle, Status

__all__ = [
    "SUBJECT_KINDS",
    "SlaBreached",
    "SlaClock",
    "SlaDefinitionError",
    "SlaFlag",
    "SlaPolicy",
    "SlaRule",
    "SlaWarning",
    "parse_duration",
    "sla_event",
]

SUBJECT_KINDS = ("order", "shipment")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d)\s*$")
_UNIT_SECONDS = {"m": 60, "min": 60, "h": 3600, "d": 86400}


class SlaDefinitionError(DomainError):
    """The SLA data file is inconsistent with itself or with the lifecycle; raised at start-up."""


def parse_duration(text: str | int | float) -> timedelta:
    """``"90m"``, ``"2h"``, ``"3d"`` (or a number of hours) → timedelta; ValueError otherwise."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text) * 3600
    else:
        match = _DURATION.match(str(text))
        if match is None:
            raise ValueError(f"duration must look like '90m', '2h' or '3d', got {text!r}")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {text!r}")
    return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class SlaRule:
    """At most ``within`` in ``status`` (optionally only for one channel or carrier and some subject kinds)."""

    status: str  # "main" or "main.sub"
    within: timedelta
    actions: tuple[str, ...]
    kinds: tuple[str, ...] = SUBJECT_KINDS
    channel: str | None = None
    carrier: str | None = None
    owner: str | None = None  # None: the owner the lifecycle names for the sub-status
    warn_fraction: float | None = None  # None: the policy's default
    meaning: str = ""

    def matches(self, kind: str, status: Status, channel: str | None, carrier: str | None) -> bool:
        """True if the rule covers this subject in this status."""
        return (
            kind in self.kinds
            and self.status in (status.main, str(status))
            and (self.channel is None or self.channel == channel)
            and (self.carrier is None or self.carrier == carrier)
        )

    def specificity(self) -> tuple[int, int, int]:
        """Sub-status beats main status; then a carrier or channel rule beats a general one."""
        return ("." in self.status, self.carrier is not None, self.channel is not None)


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaClock:
    """One subject's time in its current status: when to warn, when it breaches, who owns it, what to do."""

    tenant_id: str
    subject_kind: str
    subject_id: str
    entry_id: str  # identifies this entry into the status (the event that caused it)
    state: str  # "main.sub"
    entered_at: datetime
    warn_at: datetime | None
    due_at: datetime | None
    owner: str | None
    action: str | None
    channel: str | None = None
    carrier: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaFlag:
    """A near-breach (``warning``) or breach found by the scanner, as recorded in the exception inbox."""

    id: str
    clock: SlaClock
    level: str  # "warning" | "breach"
    flagged_at: datetime
    deadline: datetime  # due_at of the clock

    @property
    def overdue_by(self) -> timedelta:
        """How far past the deadline it was when flagged (negative for a warning)."""
        return self.flagged_at - self.deadline


@dataclass
class SlaPolicy:
    """The validated SLA rules."""

    rules: tuple[SlaRule, ...]
    warn_fraction: float
    lifecycle: Lifecycle

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any], lifecycle: Lifecycle) -> SlaPolicy:
        """Build from ``data/sla.yaml``'s mapping; SlaDefinitionError names every problem found."""
        try:
            warn = float(definition.get("warn_fraction", 0.8))
            rules = tuple(_rule(raw) for raw in definition["rules"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SlaDefinitionError(f"malformed SLA definition: {exc}") from exc
        policy = cls(rules=rules, warn_fraction=warn, lifecycle=lifecycle)
        problems = policy._problems()
        if problems:
            raise SlaDefinitionError("invalid SLA definition: " + "; ".join(problems))
        return policy

    def _problems(self) -> list[str]:
        out = [] if 0 < self.warn_fraction < 1 else [f"warn_fraction must be between 0 and 1, got {self.warn_fraction}"]
        seen: set[tuple[str, str | None, str | None, tuple[str, ...]]] = set()
        for rule in self.rules:
            out += self._rule_problems(rule)
            key = (rule.status, rule.channel, rule.carrier, rule.kinds)
            if key in seen:
                out.append(f"{rule.status}: duplicate rule for channel {rule.channel} carrier {rule.carrier}")
            seen.add(key)
        return out

    def _rule_problems(self, rule: SlaRule) -> list[str]:
        covered = self._covered(rule.status)
        if not covered:
            known = ", ".join(MAIN_STATUSES)
            return [f"unknown status {rule.status!r} (main statuses: {known}; or main.sub from lifecycle.yaml)"]
        out = [f"{rule.status}: unknown subject kind {k!r}" for k in rule.kinds if k not in SUBJECT_KINDS]
        if rule.owner is not None and rule.owner not in self.lifecycle.owners:
            out.append(f"{rule.status}: unknown owner {rule.owner!r}")
        if rule.warn_fraction is not None and not 0 < rule.warn_fraction < 1:
            out.append(f"{rule.status}: warn_fraction must be between 0 and 1")
        out += [f"{rule.status}: unknown action {a!r}" for a in rule.actions if a not in self.lifecycle.actions]
        for status in covered:
            if status.main != "closed" and not set(rule.actions) & set(self.lifecycle.offered_actions(status)):
                out.append(f"{rule.status}: none of the actions {list(rule.actions)} is offered in {status}")
        if any(s.main == "closed" for s in covered):
            out.append(f"{rule.status}: closed is terminal, it has no service level")
        return out

    def _covered(self, key: str) -> list[Status]:
        return [s for s in self.lifecycle.all_statuses() if key in (s.main, str(s))]

    def rule_for(self, kind: str, status: Status, channel: str | None, carrier: str | None) -> SlaRule | None:
        """The most specific rule for a subject in a status, if any."""
        found = [r for r in self.rules if r.matches(kind, status, channel, carrier)]
        return max(found, key=SlaRule.specificity) if found else None

    def clock(
        self,
        *,
        tenant_id: str,
        kind: str,
        subject_id: str,
        entry_id: str,
        status: Status,
        entered_at: datetime,
        channel: str | None = None,
        carrier: str | None = None,
    ) -> SlaClock:
        """The clock that starts when a subject enters ``status`` (no deadlines when no rule covers it)."""
        rule = self.rule_for(kind, status, channel, carrier)
        warn_at = due_at = None
        owner = action = None
        if self.lifecycle.has_status(status):
            owner = self.lifecycle.substatus(status).owner
        if rule is not None:
            due_at = entered_at + rule.within
            warn_at = entered_at + rule.within * (rule.warn_fraction or self.warn_fraction)
            owner = rule.owner or owner
            action = self._suggest(rule, status)
        return SlaClock(
            tenant_id=tenant_id,
            subject_kind=kind,
            subject_id=subject_id,
            entry_id=entry_id,
            state=str(status),
            entered_at=entered_at,
            warn_at=warn_at,
            due_at=due_at,
            owner=owner,
            action=action,
            channel=channel,
            carrier=carrier,
        )

    def _suggest(self, rule: SlaRule, status: Status) -> str | None:
        if not self.lifecycle.has_status(status):
            return rule.actions[0] if rule.actions else None
        offered = self.lifecycle.offered_actions(status)
        return next((a for a in rule.actions if a in offered), None)

    def as_rows(self) -> list[dict[str, Any]]:
        """The rules as a table (docs and the CLI)."""
        return [
            {
                "status": r.status,
                "within_hours": round(r.within.total_seconds() / 3600, 2),
                "warn_fraction": r.warn_fraction or self.warn_fraction,
                "channel": r.channel,
                "carrier": r.carrier,
                "kinds": list(r.kinds),
                "actions": list(r.actions),
                "owner": r.owner,
                "meaning": r.meaning,
            }
            for r in self.rules
        ]


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence):
        return tuple(str(v) for v in value)
    raise ValueError(f"expected a name or a list of names, got {value!r}")


def _rule(raw: Mapping[str, Any]) -> SlaRule:
    if not isinstance(raw, Mapping):
        raise ValueError(f"each rule must be a mapping, got {raw!r}")
    unknown = set(raw) - {"status", "within", "action", "actions", "kinds", "channel", "carrier", "owner"}
    unknown -= {"warn_fraction", "meaning"}
    if unknown:
        raise ValueError(f"rule {raw.get('status')!r}: unknown keys {sorted(unknown)}")
    warn = raw.get("warn_fraction")
    return SlaRule(
        status=str(raw["status"]),
        within=parse_duration(raw["within"]),
        actions=_strings(raw.get("actions", raw.get("action"))),
        kinds=_strings(raw["kinds"]) if "kinds" in raw else SUBJECT_KINDS,
        channel=raw.get("channel"),
        carrier=raw.get("carrier"),
        owner=raw.get("owner"),
        warn_fraction=None if warn is None else float(warn),
        meaning=str(raw.get("meaning", "")),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaWarning(Event):
    """An order or shipment is close to breaching its service level in its current status."""

    TYPE: ClassVar[str] = "orderloom.sla.warning"


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaBreached(Event):
    """An order or shipment stayed in a status longer than its service level allows."""

    TYPE: ClassVar[str] = "orderloom.sla.breached"


@dataclass(frozen=True, slots=True, kw_only=True)
class _ShipmentSlaWarning(SlaWarning):
    AGGREGATE: ClassVar[str] = "shipment"


@dataclass(frozen=True, slots=True, kw_only=True)
class _ShipmentSlaBreached(SlaBreached):
    AGGREGATE: ClassVar[str] = "shipment"


def sla_event(flag: SlaFlag) -> Event:
    """The outbox event of a flag (its id is the flag's, so a flag yields one event)."""
    c = flag.clock
    shipment = c.subject_kind == "shipment"
    if flag.level == "breach":
        cls: type[Event] = _ShipmentSlaBreached if shipment else SlaBreached
    else:
        cls = _ShipmentSlaWarning if shipment else SlaWarning
    return cls(
        id=flag.id.replace("slx_", "evt_", 1),
        tenant_id=c.tenant_id,
        aggregate_id=c.subject_id,
        occurred_at=flag.flagged_at,
        data={
            "subject": {"kind": c.subject_kind, "id": c.subject_id},
            "exception_id": flag.id,
            "level": flag.level,
            "status": c.state,
            "since": c.entered_at.isoformat().replace("+00:00", "Z"),
            "due_at": flag.deadline.isoformat().replace("+00:00", "Z"),
            "overdue_seconds": int(flag.overdue_by.total_seconds()),
            "owner": c.owner,
            "suggested_action": c.action,
            "channel": c.channel,
            "carrier": c.carrier,
        },
    )
