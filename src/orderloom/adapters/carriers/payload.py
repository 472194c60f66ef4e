"""Reading carrier payloads safely: JSON, or XML through defusedxml (no entity expansion, no external entities),
with namespaces dropped so parsers can use plain tag names. Anything unreadable is a ``TrackingParseError``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from orderloom.domain.tracking import TrackingParseError

__all__ = [
    "Element",
    "child",
    "children",
    "decode",
    "dig",
    "first_text",
    "iter_dicts",
    "parse_datetime",
    "text_of",
]

Element = ET.Element
MAX_BYTES = 5_000_000


def decode(carrier: str, payload: bytes) -> Any:
    """JSON value or XML root element (namespaces stripped); raises TrackingParseError for anything else."""
    if len(payload) > MAX_BYTES:
        raise TrackingParseError(carrier, f"payload larger than {MAX_BYTES} bytes")
    head = payload.lstrip()[:1]
    if head in (b"{", b"["):
        try:
            return json.loads(payload)
        except (ValueError, RecursionError) as exc:
            raise TrackingParseError(carrier, f"invalid JSON ({exc})") from None
    if head == b"<":
        try:
            root = SafeET.fromstring(payload)
        except (ET.ParseError, DefusedXmlException, ValueError) as exc:
            raise TrackingParseError(carrier, f"invalid or unsafe XML ({exc})") from None
        _strip_namespaces(root)
        return root
    raise TrackingParseError(carrier, "neither JSON nor XML")


def _strip_namespaces(root: Element) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.rsplit("}", 1)[1]
        for key in [k for k in el.attrib if "}" in k]:
            el.attrib[key.rsplit("}", 1)[1]] = el.attrib.pop(key)


def child(el: Element | None, path: str) -> Element | None:
    """The first element at a slash path (``a/b``), or None."""
    return None if el is None else el.find(path)


def children(el: Element | None, path: str) -> list[Element]:
    """All elements at a slash path."""
    return [] if el is None else el.findall(path)


def text_of(el: Element | None, path: str | None = None) -> str | None:
    """Stripped text at a path (or of the element); empty text → None."""
    node = el if path is None else child(el, path)
    if node is None or node.text is None:
        return None
    value = " ".join(node.text.split())
    return value or None


def first_text(el: Element | None, *paths: str) -> str | None:
    """The first non-empty text among several paths."""
    for path in paths:
        value = text_of(el, path)
        if value:
            return value
    return None


def dig(doc: Any, *keys: str | int) -> Any:
    """Nested lookup through dicts and lists that returns None instead of raising."""
    cur = doc
    for key in keys:
        if isinstance(key, int):
            if not isinstance(cur, list) or not -len(cur) <= key < len(cur):
                return None
            cur = cur[key]
        else:
            if not isinstance(cur, Mapping):
                return None
            cur = cur.get(key)
    return cur


def parse_datetime(carrier: str, text: str, *formats: str) -> datetime:
    """ISO 8601 (with or without offset, ``Z`` allowed) or one of the given strptime formats."""
    value = " ".join(text.split())
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt)  # noqa: DTZ007 (naive local time; zone applied by carrier_time)
        except ValueError:
            continue
    raise TrackingParseError(carrier, f"unreadable time {text!r}")


def iter_dicts(value: Any) -> Iterator[Mapping[str, Any]]:
    """The mappings in a value that may be one mapping or a list of them."""
    if isinstance(value, Mapping):
        yield value
    elif isinstance(value, list):
        yield from (v for v in value if isinstance(v, Mapping))
