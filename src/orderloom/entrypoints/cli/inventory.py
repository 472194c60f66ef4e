"""``orderloom inventory``: bulk stock load from CSV, reconciliation against the ledger, expiry of unpaid holds;
``orderloom locations list``."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from orderloom.application.inventory import release_expired, set_stock_level
from orderloom.application.ports import UnitOfWork
from orderloom.bootstrap import Container, bootstrap, utc_now
from orderloom.config import Settings
from orderloom.domain.errors import DomainError
from orderloom.domain.inventory import MAX_QUANTITY, check_sku
from orderloom.entrypoints.cli.errors import CliError

__all__ = ["StockRow", "inventory_app", "locations_app", "parse_stock_csv"]

inventory_app = typer.Typer(help="Stock: bulk load, reconcile, expire unpaid holds.", no_args_is_help=True)
locations_app = typer.Typer(help="Stock locations.", no_args_is_help=True)
REQUIRED = ("sku", "location", "quantity")
BATCH = 500


@dataclass(frozen=True, slots=True)
class StockRow:
    """One loadable CSV line."""

    line: int
    sku: str
    location_id: str
    quantity: int
    safety_stock: int | None


def _count(text: str | None, name: str) -> int:
    value = (text or "").strip()
    if not value.lstrip("-").isdigit():
        raise ValueError(f"{name} {value!r} is not a whole number")
    n = int(value)
    if not 0 <= n <= MAX_QUANTITY:
        raise ValueError(f"{name} {n} must be between 0 and {MAX_QUANTITY:,}")
    return n


def _row(n: int, raw: dict[str, str | None], known: set[str]) -> StockRow:
    sku = (raw.get("sku") or "").strip()
    try:
        check_sku(sku)
    except DomainError:
        raise ValueError(f"invalid SKU {sku!r}") from None
    location = (raw.get("location") or "").strip()
    if location not in known:
        raise ValueError(f"unknown location {location!r}")
    quantity = _count(raw.get("quantity"), "quantity")
    safety = raw.get("safety_stock")
    return StockRow(n, sku, location, quantity, None if safety in (None, "") else _count(safety, "safety_stock"))


def parse_stock_csv(path: Path, known_locations: set[str]) -> tuple[list[StockRow], list[tuple[int, str]]]:
    """Loadable rows and (line number, reason) rejects; CliError if the file itself is unusable."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    rows: list[StockRow] = []
    rejects: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    with handle:
        try:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise CliError(
                    f"{path}: missing column(s) {', '.join(missing)}; expected sku,location,quantity[,safety_stock]"
                )
            reader.fieldnames = header
            for raw in reader:
                n = reader.line_num
                try:
                    row = _row(n, raw, known_locations)
                except ValueError as exc:
                    rejects.append((n, str(exc)))
                    continue
                first = seen.setdefault((row.sku, row.location_id), n)
                if first != n:
                    rejects.append((n, f"duplicate of line {first} ({row.sku} at {row.location_id})"))
                    continue
                rows.append(row)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise CliError(f"{path}: not a UTF-8 CSV file ({exc})") from None
    return rows, rejects


def _tenant_id(c: Container, name: str) -> str:
    tenant_id = c.tenants.find(name)
    if tenant_id is None:
        raise CliError(f"no tenant named {name!r}")
    return tenant_id


def _apply(c: Container, tenant_id: str, batch: list[StockRow]) -> list[tuple[int, str]]:
    failures: list[tuple[int, str]] = []

    def work(uow: UnitOfWork) -> None:
        now = utc_now()
        for row in batch:
            try:
                with uow.savepoint():
                    set_stock_level(
                        uow=uow,
                        tenant_id=tenant_id,
                        sku=row.sku,
                        location_id=row.location_id,
                        quantity=row.quantity,
                        safety_stock=row.safety_stock,
                        reason="stock load",
                        now=now,
                    )
            except DomainError as exc:
                failures.append((row.line, str(exc)))

    c.inventory_writer.run(work)
    return failures


