"""Compiled CEL (``cel-expr-python``, Google's cel-cpp) behind the ``RuleCompiler`` port.

Each context variable is declared with its type under its qualified name (``order.grand_total``), so cel-cpp's
checker rejects unknown names and operand type mismatches at compile time with line and column. Lines are protobuf
messages built from the schema's ``messages`` at start-up, so ``l.quantity`` inside ``lines.exists(l, ...)`` is
checked too. Expressions compile once per version; one activation per context is shared by every rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cel_expr_python import cel
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from orderloom.domain.rules import (
    ContextSchema,
    Decision,
    DecisionTable,
    FiredRule,
    Rule,
    RuleProblem,
    RuleSetDocument,
    RuleSetInvalid,
)

__all__ = ["CelCompiledRuleSet", "CelRuleCompiler"]

_PACKAGE = "orderloom.rules"
_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")
_SCALAR_TYPES = {"string": "STRING", "int": "INT", "double": "DOUBLE", "bool": "BOOL"}
_PROTO_TYPES = {
    "string": descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
    "int": descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
    "double": descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE,
    "bool": descriptor_pb2.FieldDescriptorProto.TYPE_BOOL,
}


def _problems(exc: Exception, rule_id: str, field: str) -> list[RuleProblem]:
    found = [
        RuleProblem(
            m.group(3).replace(" (in container '')", "").strip(),
            rule_id=rule_id,
            field=field,
            line=int(m.group(1)),
            column=int(m.group(2)),
        )
        for m in _ERROR.finditer(str(exc))
    ]
    return found or [RuleProblem(str(exc).strip(), rule_id=rule_id, field=field)]


class _Batch:
    """Conditions evaluated as one CEL list (one call into cel-cpp); per condition only when one of them raises."""

    def __init__(self, env: Any, conditions: list[tuple[str, Any]]) -> None:
        self.items = conditions
        self.combined = None
        if len(conditions) > 1:
            try:
                self.combined = env.compile("[" + ", ".join(f"({text})" for text, _ in conditions) + "]")
            except RuntimeError:  # a limit of the combined form: evaluate one by one instead
                self.combined = None

    def run(self, activation: Any) -> list[bool | str]:
        """Per condition: True, False, or the error message it raised."""
        if self.combined is not None:
            values = self.combined.eval(activation).plain_value()
            if type(values) is list:
                return values
        out: list[bool | str] = []
        for _, program in self.items:
            value = program.eval(activation).value()
            out.append(value if type(value) is bool else str(value))
        return out


@dataclass(frozen=True, slots=True)
class _CompiledTable:
    table: DecisionTable
    batch: _Batch
    outputs: tuple[dict[str, Any], ...]


class CelCompiledRuleSet:
    """A compiled version: evaluate it on many contexts."""

    def __init__(
        self,
        compiler: CelRuleCompiler,
        document: RuleSetDocument,
        version: int | None,
        rules: list[tuple[Rule, Any]],
        tables: list[_CompiledTable],
    ) -> None:
        self.kind = document.kind
        self.version = version
        self.document = document
        self._compiler = compiler
        self._rules = [rule for rule, _ in rules]
        self._batch = compiler.batch([(rule.when, program) for rule, program in rules])
        self._tables = tables

    def evaluate(self, context: Mapping[str, Any], *, prepared: Any = None) -> Decision:
        """Evaluate every rule and table on one context (``prepared``: its activation, if already built).

        A rule that raises is reported in ``errors``, never thrown.
        """
        activation = self._compiler.activation(context) if prepared is None else prepared
        fired: list[FiredRule] = []
        errors: list[tuple[str, str]] = []
        for rule, value in zip(self._rules, self._batch.run(activation), strict=True):
            if value is True:
                fired.append(FiredRule(rule.id, rule.then, rule.when, rule.priority))
            elif value is not False:
                errors.append((rule.id, str(value)))
        outputs = [(t.table.id, self._table(t, activation, errors)) for t in self._tables]
        return Decision(self.kind, self.version, tuple(fired), tuple(outputs), tuple(errors))

    @staticmethod
    def _table(table: _CompiledTable, activation: Any, errors: list[tuple[str, str]]) -> tuple[dict[str, Any], ...]:
        hits: list[dict[str, Any]] = []
        for index, value in enumerate(table.batch.run(activation)):
            if value is True:
                hits.append({"row": index, **table.outputs[index]})
                if table.table.hit_policy == "first":
                    break
            elif value is not False:
                errors.append((f"{table.table.id}#{index}", str(value)))
        return tuple(hits)


class CelRuleCompiler:
    """Compiles rule sets against the declared context schema."""

    def __init__(self, schema: ContextSchema) -> None:
        self.schema = schema
        pool = descriptor_pool.DescriptorPool()
        pool.Add(self._file(schema))
        self._messages = {
            name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
            for name in schema.messages
        }
        self._list_vars = {
            name: self._messages[typ[5:-1]]
            for name, typ in schema.variables.items()
            if typ.startswith("list(") and typ[5:-1] in self._messages
        }
        variables = {name: self._type(typ) for name, typ in schema.variables.items()}
        self._env = cel.NewEnv(pool, variables=variables)

    @staticmethod
    def _file(schema: ContextSchema) -> descriptor_pb2.FileDescriptorProto:
        fdp = descriptor_pb2.FileDescriptorProto(name="orderloom_rules.proto", package=_PACKAGE, syntax="proto3")
        for name, fields in schema.messages.items():
            message = fdp.message_type.add(name=name)
            for number, (fname, ftype) in enumerate(fields.items(), 1):
                message.field.add(name=fname, number=number, type=_PROTO_TYPES[ftype])
        return fdp

    def _type(self, typ: str) -> Any:
        if typ in _SCALAR_TYPES:
            return getattr(cel.Type, _SCALAR_TYPES[typ])
        if typ == "map(string, dyn)":
            return cel.Type.Map(cel.Type.STRING, cel.Type.DYN)
        if typ.startswith("list("):
            return cel.Type.List(self._type(typ[5:-1]))
        return cel.Type(f"{_PACKAGE}.{typ}")

    def activation(self, context: Mapping[str, Any]) -> Any:
        """One activation for a context (message-typed lists converted once)."""
        data = dict(context)
        for name, message in self._list_vars.items():
            data[name] = [message(**item) for item in data.get(name, ())]
        return self._env.Activation(data)

    def batch(self, conditions: list[tuple[str, Any]]) -> _Batch:
        """Checked conditions as one list program."""
        return _Batch(self._env, conditions)

    def prepare(self, context: Mapping[str, Any]) -> Any:
        """The activation of a context, to share between rule sets (see ``evaluate(prepared=...)``)."""
        return self.activation(context)

    def check(self, expression: str, *, rule_id: str, field: str = "when") -> tuple[Any, list[RuleProblem]]:
        """Compile one boolean expression; (program, []) or (None, problems with positions)."""
        try:
            expr = self._env.compile(expression)
        except RuntimeError as exc:
            return None, _problems(exc, rule_id, field)
        returns = expr.return_type()
        if returns.name() not in ("BOOL", "DYN"):
            message = f"must be a bool expression, this one is {returns.name().lower()}"
            return None, [RuleProblem(message, rule_id=rule_id, field=field, line=1, column=1)]
        return expr, []

    def compile(self, document: RuleSetDocument, *, version: int | None = None) -> CelCompiledRuleSet:
        """Compile and type-check every expression; RuleSetInvalid lists each problem with its position."""
        problems: list[RuleProblem] = []
        rules: list[tuple[Rule, Any]] = []
        for rule in document.ordered_rules():
            expr, found = self.check(rule.when, rule_id=rule.id)
            problems.extend(found)
            if expr is not None:
                rules.append((rule, expr))
        tables = [t for table in document.tables if (t := self._compile_table(table, problems)) is not None]
        if problems:
            raise RuleSetInvalid(problems)
        return CelCompiledRuleSet(self, document, version, rules, tables)

    def _compile_table(self, table: DecisionTable, problems: list[RuleProblem]) -> _CompiledTable | None:
        before = len(problems)
        for index, column in enumerate(table.inputs):
            try:
                self._env.compile(column)
            except RuntimeError as exc:
                problems.extend(_problems(exc, table.id, f"inputs[{index}]"))
        if len(problems) > before:
            return None
        rows = []
        for index, row in enumerate(table.rows):
            expr, found = self.check(row.when, rule_id=f"{table.id}#{index}", field="when")
            problems.extend(found)
            rows.append((row.when, expr))
        if len(problems) > before:
            return None
        return _CompiledTable(table, self.batch(rows), tuple(dict(row.outputs) for row in table.rows))
