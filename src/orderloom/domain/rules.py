"""Rule sets as data: kinds, typed actions, rules, decision tables, decisions, gray-release targeting.

A rule set document (YAML/JSON) is parsed and structurally checked here (standard library only). The CEL
expressions in it are compiled and type-checked against the declared context schema by an adapter behind the
``RuleCompiler`` port.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from orderloom.domain.errors import DomainError

__all__ = [
    "ACTIONS",
    "KINDS",
    "OUTCOME_ACTIONS",
    "TOGGLES",
    "Action",
    "ActionSpec",
    "Activation",
    "ContextSchema",
    "Decision",
    "DecisionTable",
    "FeatureToggle",
    "FiredRule",
    "Rule",
    "RuleProblem",
    "RuleSetDocument",
    "RuleSetInvalid",
    "RuleSetVersion",
    "TableRow",
    "bucket",
    "parse_action",
    "parse_rule_set",
]

KINDS = ("validation", "routing", "hold", "notification", "pricing", "sla", "compliance", "compensation", "returns")


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """An action a rule of some kind may take: its parameters (name → type) and whether it excludes rivals."""

    name: str
    params: tuple[tuple[str, str], ...]
    exclusive: bool = False


def _spec(name: str, *params: str, exclusive: bool = False) -> ActionSpec:
    return ActionSpec(name, tuple((p.split(":")[0], p.split(":")[1]) for p in params), exclusive)


_COMMON = (_spec("add_tag", "tag:str"),)
ACTIONS: dict[str, dict[str, ActionSpec]] = {
    kind: {s.name: s for s in (*specs, *_COMMON)}
    for kind, specs in {
        "validation": (
            _spec("fail", "reason:str"),
            _spec("hold", "reason:str"),
            _spec("require_approval", "role:str"),
        ),
        "hold": (
            _spec("hold", "reason:str"),
            _spec("require_approval", "role:str"),
            _spec("priority", "level:int", exclusive=True),
        ),
        "routing": (
            _spec("route_to", "location:str", exclusive=True),
            _spec("prefer_carrier", "name:str", exclusive=True),
            _spec("exclude_location", "location:str"),
            _spec("allow_split", "allowed:bool", exclusive=True),
        ),
        "notification": (_spec("notify", "template:str", "channel:str"),),
        "pricing": (
            _spec("set_price", "sku:str", "amount:decimal", exclusive=True),
            _spec("discount_percent", "percent:decimal", exclusive=True),
        ),
        "sla": (
            _spec("set_deadline_hours", "hours:int", exclusive=True),
            _spec("priority", "level:int", exclusive=True),
        ),
        # evaluated at channel intake before the order is placed (application/intake_prechecks.py)
        "compliance": (
            _spec("fail", "reason:str"),
            _spec("hold", "reason:str"),
        ),
        # evaluated when a shipment is predicted late (application/compensation.py); the first fired rule decides
        "compensation": (
            _spec("coupon", "amount:decimal", "reason:str", exclusive=True),
            _spec("coupon_percent", "percent:decimal", "max_amount:decimal", "reason:str", exclusive=True),
            _spec("no_coupon", "reason:str", exclusive=True),
        ),
        # return authorisation, evaluated per requested return line (application/returns_policy.py)
        "returns": (
            _spec("deny", "reason:str"),
            _spec("require_approval", "role:str"),
        ),
    }.items()
}

# Which action decides an order's lifecycle outcome, strongest first (validation and hold rule sets).
OUTCOME_ACTIONS = ("fail", "require_approval", "hold")


class RuleSetInvalid(DomainError):
    """A rule set document that can't be stored or activated; carries every problem found."""

    def __init__(self, problems: Sequence[RuleProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(p.describe() for p in self.problems))


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One problem in a rule set: which rule, which part, where in the expression (1-based line/column)."""

    message: str
    rule_id: str | None = None
    field: str | None = None
    line: int | None = None
    column: int | None = None

    def describe(self) -> str:
        """One line for people."""
        where = f"rule {self.rule_id}" if self.rule_id else "rule set"
        if self.field:
            where += f" {self.field}"
        if self.line is not None:
            where += f" at {self.line}:{self.column}"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, without empty keys."""
        raw = {"rule_id": self.rule_id, "field": self.field, "line": self.line, "column": self.column}
        return {"message": self.message, **{k: v for k, v in raw.items() if v is not None}}


@dataclass(frozen=True, slots=True)
class Action:
    """A typed action with its arguments, e.g. ``hold(reason="over 5000")``."""

    name: str
    args: tuple[tuple[str, Any], ...] = ()

    def arg(self, name: str) -> Any:
        """One argument's value (None if absent)."""
        return dict(self.args).get(name)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (decimals as strings)."""
        return {"action": self.name, **{k: str(v) if isinstance(v, Decimal) else v for k, v in self.args}}

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" if not isinstance(v, Decimal) else f"{k}='{v}'" for k, v in self.args)
        return f"{self.name}({inner})"


@dataclass(frozen=True, slots=True)
class Rule:
    """``when`` a CEL condition holds, ``then`` take these actions; higher priority first."""

    id: str
    when: str
    then: tuple[Action, ...]
    priority: int = 0
    owner: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class TableRow:
    """One decision-table row: the CEL condition of its cells (joined with ``&&``) and its outputs."""

    when: str
    outputs: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class DecisionTable:
    """Rows of conditions → outputs; ``first`` hit or ``collect`` every matching row."""

    id: str
    hit_policy: str
    inputs: tuple[str, ...]
    rows: tuple[TableRow, ...]


@dataclass(frozen=True, slots=True)
class RuleSetDocument:
    """A parsed, structurally valid rule set of one kind."""

    kind: str
    rules: tuple[Rule, ...]
    tables: tuple[DecisionTable, ...] = ()
    description: str | None = None

    def ordered_rules(self) -> tuple[Rule, ...]:
        """Rules in evaluation order: priority descending, then as written."""
        return tuple(sorted(self.rules, key=lambda r: -r.priority))


@dataclass(frozen=True, slots=True)
class RuleSetVersion:
    """A stored, immutable version of a tenant's rule set of one kind."""

    tenant_id: str
    kind: str
    version: int
    document: dict[str, Any]
    status: str  # "valid" (compiled and type-checked) or "draft" (not checked; can't be activated)
    created_at: str
    created_by: str
    checksum: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Activation:
    """Which version of a kind is active for a tenant, and an optional gray-released candidate.

    ``candidate_bps`` is the share of orders (basis points of 10,000, by a stable hash of the order id) that get the
    candidate, limited to ``candidate_channels`` when given.
    """

    tenant_id: str
    kind: str
    version: int | None
    previous_version: int | None = None
    candidate_version: int | None = None
    candidate_bps: int = 0
    candidate_channels: tuple[str, ...] = ()

    def version_for(self, *, order_id: str, channel: str) -> int | None:
        """The version that applies to one order."""
        if self.candidate_version is None:
            return self.version
        if self.candidate_channels and channel not in self.candidate_channels:
            return self.version
        return self.candidate_version if bucket(order_id) < self.candidate_bps else self.version

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        gray = None
        if self.candidate_version is not None:
            gray = {
                "version": self.candidate_version,
                "percent": self.candidate_bps / 100,
                "channels": list(self.candidate_channels),
            }
        return {
            "kind": self.kind,
            "active_version": self.version,
            "previous_version": self.previous_version,
            "gray_release": gray,
        }


def bucket(key: str) -> int:
    """A stable bucket 0..9999 for a key (blake2b), the same in every process and release."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 10_000


@dataclass(frozen=True, slots=True)
class FiredRule:
    """A rule (or table row) that matched, with its actions and the condition that made it fire."""

    rule_id: str
    actions: tuple[Action, ...]
    why: str
    priority: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "rule_id": self.rule_id,
            "priority": self.priority,
            "why": self.why,
            "actions": [a.as_dict() for a in self.actions],
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """What a rule set decided for one context: fired rules, table outputs, and rules that raised."""

    kind: str
    version: int | None
    fired: tuple[FiredRule, ...] = ()
    outputs: tuple[tuple[str, tuple[dict[str, Any], ...]], ...] = ()
    errors: tuple[tuple[str, str], ...] = ()

    @property
    def actions(self) -> tuple[Action, ...]:
        """Every action of every fired rule, in firing order."""
        return tuple(a for f in self.fired for a in f.actions)

    @property
    def outcome(self) -> str:
        """``rule_error`` if a rule raised; else the strongest lifecycle action fired; else ``pass``."""
        if self.errors:
            return "rule_error"
        names = {a.name for a in self.actions}
        return next((n for n in OUTCOME_ACTIONS if n in names), "pass")

    @property
    def tags(self) -> tuple[str, ...]:
        """Tags the fired rules add."""
        return tuple(dict.fromkeys(str(a.arg("tag")) for a in self.actions if a.name == "add_tag"))

    def reason(self) -> str:
        """One line for the timeline: what fired (or raised) and why."""
        if self.errors:
            return "; ".join(f"rule {rid} raised: {msg}" for rid, msg in self.errors)
        parts = [f"{f.rule_id}: {', '.join(str(a) for a in f.actions)}" for f in self.fired]
        return "; ".join(parts) or "no rule fired"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "kind": self.kind,
            "version": self.version,
            "outcome": self.outcome,
            "fired": [f.as_dict() for f in self.fired],
            "outputs": {tid: list(rows) for tid, rows in self.outputs},
            "errors": [{"rule_id": rid, "message": msg} for rid, msg in self.errors],
        }


# --- context schema ---------------------------------------------------------------------------------------------

_SCALARS = {"string", "int", "double", "bool"}


@dataclass(frozen=True, slots=True)
class ContextSchema:
    """The declared rule context: variables (qualified names like ``order.grand_total``) and message types."""

    variables: dict[str, str]
    messages: dict[str, dict[str, str]]

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> ContextSchema:
        """Check and build from ``data/rules_context.yaml``."""
        messages = {str(k): {str(f): str(t) for f, t in v.items()} for k, v in definition.get("messages", {}).items()}
        variables = {str(k): str(v) for k, v in definition["variables"].items()}
        known = _SCALARS | set(messages)
        for name, typ in [*variables.items(), *((f, t) for m in messages.values() for f, t in m.items())]:
            inner = typ.removeprefix("list(").removesuffix(")")
            if inner not in known and typ != "map(string, dyn)":
                raise ValueError(f"rules context: {name} has unknown type {typ!r}")
        return cls(variables=variables, messages=messages)


# --- parsing ----------------------------------------------------------------------------------------------------


def _coerce(value: Any, typ: str) -> Any:
    if typ == "str" and isinstance(value, str) and value.strip():
        return value
    if typ == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if typ == "bool" and isinstance(value, bool):
        return value
    if typ == "decimal" and isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            dec = Decimal(str(value))
        except InvalidOperation:
            pass
        else:
            if dec.is_finite():
                return dec
    raise ValueError(f"expected {'a non-empty string' if typ == 'str' else typ}, got {value!r}")


def _bind(spec: ActionSpec, positional: Sequence[Any], named: Mapping[str, Any]) -> Action:
    names = [n for n, _ in spec.params]
    if len(positional) > len(names):
        raise ValueError(f"{spec.name} takes {len(names)} argument(s): {', '.join(names)}")
    values = dict(zip(names, positional, strict=False))
    for key, value in named.items():
        if key not in names:
            raise ValueError(f"{spec.name} has no parameter {key!r} (takes {', '.join(names) or 'none'})")
        values[key] = value
    missing = [n for n in names if n not in values]
    if missing:
        raise ValueError(f"{spec.name} needs {', '.join(missing)}")
    return Action(spec.name, tuple((n, _coerce(values[n], t)) for n, t in spec.params))


def _call_parts(text: str) -> tuple[str, list[Any], dict[str, Any]]:
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise ValueError(f'not an action call: {text!r} (write e.g. hold("reason"))') from None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f'not an action call: {text!r} (write e.g. hold("reason"))')
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {str(k.arg): ast.literal_eval(k.value) for k in node.keywords}
    except ValueError:
        raise ValueError(f"action arguments must be literals: {text!r}") from None
    return node.func.id, args, kwargs


def parse_action(kind: str, raw: Any) -> Action:
    """An action from ``'hold("reason")'`` or ``{"hold": {"reason": ...}}`` / ``{"hold": "reason"}``."""
    if isinstance(raw, str):
        name, positional, named = _call_parts(raw)
    elif isinstance(raw, Mapping) and len(raw) == 1:
        name, value = next(iter(raw.items()))
        positional, named = ([], dict(value)) if isinstance(value, Mapping) else ([value], {})
    else:
        raise ValueError(f'an action is a call like add_tag("vip") or a one-key mapping, got {raw!r}')
    spec = ACTIONS[kind].get(str(name))
    if spec is None:
        raise ValueError(f"unknown action {name!r} for {kind} rules (known: {', '.join(sorted(ACTIONS[kind]))})")
    return _bind(spec, positional, named)


def _parse_rule(kind: str, index: int, raw: Any, problems: list[RuleProblem]) -> Rule | None:
    if not isinstance(raw, Mapping):
        problems.append(RuleProblem("a rule is a mapping with id, when and then", field=f"rules[{index}]"))
        return None
    rid = str(raw.get("id") or f"rules[{index}]")
    when, then, priority = raw.get("when"), raw.get("then"), raw.get("priority", 0)
    ok = True
    if not isinstance(when, str) or not when.strip():
        problems.append(RuleProblem("'when' must be a CEL expression", rule_id=rid, field="when"))
        ok = False
    if not isinstance(priority, int) or isinstance(priority, bool):
        problems.append(RuleProblem("'priority' must be an integer", rule_id=rid, field="priority"))
        ok = False
    if isinstance(then, str | Mapping):
        then = [then]
    if not isinstance(then, list) or not then:
        problems.append(RuleProblem("'then' must list at least one action", rule_id=rid, field="then"))
        return None
    actions = []
    for j, item in enumerate(then):
        try:
            actions.append(parse_action(kind, item))
        except ValueError as exc:
            problems.append(RuleProblem(str(exc), rule_id=rid, field=f"then[{j}]"))
            ok = False
    if not ok or not isinstance(when, str):
        return None
    return Rule(rid, when, tuple(actions), int(priority), _opt(raw.get("owner")), _opt(raw.get("note")))


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _cell(column: str, value: Any) -> str:
    """A table cell as CEL: an expression fragment (``> 100.0``, ``in ["a"]``) or a literal to compare with ``==``."""
    if isinstance(value, str):
        text = value.strip()
        if text in ("", "-", "*"):
            return ""
        for op in ("<=", ">=", "!=", "==", "<", ">", "in "):
            if text.startswith(op):
                return f"{column} {text}"
        return f"{column} == {_cel_literal(text)}"
    return f"{column} == {_cel_literal(value)}"


def _cel_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parse_table(index: int, raw: Any, problems: list[RuleProblem]) -> DecisionTable | None:
    if not isinstance(raw, Mapping):
        problems.append(RuleProblem("a decision table is a mapping", field=f"tables[{index}]"))
        return None
    tid = str(raw.get("id") or f"tables[{index}]")
    hit = raw.get("hit_policy", "first")
    inputs = raw.get("inputs") or []
    rows = raw.get("rows") or []
    if hit not in ("first", "collect"):
        problems.append(RuleProblem("hit_policy is 'first' or 'collect'", rule_id=tid, field="hit_policy"))
        return None
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs) or not isinstance(rows, list):
        problems.append(RuleProblem("'inputs' lists CEL expressions and 'rows' lists rows", rule_id=tid))
        return None
    built = []
    for j, row in enumerate(rows):
        when_cells = row.get("when") if isinstance(row, Mapping) else None
        outputs = row.get("then") if isinstance(row, Mapping) else None
        if not isinstance(when_cells, list) or len(when_cells) != len(inputs) or not isinstance(outputs, Mapping):
            problems.append(
                RuleProblem(f"each row has {len(inputs)} 'when' cell(s) and a 'then' mapping", rule_id=f"{tid}#{j}")
            )
            continue
        parts = [c for c in (_cell(f"({col})", cell) for col, cell in zip(inputs, when_cells, strict=True)) if c]
        built.append(TableRow(" && ".join(parts) or "true", tuple((str(k), v) for k, v in outputs.items())))
    return DecisionTable(tid, str(hit), tuple(inputs), tuple(built))


def _conflicts(kind: str, rules: Sequence[Rule]) -> list[RuleProblem]:
    """Rules of equal priority that set the same exclusive action to different values can't be ordered."""
    problems = []
    seen: dict[tuple[int, str], tuple[str, Action]] = {}
    ids: set[str] = set()
    for rule in rules:
        if rule.id in ids:
            problems.append(RuleProblem("duplicate rule id", rule_id=rule.id, field="id"))
        ids.add(rule.id)
        for action in rule.then:
            if not ACTIONS[kind][action.name].exclusive:
                continue
            other = seen.setdefault((rule.priority, action.name), (rule.id, action))
            if other[0] != rule.id and other[1] != action:
                problems.append(
                    RuleProblem(
                        f"conflicts with rule {other[0]}: both priority {rule.priority}, "
                        f"{other[1]} vs {action}; give one a higher priority",
                        rule_id=rule.id,
                        field="priority",
                    )
                )
    return problems


def parse_rule_set(kind: str, raw: Any) -> RuleSetDocument:
    """Parse and structurally check a rule set document; RuleSetInvalid lists every problem found."""
    if kind not in KINDS:
        raise RuleSetInvalid([RuleProblem(f"unknown rule kind {kind!r} (one of {', '.join(KINDS)})", field="kind")])
    if not isinstance(raw, Mapping):
        raise RuleSetInvalid([RuleProblem("a rule set is a mapping with 'rules' and/or 'tables'")])
    if raw.get("kind", kind) != kind:
        raise RuleSetInvalid([RuleProblem(f"document kind {raw.get('kind')!r} != {kind!r}", field="kind")])
    problems: list[RuleProblem] = []
    raw_rules, raw_tables = raw.get("rules") or [], raw.get("tables") or []
    if not isinstance(raw_rules, list) or not isinstance(raw_tables, list):
        raise RuleSetInvalid([RuleProblem("'rules' and 'tables' are lists")])
    rules = [r for i, item in enumerate(raw_rules) if (r := _parse_rule(kind, i, item, problems)) is not None]
    tables = [t for i, item in enumerate(raw_tables) if (t := _parse_table(i, item, problems)) is not None]
    problems.extend(_conflicts(kind, rules))
    if problems:
        raise RuleSetInvalid(problems)
    return RuleSetDocument(kind, tuple(rules), tuple(tables), _opt(raw.get("description")))


@dataclass(frozen=True, slots=True)
class FeatureToggle:
    """A rules-engine feature switched on for a share of orders and/or some channels (same targeting as releases).

    Known toggles: ``rules.intake`` (evaluate validation/hold rule sets on new orders) and ``rules.custom_fields``
    (check custom fields and templates on new orders). Without a stored toggle a feature is on.
    """

    tenant_id: str
    name: str
    enabled: bool = True
    bps: int = 10_000
    channels: tuple[str, ...] = ()

    def is_on(self, *, order_id: str, channel: str) -> bool:
        """Whether the feature applies to one order."""
        if not self.enabled or (self.channels and channel not in self.channels):
            return False
        return bucket(order_id) < self.bps

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"name": self.name, "enabled": self.enabled, "percent": self.bps / 100, "channels": list(self.channels)}


TOGGLES = ("rules.intake", "rules.custom_fields")
