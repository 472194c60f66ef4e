"""Per-tenant custom order fields (a JSON Schema subset) and order templates, checked at intake.

Supported keywords: ``type`` (string, integer, number, boolean, array, object), ``required``, ``enum``,
``pattern``, ``minimum``/``maximum``, ``maxLength``, ``additionalProperties: false``. A template (B2B wholesale,
presale, subscription …) names extra required fields and defaults; an order picks one with the custom field
``template``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orderloom.domain.errors import FieldError

__all__ = ["CustomFieldSchema", "OrderTemplate", "SchemaInvalid"]

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}
_KEYWORDS = {"type", "enum", "pattern", "minimum", "maximum", "maxLength", "description", "title"}


class SchemaInvalid(ValueError):
    """A custom field schema or template that can't be used; names each problem."""


def _type_ok(value: Any, typ: str) -> bool:
    if isinstance(value, bool) and typ in ("integer", "number"):
        return False
    return isinstance(value, _TYPES[typ])


def _check_property(name: str, spec: Any) -> list[str]:
    if not isinstance(spec, Mapping):
        return [f"properties.{name}: must be an object"]
    problems = [f"properties.{name}: unsupported keyword {k!r}" for k in spec if k not in _KEYWORDS]
    if spec.get("type") not in _TYPES:
        problems.append(f"properties.{name}.type: one of {', '.join(_TYPES)}")
    if "enum" in spec and not isinstance(spec["enum"], list):
        problems.append(f"properties.{name}.enum: must be a list")
    if "pattern" in spec:
        try:
            re.compile(str(spec["pattern"]))
        except re.error as exc:
            problems.append(f"properties.{name}.pattern: {exc}")
    return problems


@dataclass(frozen=True, slots=True)
class CustomFieldSchema:
    """The tenant's declared custom order fields."""

    properties: dict[str, dict[str, Any]]
    required: tuple[str, ...] = ()
    additional: bool = True

    @classmethod
    def from_json_schema(cls, raw: Any) -> CustomFieldSchema:
        """Check and build from a JSON Schema object; SchemaInvalid lists the problems."""
        if not isinstance(raw, Mapping) or raw.get("type", "object") != "object":
            raise SchemaInvalid("custom fields are a JSON Schema with type 'object'")
        props = raw.get("properties") or {}
        required = raw.get("required") or []
        if not isinstance(props, Mapping) or not isinstance(required, list):
            raise SchemaInvalid("'properties' is an object and 'required' a list")
        problems = [p for name, spec in props.items() for p in _check_property(str(name), spec)]
        problems += [f"required: {r!r} is not a declared property" for r in required if r not in props]
        if problems:
            raise SchemaInvalid("; ".join(problems))
        additional = raw.get("additionalProperties", True) is not False
        return cls({str(k): dict(v) for k, v in props.items()}, tuple(str(r) for r in required), additional)

    def validate(self, values: Mapping[str, Any], *, also_required: tuple[str, ...] = ()) -> list[FieldError]:
        """Every problem with an order's custom fields (empty when they conform)."""
        errors = [
            FieldError(f"custom_fields.{name}", "is required")
            for name in dict.fromkeys((*self.required, *also_required))
            if values.get(name) in (None, "")
        ]
        for name, value in values.items():
            spec = self.properties.get(name)
            if spec is None:
                if not self.additional and name != "template":
                    errors.append(FieldError(f"custom_fields.{name}", "is not a declared custom field"))
                continue
            message = _value_problem(value, spec)
            if message:
                errors.append(FieldError(f"custom_fields.{name}", message))
        return errors


def _value_problem(value: Any, spec: Mapping[str, Any]) -> str | None:
    typ = str(spec["type"])
    if value is None:
        return None
    if not _type_ok(value, typ):
        return f"must be of type {typ}"
    if "enum" in spec and value not in spec["enum"]:
        return f"must be one of {', '.join(map(str, spec['enum']))}"
    if typ == "string" and "pattern" in spec and not re.search(str(spec["pattern"]), value):
        return f"must match {spec['pattern']}"
    if typ == "string" and "maxLength" in spec and len(value) > int(spec["maxLength"]):
        return f"must be at most {spec['maxLength']} characters"
    if typ in ("integer", "number"):
        if "minimum" in spec and value < spec["minimum"]:
            return f"must be ≥ {spec['minimum']}"
        if "maximum" in spec and value > spec["maximum"]:
            return f"must be ≤ {spec['maximum']}"
    return None


@dataclass(frozen=True, slots=True)
class OrderTemplate:
    """An order template: required custom fields and defaults (e.g. B2B wholesale: po_number required)."""

    name: str
    required: tuple[str, ...] = ()
    defaults: tuple[tuple[str, Any], ...] = ()
    description: str | None = None

    @classmethod
    def from_document(cls, name: str, raw: Any) -> OrderTemplate:
        """Check and build ``{"required": [...], "defaults": {...}, "description": ...}``."""
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,39}", name):
            raise SchemaInvalid("a template name is 1-40 lowercase letters, digits, '-' or '_'")
        if not isinstance(raw, Mapping):
            raise SchemaInvalid("a template is an object with 'required' and/or 'defaults'")
        required, defaults = raw.get("required") or [], raw.get("defaults") or {}
        if not isinstance(required, list) or not isinstance(defaults, Mapping):
            raise SchemaInvalid("'required' is a list and 'defaults' an object")
        return cls(
            name,
            tuple(map(str, required)),
            tuple((str(k), v) for k, v in defaults.items()),
            None if raw.get("description") is None else str(raw["description"]),
        )

    def apply_defaults(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The custom fields with this template's defaults filled in where missing."""
        return {**dict(self.defaults), **values}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "name": self.name,
            "required": list(self.required),
            "defaults": dict(self.defaults),
            "description": self.description,
        }
