"""Pick-list files for warehouses that work from files: CSV (RFC 4180, header row) or NDJSON (one JSON per line)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import msgspec

__all__ = ["PICK_LIST_COLUMNS", "render_pick_list"]

PICK_LIST_COLUMNS = (
    "wave_id",
    "location_id",
    "fulfilment_order_id",
    "order_id",
    "status",
    "ship_by",
    "service_level",
    "line_no",
    "sku",
    "quantity",
    "gift_message",
    "packing_notes",
)


def render_pick_list(rows: Sequence[dict[str, Any]], fmt: str) -> tuple[bytes, str]:
    """The rows as a file body and its media type; ValueError for an unknown format."""
    if fmt == "ndjson":
        return b"".join(msgspec.json.encode({k: r[k] for k in PICK_LIST_COLUMNS}) + b"\n" for r in rows), (
            "application/x-ndjson"
        )
    if fmt != "csv":
        raise ValueError(f"unknown pick-list format {fmt!r} (csv or ndjson)")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=PICK_LIST_COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(), "text/csv; charset=utf-8"
