"""Custom order fields (JSON Schema subset) and order templates."""

from __future__ import annotations

import pytest

from orderloom.domain.custom_fields import CustomFieldSchema, OrderTemplate, SchemaInvalid

SCHEMA = {
    "type": "object",
    "properties": {
        "po_number": {"type": "string", "pattern": "^PO-[0-9]+$"},
        "priority": {"type": "integer", "minimum": 1, "maximum": 5},
        "incoterm": {"type": "string", "enum": ["EXW", "DAP", "DDP"]},
        "gift": {"type": "boolean"},
    },
    "required": ["incoterm"],
    "additionalProperties": False,
}


def test_valid_custom_fields_pass() -> None:
    schema = CustomFieldSchema.from_json_schema(SCHEMA)
    assert schema.validate({"po_number": "PO-12", "priority": 2, "incoterm": "DAP", "gift": False}) == []


def test_every_problem_is_named() -> None:
    schema = CustomFieldSchema.from_json_schema(SCHEMA)
    errors = schema.validate({"po_number": "12", "priority": 9, "gift": "yes", "colour": "red"})
    assert [(e.field, e.message) for e in errors] == [
        ("custom_fields.incoterm", "is required"),
        ("custom_fields.po_number", "must match ^PO-[0-9]+$"),
        ("custom_fields.priority", "must be ≤ 5"),
        ("custom_fields.gift", "must be of type boolean"),
        ("custom_fields.colour", "is not a declared custom field"),
    ]
    assert schema.validate({"incoterm": "CIF", "priority": True})[0].message == "must be one of EXW, DAP, DDP"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "array"}, "type 'object'"),
        ({"properties": {"a": {"type": "date"}}}, "properties.a.type"),
        ({"properties": {"a": {"type": "string", "format": "email"}}}, "unsupported keyword 'format'"),
        ({"properties": {"a": {"type": "string", "pattern": "("}}}, "properties.a.pattern"),
        ({"properties": {}, "required": ["b"]}, "'b' is not a declared property"),
    ],
)
def test_bad_schemas_are_refused(raw: dict[str, object], message: str) -> None:
    with pytest.raises(SchemaInvalid, match=message):
        CustomFieldSchema.from_json_schema(raw)


def test_templates_add_required_fields_and_defaults() -> None:
    b2b = OrderTemplate.from_document("b2b-wholesale", {"required": ["po_number"], "defaults": {"terms": "net30"}})
    assert b2b.apply_defaults({"po_number": "PO-1"}) == {"terms": "net30", "po_number": "PO-1"}
    schema = CustomFieldSchema.from_json_schema({"properties": {"po_number": {"type": "string"}}})
    assert [e.field for e in schema.validate({}, also_required=b2b.required)] == ["custom_fields.po_number"]
    with pytest.raises(SchemaInvalid):
        OrderTemplate.from_document("B2B Wholesale!", {})
