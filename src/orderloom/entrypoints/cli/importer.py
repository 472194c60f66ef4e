"""``orderloom import --channel NAME FILE``: bulk import in batched transactions.

For ``canonical`` each line is one canonical order. For any other registered channel each NDJSON line (or the whole
file, when it is one JSON document) is a native payload that goes through that channel's adapter and may hold several
orders. Lines that fail to parse, map or validate, or that duplicate an existing order, go to a reject file (line
number, reason, the raw line) and to quarantine; every other line is committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from orderloom.adapters.channels import ChannelAdapter, MappingError, default_registry
from orderloom.adapters.channels.canonical.csv_format import csv_orders
from orderloom.adapters.channels.checks import decode_order
from orderloom.application.orders import record_placed_orders
from orderloom.application.ports import UnitOfWork
from orderloom.bootstrap import Container, bootstrap, utc_now
from orderloom.config import Settings
from orderloom.domain.errors import DomainError, DuplicateOrder
from orderloom.domain.orders import Order
from orderloom.entrypoints.api.schemas import decode_new_order
from orderloom.entrypoints.cli.errors import CliError

__all__ = ["ImportReport", "import_file", "import_orders"]

CHANNELS = ("canonical",)  # the fast path; every other registered channel goes through its adapter


@dataclass
class ImportReport:
    """What an import did."""

    committed: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    raw: dict[int, bytes] = field(default_factory=dict)


def _parse(raw: bytes, tenant_id: str, container: Container, adapter: ChannelAdapter | None = None) -> list[Order]:
    now = utc_now()
    if adapter is None:
        try:
            new = decode_new_order(raw)
        except msgspec.DecodeError as exc:
            raise ValueError(f"malformed JSON: {exc}") from None
        return [Order.place(tenant_id=tenant_id, new=new, lifecycle=container.lifecycle, now=now)]
    try:
        payload = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise ValueError(f"malformed JSON: {exc}") from None
    orders: list[Order] = []
    for doc in adapter.map_payload(payload, received_at=now):
        if "command" in doc:
            raise MappingError("/", f"a {doc['command']} command, not an order: send it to the webhook endpoint")
        new = decode_order(doc)
        orders.append(Order.place(tenant_id=tenant_id, new=new, lifecycle=container.lifecycle, now=now))
    return orders


def _records(path: Path, *, whole_file: bool) -> list[tuple[int, bytes]] | None:
    """The whole file as one record when it is a single JSON document (pretty-printed API responses)."""
    if not whole_file:
        return None
    raw = path.read_bytes()
    try:
        msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    return [(1, raw)]


def _csv_records(path: Path, report: ImportReport) -> list[tuple[int, bytes]]:
    """Flat CSV rows grouped into canonical orders (as JSON records); orders that cannot be built are rejected."""
    text = path.read_text(encoding="utf-8-sig")
    try:
        orders = csv_orders(text, utc_now())
    except MappingError as exc:
        report.rejected.append((1, str(exc)))
        report.raw[1] = text.splitlines()[0].encode() if text else b""
        return []
    lines = text.splitlines()
    records: list[tuple[int, bytes]] = []
    for lineno, doc in orders:
        if isinstance(doc, MappingError):
            report.rejected.append((lineno, str(doc)))
            report.raw[lineno] = lines[lineno - 1].encode() if lineno <= len(lines) else b""
        else:
            records.append((lineno, msgspec.json.encode(doc)))
    return records


def _store_batch(uow: UnitOfWork, batch: list[tuple[int, Order]], actor: str) -> list[tuple[int, str]]:
    try:
        with uow.savepoint():
            record_placed_orders(uow=uow, orders=[o for _, o in batch], actor=actor)
        return []
    except DuplicateOrder:
        pass
    rejected: list[tuple[int, str]] = []
    for lineno, order in batch:  # one at a time, so only the duplicates are refused
        try:
            with uow.savepoint():
                record_placed_orders(uow=uow, orders=[order], actor=actor)
        except DuplicateOrder as exc:
            rejected.append((lineno, str(exc)))
    return rejected


def import_file(
    container: Container,
    *,
    tenant_id: str,
    path: Path,
    batch_size: int = 500,
    progress: Progress | None = None,
    channel: str = "canonical",
) -> ImportReport:
    """Import an NDJSON file of channel payloads; returns counts and rejected line numbers with reasons."""
    adapter = None if channel == "canonical" else default_registry().get(channel)
    report = ImportReport()
    raw_by_line = report.raw
    task = progress.add_task("importing", total=path.stat().st_size) if progress else None
    batch: list[tuple[int, Order]] = []

    def flush() -> None:
        if not batch:
            return
        rejected = container.tx.run(lambda uow: _store_batch(uow, batch, f"import:{path.name}"))
        report.committed += len(batch) - len(rejected)
        report.rejected.extend(rejected)
        batch.clear()

    with path.open("rb") as fh:
        if adapter is None and path.suffix.lower() == ".csv":
            records: Iterable[tuple[int, bytes]] = _csv_records(path, report)
        else:
            records = _records(path, whole_file=adapter is not None) or enumerate(fh, start=1)
        for lineno, raw in records:
            if progress is not None and task is not None:
                progress.advance(task, len(raw))
            if not raw.strip():
                continue
            try:
                batch.extend((lineno, order) for order in _parse(raw, tenant_id, container, adapter))
            except (ValueError, DomainError) as exc:
                report.rejected.append((lineno, str(exc)))
                raw_by_line[lineno] = raw
            if len(batch) >= batch_size:
                flush()
        flush()
    report.rejected.sort()
    _quarantine(container, tenant_id, path, report, raw_by_line, channel)
    return report


def _quarantine(
    container: Container,
    tenant_id: str,
    path: Path,
    report: ImportReport,
    raw_by_line: dict[int, bytes],
    channel: str = "canonical",
) -> None:
    if not report.rejected:
        return
    missing = {n for n, _ in report.rejected} - set(raw_by_line)
    if missing:
        with path.open("rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if lineno in missing:
                    raw_by_line[lineno] = raw

    def put(uow: UnitOfWork) -> None:
        for lineno, reason in report.rejected:
            uow.quarantine.put(
                tenant_id=tenant_id,
                source=f"{'import' if channel == 'canonical' else channel + '-import'}:{path.name}:{lineno}",
                reason=reason,
                payload=raw_by_line[lineno],
            )

    container.tx.run(put)


def _resolve_tenant(container: Container, name: str | None) -> str:
    if name:
        tenant_id = container.tenants.find(name)
        if tenant_id is None:
            raise CliError(f"no tenant named {name!r} (create it with `orderloom tenants create {name}`)")
        return tenant_id
    only = container.tenants.only_tenant()
    if only is None:
        raise CliError("say which tenant with --tenant NAME (there is not exactly one tenant)")
    return only


def import_orders(
    path: Annotated[
        Path,
        typer.Argument(help="NDJSON (one payload per line), one JSON document, or CSV", exists=True, dir_okay=False),
    ],
    channel: Annotated[str, typer.Option("--channel", help="canonical, or a channel name (shopify, amazon, ...)")],
    tenant: Annotated[str | None, typer.Option(help="tenant name (optional when there is only one)")] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="orders per transaction")] = 500,
    rejects: Annotated[Path | None, typer.Option(help="reject file (default: PATH.rejects.ndjson)")] = None,
) -> None:
    """Bulk-import orders; bad lines go to a reject file with line number and reason, the rest is committed."""
    from orderloom.entrypoints.cli.main import err, out

    registry = default_registry()
    if channel not in CHANNELS and channel not in registry:
        raise CliError(f"unknown channel {channel!r} for import; known: {', '.join(registry.names())}")
    container = bootstrap(Settings(), group_commit=False)
    try:
        tenant_id = _resolve_tenant(container, tenant)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err, transient=True) as progress:
            report = import_file(
                container, tenant_id=tenant_id, path=path, batch_size=batch_size, progress=progress, channel=channel
            )
    finally:
        container.close()
    if report.rejected:
        target = rejects or path.with_name(path.name + ".rejects.ndjson")
        with target.open("wb") as fh:
            for lineno, reason in report.rejected:
                raw = report.raw.get(lineno, b"").decode("utf-8", "replace").rstrip("\n")
                fh.write(msgspec.json.encode({"line": lineno, "reason": reason, "raw": raw}) + b"\n")
        err.print(f"{len(report.rejected)} line(s) rejected, see {target}")
    out.print(f"imported {report.committed} orders, rejected {len(report.rejected)}")
