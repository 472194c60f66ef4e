"""What every channel adapter shares: the typed mapping error, JSON nodes that know their JSON pointer, the field
maps loaded from ``data/channels/<name>.yaml``, and the builder that turns mapped lines and figures into a canonical
order document that reconciles with our validation (or says precisely why the channel's own figures do not)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from orderloom.domain.currencies import CURRENCY_EXPONENTS
from orderloom.domain.errors import DomainError

__all__ = [
    "ChannelAdapter",
    "FieldMap",
    "LineIn",
    "MappingError",
    "Node",
    "OrderIn",
    "build_order",
    "command",
    "field_map",
    "format_utc",
    "map_address",
    "parse_time",
    "pick_sku",
    "unit_price_of",
]

_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:#+\- ]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_AMOUNT = Decimal("1E+15")
_MISSING = object()


class MappingError(DomainError):
    """A channel payload that cannot be mapped; ``pointer`` is the RFC 6901 JSON pointer of the offending field."""

    def __init__(self, pointer: str, reason: str) -> None:
        self.pointer = pointer or "/"
        self.reason = reason
        super().__init__(f"{self.pointer}: {reason}")


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


@cache
def _split(dotted: str) -> tuple[str, ...]:
    return tuple(dotted.split("/"))


class Node:
    """A JSON value with the pointer it was found at; every accessor raises MappingError naming that pointer.

    The pointer string is built only when asked for (an error), so walking a payload stays cheap."""

    __slots__ = ("_key", "_parent", "_pointer", "value")

    def __init__(self, value: Any, pointer: str = "", *, parent: Node | None = None, key: str | int = "") -> None:
        self.value = value
        self._parent = parent
        self._key = key
        self._pointer: str | None = pointer if parent is None else None

    @property
    def pointer(self) -> str:
        """The RFC 6901 JSON pointer of this value ("" for the document itself)."""
        if self._pointer is None:
            assert self._parent is not None
            self._pointer = f"{self._parent.pointer}/{_escape(str(self._key))}"
        return self._pointer

    def at(self, key: str | int) -> Node:
        """The child at ``key`` (``None`` value when absent)."""
        v = self.value
        if type(key) is int:
            seq = v if type(v) is list else []
            return Node(seq[key] if -len(seq) <= key < len(seq) else None, parent=self, key=key)
        return Node(v.get(key) if type(v) is dict else None, parent=self, key=key)

    def path(self, dotted: str) -> Node:
        """The descendant at a '/'-separated relative path such as ``OrderTotal/Amount``."""
        node = self
        for part in _split(dotted):
            node = node.at(int(part) if part.isdigit() and type(node.value) is list else part)
        return node

    def str_at(self, key: str) -> str | None:
        """The optional text at ``key`` (fast path for plain strings; anything else as ``at(key).text``)."""
        v = self.value.get(key) if type(self.value) is dict else None
        if type(v) is str:
            return v.strip() or None
        return None if v is None else self.at(key).text(required=False)

    def dec_at(self, key: str, default: Decimal | None = None) -> Decimal:
        """The decimal at ``key`` (fast path for plain decimal strings; anything else as ``at(key).dec``)."""
        v = self.value.get(key) if type(self.value) is dict else None
        if type(v) is str:
            try:
                d = Decimal(v)
            except InvalidOperation:
                pass
            else:
                if d.is_finite() and abs(d) < _MAX_AMOUNT:
                    return d
        return self.at(key).dec(default=default)

    def req_at(self, key: str) -> str:
        """The required text at ``key``."""
        return self.at(key).req()

    def int_at(self, key: str) -> int:
        """The whole number at ``key`` (fast path for JSON integers; anything else as ``at(key).whole``)."""
        v = self.value.get(key) if type(self.value) is dict else None
        if type(v) is int and -(10**15) < v < 10**15:
            return v
        return self.at(key).whole()

    def has(self, key: str) -> bool:
        """True when this is an object with a non-null ``key``."""
        return isinstance(self.value, dict) and self.value.get(key) is not None

    @property
    def missing(self) -> bool:
        """True when the value is null or absent."""
        return self.value is None

    def fail(self, reason: str) -> MappingError:
        """A MappingError at this node."""
        return MappingError(self.pointer, reason)

    def obj(self) -> Node:
        """This node, which must be a JSON object."""
        if not isinstance(self.value, dict):
            raise self.fail(f"an object is expected, got {_kind(self.value)}")
        return self

    def items(self, *, required: bool = True) -> Iterator[Node]:
        """The elements of this array (an absent array is empty unless ``required``)."""
        if self.value is None and not required:
            return iter(())
        if not isinstance(self.value, list):
            raise self.fail(f"an array is expected, got {_kind(self.value)}")
        return (Node(v, parent=self, key=i) for i, v in enumerate(self.value))

    def text(self, *, required: bool = True) -> str | None:
        """A non-empty string (numbers are accepted and rendered); None when absent and not required."""
        v = self.value
        if type(v) is str and (stripped := v.strip()):
            return stripped
        if isinstance(v, bool):
            raise self.fail("a string is expected, got a boolean")
        if isinstance(v, int | float | Decimal):
            v = format(v, "f") if isinstance(v, Decimal) else str(v)
        if isinstance(v, str) and v.strip():
            return v.strip()
        if v is None or v == "" or (isinstance(v, str) and not v.strip()):
            if required:
                raise self.fail("a value is required here")
            return None
        raise self.fail(f"a string is expected, got {_kind(v)}")

    def req(self) -> str:
        """A required non-empty string."""
        s = self.text()
        assert s is not None
        return s

    def dec(self, *, default: Decimal | None = None, scale: int = 0) -> Decimal:
        """A finite decimal (from a JSON number or numeric string), divided by 10**scale for minor units."""
        v = self.value
        if v is None or v == "":
            if default is not None:
                return default
            raise self.fail("an amount is required here")
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise self.fail(f"a decimal amount is expected, got {_kind(v)}")
        try:
            d = Decimal(str(v).strip())
        except InvalidOperation:
            raise self.fail(f"not a decimal amount: {str(v)[:40]!r}") from None
        if not d.is_finite() or abs(d) >= _MAX_AMOUNT * (10**scale):
            raise self.fail(f"amount out of range: {str(v)[:40]!r}")
        return d.scaleb(-scale) if scale else d

    def whole(self, *, default: int | None = None) -> int:
        """A whole number (from a JSON number or numeric string such as "2" or "2.0")."""
        if self.value is None and default is not None:
            return default
        d = self.dec()
        if d != d.to_integral_value():
            raise self.fail(f"a whole number is expected, got {d}")
        return int(d)

    def flag(self) -> bool:
        """A boolean (also "true"/"false" strings); absent is False."""
        v = self.value
        if isinstance(v, str):
            return v.strip().lower() == "true"
        return bool(v)


def _kind(v: Any) -> str:
    if v is None:
        return "nothing"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(v), "a number")


# ---------------------------------------------------------------------------------------------------------------------
# field maps (data)


class FieldMap:
    """A channel's declarative mapping, from ``data/channels/<name>.yaml``."""

    __slots__ = ("_tables", "name", "raw")

    def __init__(self, name: str, raw: Mapping[str, Any]) -> None:
        self.name = name
        self.raw = raw
        self._tables: dict[str, dict[str, Any]] = {}

    def table(self, key: str) -> dict[str, Any]:
        """A named mapping table (e.g. ``status``, ``payment_status``, ``address``); read-only, built once."""
        table = self._tables.get(key)
        if table is None:
            value = self.raw.get(key) or {}
            if not isinstance(value, dict):
                raise TypeError(f"channel map {self.name}: {key} must be a mapping")
            table = self._tables[key] = {str(k): v for k, v in value.items()}
        return table

    def get(self, key: str, default: Any = None) -> Any:
        """A scalar setting."""
        return self.raw.get(key, default)


