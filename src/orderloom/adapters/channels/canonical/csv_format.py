"""Flat CSV orders (``orderloom import --channel canonical orders.csv``): one row per order line, rows of the same
``channel_order_id`` form one order; the order-level columns are read from its first row.

Required columns: ``channel_order_id, placed_at, currency, sku, quantity, unit_price``. Optional line columns:
``name, line_discount, line_tax``; optional order columns: ``channel`` (default ``csv``), ``shipping``, ``tax``
(order tax when it is not on the lines), ``grand_total`` (checked against the computed total when given),
``taxes_included``, ``payment_status``, ``status`` (``main.sub``), ``customer_email``, ``customer_name``,
``customer_phone``, ``ship_name``, ``ship_line1``, ``ship_line2``, ``ship_city``, ``ship_region``,
``ship_postal_code``, ``ship_country``, ``ship_phone``, ``tags`` (``;``-separated)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from orderloom.adapters.channels.base import LineIn, MappingError, Node, OrderIn, build_order, parse_time

__all__ = ["REQUIRED_COLUMNS", "csv_orders"]

REQUIRED_COLUMNS = ("channel_order_id", "placed_at", "currency", "sku", "quantity", "unit_price")
_ADDRESS = {
    "name": "ship_name",
    "line1": "ship_line1",
    "line2": "ship_line2",
    "city": "ship_city",
    "region": "ship_region",
    "postal_code": "ship_postal_code",
    "country": "ship_country",
    "phone": "ship_phone",
}


def _dec(row: dict[str, str], key: str, lineno: int, default: str = "0") -> Decimal:
    text = (row.get(key) or "").strip() or default
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise MappingError(f"/{lineno}/{key}", f"not a decimal amount: {text!r}") from None
    if not value.is_finite():
        raise MappingError(f"/{lineno}/{key}", f"not a finite amount: {text!r}")
    return value


def _order(rows: list[tuple[int, dict[str, str]]], now: datetime) -> dict[str, Any]:
    lineno, first = rows[0]
    lines: list[LineIn] = []
    for n, row in rows:
        qty_text = (row.get("quantity") or "").strip()
        if not qty_text.isdigit():
            raise MappingError(f"/{n}/quantity", f"a whole number is expected, got {qty_text!r}")
        lines.append(
            LineIn(
                sku=(row.get("sku") or "").strip(),
                quantity=int(qty_text),
                unit_price=_dec(row, "unit_price", n, default=""),
                discount=_dec(row, "line_discount", n),
                tax=_dec(row, "line_tax", n),
                name=(row.get("name") or "").strip() or None,
                pointer=f"/{n}",
            )
        )
    line_tax = sum((li.tax for li in lines), Decimal(0))
    order_tax = line_tax + _dec(first, "tax", lineno)
    shipping = _dec(first, "shipping", lineno)
    taxes_included = (first.get("taxes_included") or "").strip().lower() in ("1", "true", "yes")
    computed = (
        sum((li.unit_price * li.quantity - li.discount for li in lines), Decimal(0))
        + shipping
        + (Decimal(0) if taxes_included else order_tax)
    )
    grand = _dec(first, "grand_total", lineno, default=str(computed))
    if grand != computed:
        raise MappingError(f"/{lineno}/grand_total", f"is {grand} but the rows add up to {computed}")
    address = {k: v.strip() for k, col in _ADDRESS.items() if (v := first.get(col) or "").strip()}
    o = OrderIn(
        channel=(first.get("channel") or "").strip() or "csv",
        channel_order_id=first["channel_order_id"].strip(),
        currency=first["currency"].strip().upper(),
        placed_at=parse_time(Node(first.get("placed_at"), f"/{lineno}/placed_at")),
        lines=lines,
        grand_total=grand,
        total_pointer=f"/{lineno}/grand_total",
        shipping=shipping,
        order_tax=order_tax,
        taxes_included=taxes_included,
        customer={
            "email": (first.get("customer_email") or "").strip() or None,
            "name": (first.get("customer_name") or "").strip() or None,
            "phone": (first.get("customer_phone") or "").strip() or None,
        },
        shipping_address=address or None,
        payment={"status": (first.get("payment_status") or "").strip() or "pending"},
        status=(first.get("status") or "").strip() or None,
        tags=[t.strip() for t in (first.get("tags") or "").split(";") if t.strip()],
    )
    return build_order(o)


def csv_orders(text: str, now: datetime) -> list[tuple[int, dict[str, Any] | MappingError]]:
    """(first row number, canonical order document or the MappingError of that order) per order in the CSV."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise MappingError("/0", f"missing CSV column(s): {', '.join(missing)}")
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for lineno, row in enumerate(reader, start=2):  # row 1 is the header
        key = (row.get("channel") or "", (row.get("channel_order_id") or "").strip())
        groups.setdefault("\x00".join(key), []).append((lineno, row))
    out: list[tuple[int, dict[str, Any] | MappingError]] = []
    for rows in groups.values():
        try:
            out.append((rows[0][0], _order(rows, now)))
        except MappingError as exc:
            out.append((rows[0][0], exc))
    return out