@contextmanager
def _container() -> Iterator[Container]:
    c = bootstrap(Settings(), group_commit=False)
    try:
        yield c
    finally:
        c.close()


def _chunks(rows: list[StockRow]) -> Iterator[list[StockRow]]:
    for i in range(0, len(rows), BATCH):
        yield rows[i : i + BATCH]


@inventory_app.command("load")
def load(
    file: Annotated[Path, typer.Argument(help="CSV with columns sku,location,quantity[,safety_stock]")],
    tenant: Annotated[str, typer.Option(help="tenant name")] = "demo",
) -> None:
    """Set on-hand (and safety stock) per SKU and location from a CSV; each change is an adjustment in the ledger.

    Lines that can't be loaded are listed with their reason; exit 1 if nothing could be loaded.
    """
    from orderloom.entrypoints.cli.main import err, out

    with _container() as c:
        tenant_id = _tenant_id(c, tenant)
        known = {loc.id for loc in c.inventory_reads.read(lambda inv: inv.list_locations(tenant_id))}
        rows, rejects = parse_stock_csv(file, known)
        loaded = 0
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("loading stock", total=len(rows))
            for batch in _chunks(rows):
                failed = _apply(c, tenant_id, batch)
                rejects += failed
                loaded += len(batch) - len(failed)
                progress.advance(task, len(batch))
        c.relay.drain()
    for line, reason in sorted(rejects)[:100]:
        err.print(f"line {line}: {reason}", highlight=False, markup=False)
    if len(rejects) > 100:
        err.print(f"… and {len(rejects) - 100} more rejected lines")
    if loaded == 0:
        raise CliError(f"nothing loaded from {file}: {len(rejects)} line(s) rejected")
    out.print(f"loaded {loaded} stock line(s) for tenant {tenant!r}; {len(rejects)} rejected")


@inventory_app.command("reconcile")
def reconcile(
    tenant: Annotated[str | None, typer.Option(help="tenant name (default: every tenant)")] = None,
) -> None:
    """Recompute every balance from the ledger and the active reservations; exit 1 on any drift."""
    from orderloom.entrypoints.cli.main import err, out

    with _container() as c:
        tenant_id = _tenant_id(c, tenant) if tenant else None
        drifts = c.inventory_reads.read(lambda inv: inv.reconcile(tenant_id))
    if not drifts:
        out.print("inventory reconciled: balances match the ledger and the active reservations")
        return
    table = Table("tenant", "sku", "location", "figure", "stored", "expected")
    for d in drifts:
        table.add_row(d.tenant_id, d.sku, d.location_id, d.figure, str(d.stored), str(d.expected))
    err.print(table)
    raise CliError(f"inventory drift: {len(drifts)} figure(s) disagree with the ledger")


@inventory_app.command("expire")
def expire() -> None:
    """Release reservations of unpaid orders whose hold has expired (run it from cron or a worker)."""
    from orderloom.entrypoints.cli.main import out

    total = 0
    with _container() as c:
        while True:
            n = c.inventory_writer.run(lambda uow: release_expired(uow=uow, now=utc_now(), limit=BATCH))
            total += n
            if n < BATCH:
                break
        c.relay.drain()
    out.print(f"released {total} expired reservation(s)")


@locations_app.command("list")
def locations_list(tenant: Annotated[str, typer.Option(help="tenant name")] = "demo") -> None:
    """Print the tenant's stock locations."""
    from orderloom.entrypoints.cli.main import out

    with _container() as c:
        tenant_id = _tenant_id(c, tenant)
        locs = c.inventory_reads.read(lambda inv: inv.list_locations(tenant_id))
    table = Table("id", "name", "type", "country", "active", "capabilities")
    for loc in locs:
        caps = " ".join(sorted(str(x) for x in loc.capabilities))
        table.add_row(loc.id, loc.name, str(loc.type), loc.country or "", "yes" if loc.active else "no", caps)
    out.print(table)