@cache
def field_map(name: str) -> FieldMap:
    """The field map of a built-in channel (cached)."""
    text = resources.files("orderloom.data").joinpath("channels", f"{name}.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict) or raw.get("channel") != name:
        raise TypeError(f"data/channels/{name}.yaml must be a mapping with channel: {name}")
    return FieldMap(name, raw)


# ---------------------------------------------------------------------------------------------------------------------
# times


def format_utc(value: datetime) -> str:
    """An aware time as RFC 3339 UTC with a ``Z``."""
    return value.astimezone(UTC).replace(microsecond=value.microsecond).isoformat().replace("+00:00", "Z")


def parse_time(node: Node, *, local_tz: str | None = None) -> datetime:
    """An ISO 8601 time (offset or Z), a local 'YYYY-MM-DD HH:MM:SS' in ``local_tz``, or epoch seconds/millis."""
    v = node.value
    if isinstance(v, int | float) and not isinstance(v, bool):
        return _epoch(node, Decimal(str(v)))
    text = node.req()
    if re.fullmatch(r"\d+(\.\d+)?([eE]\d+)?", text):
        return _epoch(node, Decimal(text))
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise node.fail(f"not a timestamp: {text[:40]!r}") from None
    if dt.tzinfo is None:
        if not local_tz:
            raise node.fail(f"a time without a UTC offset and no channel time zone configured: {text!r}")
        try:
            dt = dt.replace(tzinfo=ZoneInfo(local_tz))
        except ZoneInfoNotFoundError:
            raise node.fail(f"unknown time zone {local_tz!r}") from None
    return dt.astimezone(UTC)


def _epoch(node: Node, value: Decimal) -> datetime:
    seconds = value / 1000 if value > Decimal("1e11") else value  # millisecond epochs (Kuaishou, JD) are 13 digits
    if not Decimal(0) <= seconds < Decimal("1e10"):
        raise node.fail(f"epoch time out of range: {value}")
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=float(seconds))


