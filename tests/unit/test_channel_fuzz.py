"""Malformed payloads (hypothesis): an adapter either maps them or raises our typed MappingError, never anything
else; mutations of the real samples are the nastiest inputs because they get deep into the mapping."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.test_channel_adapters import COMMANDS, FIXTURES, NOW, ORDERS, REGISTRY

from orderloom.adapters.channels import MappingError
from orderloom.adapters.channels.checks import check_document

SAMPLES = sorted({*ORDERS, *COMMANDS})
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "0", "-1", "1e999", "NaN", "2026-13-45", "abc", "1.5", "99999999999999999999"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _map(channel: str, payload: Any) -> None:
    try:
        for doc in REGISTRY.get(channel).map_payload(payload, received_at=NOW):
            check_document(doc)
    except MappingError as exc:
        assert exc.pointer.startswith("/")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(channel=st.sampled_from(REGISTRY.names()), payload=json_values)
def test_arbitrary_json_never_raises_anything_but_a_mapping_error(channel: str, payload: Any) -> None:
    _map(channel, payload)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from(SAMPLES), data=st.data())
def test_mutated_samples_never_raise_anything_but_a_mapping_error(sample: tuple[str, str], data: st.DataObject) -> None:
    channel, name = sample
    payload = json.loads((FIXTURES / channel / name).read_text(encoding="utf-8-sig"))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        paths = [p for p in _paths(payload) if p]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = payload
        for key in path[:-1]:
            parent = parent[key]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(json_values)
    _map(channel, copy.deepcopy(payload))