# ---------------------------------------------------------------------------------------------------------------------
# the canonical order builder


@dataclass(slots=True, kw_only=True)
class LineIn:
    """One mapped line: ``unit_price`` per unit; ``discount`` and ``tax`` for the whole line."""

    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    name: str | None = None
    line_id: str | None = None
    pointer: str = ""
    gross: Decimal | None = None  # the line amount before discount, when the channel gives it instead of a unit price


@dataclass(slots=True, kw_only=True)
class OrderIn:
    """Everything an adapter gathered about one order, before it is turned into canonical JSON."""

    channel: str
    channel_order_id: str
    currency: str
    placed_at: datetime
    lines: list[LineIn]
    grand_total: Decimal
    total_pointer: str
    shipping: Decimal = Decimal(0)
    order_tax: Decimal | None = None  # None: the sum of the line taxes
    order_discount: Decimal = Decimal(0)  # order-level, spread over the lines
    taxes_included: bool = False
    customer: dict[str, Any] = field(default_factory=dict)
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    payment: dict[str, Any] = field(default_factory=dict)
    status: str | None = None  # "main.sub"
    tags: list[str] = field(default_factory=list)
    custom_fields: dict[str, Any] = field(default_factory=dict)
    channel_figures: dict[str, Any] = field(default_factory=dict)  # the channel's own subtotals, quoted if off
    updated_at: datetime | None = None  # the channel's last-modified time: later updates apply in this order


_QUANTA = {e: Decimal(1).scaleb(-e) for e in range(5)}


def _q(value: Decimal, exp: int) -> Decimal:
    return value.quantize(_QUANTA[exp], rounding=ROUND_HALF_UP)


def _s(value: Decimal, exp: int) -> str:
    return str(value.quantize(_QUANTA[exp], rounding=ROUND_HALF_UP))


def pick_sku(*candidates: object, fallback: str) -> str:
    """The first candidate that is a valid SKU code (trimmed), else ``fallback``."""
    for c in candidates:
        if c is None or isinstance(c, bool):
            continue
        text = str(c).strip()
        if text and _SKU.match(text):
            return text
    return fallback[:64]


def _allocate(amount: Decimal, weights: list[Decimal], room: list[Decimal], exp: int) -> list[Decimal]:
    """Split ``amount`` over lines in proportion to ``weights`` in minor units, never beyond each line's ``room``."""
    unit = _QUANTA[exp]
    shares = [Decimal(0)] * len(weights)
    left = amount
    total_w = sum(weights)
    if total_w > 0:
        for i, w in enumerate(weights):
            share = min(room[i], (amount * w / total_w).quantize(unit, rounding="ROUND_DOWN"))
            shares[i] = share
            left -= share
    for i in range(len(shares)):  # the remainder, a unit at a time where there is room
        take = min(left, room[i] - shares[i])
        if take > 0:
            shares[i] += take
            left -= take
    return shares


def unit_price_of(line_total: Decimal, quantity: int, exp: int) -> tuple[Decimal, Decimal]:
    """(unit price, discount) such that unit x quantity - discount = line_total in the currency's minor units."""
    if quantity <= 0:
        return line_total, Decimal(0)
    unit = (line_total / quantity).quantize(_QUANTA[exp], rounding=ROUND_CEILING)
    return unit, unit * quantity - _q(line_total, exp)


def _line_docs(o: OrderIn, exp: int) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for line in o.lines:
        if line.quantity <= 0:
            raise MappingError(line.pointer, f"quantity must be positive, got {line.quantity}")
        unit, rounding = _q(line.unit_price, exp), Decimal(0)
        if line.gross is not None:
            unit, rounding = unit_price_of(line.gross, line.quantity, exp)
        doc: dict[str, Any] = {
            "sku": line.sku,
            "name": (line.name or None) and line.name[:500],
            "quantity": line.quantity,
            "unit_price": unit,
            "discount": _q(line.discount, exp) + rounding,
            "tax": _q(line.tax, exp),
        }
        if line.line_id:
            doc["line_id"] = line.line_id[:128]
        if doc["unit_price"] < 0 or doc["discount"] < 0 or doc["tax"] < 0:
            raise MappingError(line.pointer, "negative line amounts cannot be mapped")
        if doc["discount"] > doc["unit_price"] * line.quantity:
            raise MappingError(line.pointer, "line discount exceeds the line amount")
        docs.append(doc)
    return docs


def _reconcile(o: OrderIn, lines: list[dict[str, Any]], exp: int) -> dict[str, Decimal]:
    """Totals that satisfy subtotal - discount + shipping + tax = grand total; differences are explained."""
    gross = [d["unit_price"] * d["quantity"] for d in lines]
    if o.order_discount:
        room = [g - d["discount"] for g, d in zip(gross, lines, strict=True)]
        extra = _allocate(_q(o.order_discount, exp), room, room, exp)
        if sum(extra) != _q(o.order_discount, exp):
            raise MappingError(o.total_pointer, "the order discount exceeds the value of the lines")
        for d, e in zip(lines, extra, strict=True):
            d["discount"] += e
    line_tax = sum((d["tax"] for d in lines), Decimal(0))
    shipping = _q(o.shipping, exp)
    tax = max(_q(o.order_tax, exp) if o.order_tax is not None else line_tax, line_tax)
    sub = sum(gross, Decimal(0))
    disc = sum((d["discount"] for d in lines), Decimal(0))
    grand = _q(o.grand_total, exp)
    computed = sub - disc + shipping + (Decimal(0) if o.taxes_included else tax)
    diff = computed - grand
    if diff:
        how = _absorb(o, lines, gross, diff, exp, shipping=shipping, tax=tax, line_tax=line_tax)
        shipping, tax = how.pop("shipping"), how.pop("tax")
        parts = f"lines {_s(sub, exp)} - discounts {_s(disc, exp)} + shipping {_s(o.shipping, exp)}"
        parts += "" if o.taxes_included else f" + tax {_s(tax, exp)}"
        o.custom_fields["channel_reconciliation"] = {
            "channel_total": _s(grand, exp),
            "computed_total": _s(computed, exp),
            "difference": _s(-diff, exp),
            "adjusted": how["adjusted"],
            "channel_figures": o.channel_figures,
            "note": f"the channel's own figures do not reconcile: {parts} = {_s(computed, exp)}, but its total is "
            f"{_s(grand, exp)}; the {_s(abs(diff), exp)} difference was booked as {how['adjusted']}",
        }
        disc = sum((d["discount"] for d in lines), Decimal(0))
    return {"subtotal": sub, "discount": disc, "shipping": shipping, "tax": tax, "grand_total": grand}


def _absorb(
    o: OrderIn,
    lines: list[dict[str, Any]],
    gross: list[Decimal],
    diff: Decimal,
    exp: int,
    *,
    shipping: Decimal,
    tax: Decimal,
    line_tax: Decimal,
) -> dict[str, Any]:
    if diff < 0:  # the channel charged more than its parts: an unexplained charge, carried as shipping/other charges
        return {"shipping": shipping - diff, "tax": tax, "adjusted": "shipping"}
    room = [g - d["discount"] for g, d in zip(gross, lines, strict=True)]
    take = min(diff, sum(room))
    adjusted: list[str] = []
    if take:
        for d, e in zip(lines, _allocate(take, room, room, exp), strict=True):
            d["discount"] += e
        adjusted.append("discount")
    left = diff - take
    if left and shipping:
        cut = min(left, shipping)
        shipping, left = shipping - cut, left - cut
        adjusted.append("shipping")
    if left and not o.taxes_included and tax > line_tax:
        cut = min(left, tax - line_tax)
        tax, left = tax - cut, left - cut
        adjusted.append("tax")
    if left:
        raise MappingError(
            o.total_pointer, f"the channel total {_s(o.grand_total, exp)} is {_s(left, exp)} below what its lines alone"
        )
    return {"shipping": shipping, "tax": tax, "adjusted": "+".join(adjusted)}


def _clean(d: dict[str, Any] | None) -> dict[str, Any] | None:
    if not d:
        return None
    out = {k: v for k, v in d.items() if v not in (None, "")}
    return out or None


def build_order(o: OrderIn) -> dict[str, Any]:
    """The canonical order document (JSON-ready: amounts as strings) accepted as is by ``POST /v1/orders``."""
    exp = CURRENCY_EXPONENTS.get(o.currency)
    if exp is None:
        raise MappingError(o.total_pointer, f"unknown currency {o.currency!r}")
    if not o.lines:
        raise MappingError(o.total_pointer, "the order has no lines")
    lines = _line_docs(o, exp)
    totals = _reconcile(o, lines, exp)
    if o.updated_at is not None:
        o.custom_fields["channel_updated_at"] = format_utc(o.updated_at)
    customer = dict(o.customer)
    if customer.get("email") and not _EMAIL.match(str(customer["email"])):
        o.custom_fields["channel_email"] = customer.pop("email")
    doc: dict[str, Any] = {
        "channel": o.channel,
        "channel_order_id": o.channel_order_id[:128],
        "currency": o.currency,
        "placed_at": format_utc(o.placed_at),
        "customer": _clean(customer) or {},
        "lines": [{k: (str(v) if type(v) is Decimal else v) for k, v in d.items()} for d in lines],
        "totals": {k: _s(v, exp) for k, v in totals.items()},
        "taxes_included": o.taxes_included,
        "payment": _clean(o.payment) or {"status": "pending"},
        "tags": list(dict.fromkeys(t[:64] for t in o.tags if t)),
        "custom_fields": o.custom_fields,
    }
    for key, addr in (("shipping_address", o.shipping_address), ("billing_address", o.billing_address)):
        if (clean := _clean(addr)) is not None:
            doc[key] = clean
    if o.status:
        main, _, sub = o.status.partition(".")
        doc["status"] = {"main": main, "sub": sub}
    return doc


def command(
    name: str, *, channel: str, channel_order_id: str, occurred_at: datetime | None, **params: Any
) -> dict[str, Any]:
    """A status-change command document; the target order is nested so it is never mistaken for an order."""
    doc: dict[str, Any] = {
        "command": name,
        "channel": channel,
        "order": {"channel": channel, "channel_order_id": channel_order_id},
    }
    if occurred_at is not None:
        doc["occurred_at"] = format_utc(occurred_at)
    doc["params"] = {k: v for k, v in params.items() if v is not None}
    return doc


# ---------------------------------------------------------------------------------------------------------------------
# addresses


def _address_field(node: Node, key: str, path: str) -> Any:
    if key in ("latitude", "longitude"):
        child = node.path(path)
        return None if child.missing else float(child.dec())
    text = node.str_at(path) if "/" not in path else node.path(path).text(required=False)
    return None if text is None else text[:300]


def map_address(node: Node, fields: Mapping[str, Any]) -> dict[str, Any] | None:
    """An address from a field map ``{canonical: "channel/path"}``; None when the object is absent."""
    if node.missing:
        return None
    node.obj()
    out: dict[str, Any] = {}
    for key, path in fields.items():
        if path and (value := _address_field(node, key, str(path))) is not None:
            out[key] = value
    if "country" in out:
        out["country"] = out["country"].upper()
        if not re.fullmatch(r"[A-Z]{2}", out["country"]):
            out.pop("country")
    return out or None


@runtime_checkable
class ChannelAdapter(Protocol):
    """Maps one channel's native payloads to canonical order documents and status-change commands."""

    name: str

    def map_payload(self, payload: Any, *, received_at: datetime) -> list[dict[str, Any]]:
        """Every order or command in the payload (a list/page response gives several), or raise MappingError."""
        ...
