"""``orderloom``: serve, migrate, manage tenants, load demo data, import, inspect and verify."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
import typer
from rich.console import Console

from orderloom.adapters.persistence.engine import make_engines
from orderloom.adapters.persistence.migrate import current_revision, head_revision, upgrade
from orderloom.bootstrap import Container, bootstrap
from orderloom.config import Settings
from orderloom.domain.errors import DomainError
from orderloom.entrypoints.cli.errors import CliError
from orderloom.entrypoints.cli.log_setup import configure_logging

__all__ = ["app", "run"]

app = typer.Typer(help="OrderLoom order management system.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
tenants_app = typer.Typer(help="Tenants and API keys.", no_args_is_help=True)
orders_app = typer.Typer(help="Inspect orders.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
worker_app = typer.Typer(help="Background workers as separate processes.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenants_app, name="tenants")
app.add_typer(orders_app, name="orders")
app.add_typer(audit_app, name="audit")
app.add_typer(worker_app, name="worker")

out = Console()
err = Console(stderr=True)


@contextmanager
def _container(*, group_commit: bool = False) -> Iterator[Container]:
    container = bootstrap(Settings(), group_commit=group_commit)
    try:
        yield container
    finally:
        container.close()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest revision (safe to run again)."""
    engines = make_engines(Settings().database_url)
    try:
        upgrade(engines)
        out.print(f"database at revision {current_revision(engines)} (head {head_revision()})")
    finally:
        engines.dispose()


@db_app.command("current")
def db_current() -> None:
    """Print the schema revision of the database."""
    engines = make_engines(Settings().database_url)
    try:
        out.print(f"{current_revision(engines)} (head {head_revision()})")
    finally:
        engines.dispose()


@tenants_app.command("create")
def tenants_create(name: Annotated[str, typer.Argument(help="a unique tenant name")]) -> None:
    """Create a tenant; its new API key is the last line printed."""
    with _container() as c:
        tenant_id, key = c.tenants.create(name)
    err.print(f"tenant {name!r} created as {tenant_id}; its API key (shown once):")
    print(key)


@tenants_app.command("key")
def tenants_key(name: Annotated[str, typer.Argument(help="an existing tenant name")]) -> None:
    """Issue another API key for a tenant; the key is the last line printed."""
    with _container() as c:
        tenant_id = c.tenants.find(name)
        if tenant_id is None:
            raise CliError(f"no tenant named {name!r}")
        key = c.tenants.issue_key(tenant_id)
    print(key)


@orders_app.command("show")
def orders_show(order_id: Annotated[str, typer.Argument(help="order id, e.g. ord_01J…")]) -> None:
    """Print an order's canonical JSON and its timeline length."""
    from orderloom.adapters.persistence.tables import orders

    with _container() as c, c.engines.read.connect() as conn:
        tenant_id = conn.execute(sa.select(orders.c.tenant_id).where(orders.c.id == order_id)).scalar_one_or_none()
        if tenant_id is None:
            raise CliError(f"order {order_id} not found")
        doc = c.queries.get_document(tenant_id, order_id)
        entries = c.queries.timeline(tenant_id, order_id)
    out.print_json(msgspec.json.encode(doc).decode())
    out.print(f"status {doc['status']['main']}.{doc['status']['sub']}; {len(entries)} timeline entries")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check every tenant's audit hash chain; exit 1 if any row was edited, removed or reordered."""
    with _container() as c:
        problems = list(c.audit.verify())
        count = c.audit.count()
    if problems:
        for line in problems[:50]:
            err.print(f"[red]✗[/red] {line}")
        raise CliError(f"audit chain broken: {len(problems)} problem(s) in {count} entries")
    out.print(f"audit chain intact: {count} entries verified")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="API processes (the relay runs once, beside them)")] = 1,
    migrate: Annotated[bool, typer.Option(help="run `db upgrade` first")] = True,
    access_log: Annotated[bool, typer.Option(help="log every request")] = False,
) -> None:
    """Serve the HTTP API (and the embedded outbox relay)."""
    import uvicorn

    settings = Settings()
    if migrate:
        engines = make_engines(settings.database_url)
        try:
            upgrade(engines)
        finally:
            engines.dispose()
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": access_log,
        "log_level": settings.log_level.lower(),
        "timeout_graceful_shutdown": 10,
    }
    if workers > 1:
        _serve_processes(settings, workers, options)
        return
    from orderloom.entrypoints.api.app import create_app

    app_ = create_app(bootstrap(settings))
    _freeze_gc()
    uvicorn.run(app_, **options)


def _freeze_gc() -> None:
    gc.collect()
    gc.freeze()  # start-up objects leave the collector's generations: shorter full-collection pauses
    gc.set_threshold(50_000, 20, 100)


def _serve_processes(settings: Settings, workers: int, options: dict[str, Any]) -> None:
    """N uvicorn worker processes from the app factory; this (supervising) process runs the one relay."""
    import os

    import uvicorn

    relay = settings.relay_enabled
    os.environ["ORDERLOOM_RELAY_ENABLED"] = "false"  # inherited by the workers
    container = bootstrap(settings.model_copy(update={"relay_enabled": relay}), group_commit=False)
    try:
        if relay:
            container.start(relay=True)
        uvicorn.run("orderloom.entrypoints.api.app:app_from_env", factory=True, workers=workers, **options)
    finally:
        container.close()


@worker_app.command("relay")
def worker_relay() -> None:
    """Run the outbox relay in the foreground (when `serve` runs with ORDERLOOM_RELAY_ENABLED=false)."""
    from orderloom.entrypoints.workers.relay import run_relay

    with _container() as c:
        out.print("relay running; Ctrl-C to stop")
        run_relay(c)


@worker_app.command("consumer")
def worker_consumer(
    name: Annotated[str, typer.Option("--name", help="durable consumer name (one per handler group)")] = "handlers",
) -> None:
    """Run the event handlers from NATS JetStream (needs ORDERLOOM_NATS_URL)."""
    from orderloom.entrypoints.workers.consumer import run_consumer

    with _container() as c:
        if c.nats is None:
            raise CliError("ORDERLOOM_NATS_URL is not set: without NATS the relay runs the handlers in-process")
        out.print(f"consumer {name!r} running; Ctrl-C to stop")
        run_consumer(c, durable=name)


@app.command("bench")
def bench(quick: Annotated[bool, typer.Option(help="shorter runs")] = False) -> None:
    """Run the ingest benchmark (bench/ingest.py in a source checkout); prints a table, writes bench/results/."""
    import subprocess
    from pathlib import Path

    script = Path("bench/ingest.py")
    if not script.exists():
        raise CliError("bench/ingest.py not found: run from the root of an OrderLoom source checkout")
    code = subprocess.call([sys.executable, str(script), *(["--quick"] if quick else [])])  # noqa: S603 (our script)
    if code:
        raise CliError(f"benchmark failed with exit status {code}")


def _register_more() -> None:
    from orderloom.entrypoints.cli import channels, demo, importer, inventory, route, rules, sla, tracking, users
    from orderloom.entrypoints.cli.fulfilment import fulfilment_app

    app.command("demo")(demo.demo)
    app.command("import")(importer.import_orders)
    app.add_typer(channels.channels_app, name="channels")
    app.add_typer(inventory.inventory_app, name="inventory")
    app.add_typer(inventory.locations_app, name="locations")
    app.add_typer(rules.rules_app, name="rules")
    app.add_typer(tracking.app, name="tracking")
    app.add_typer(sla.sla_app, name="sla")
    worker_app.command("sla")(sla.worker_sla)
    app.add_typer(users.app, name="users")
    app.add_typer(route.route_app, name="route")
    app.add_typer(fulfilment_app, name="fulfilment")
    worker_app.command("routing")(route.worker_routing)


_register_more()


def run() -> None:
    """Console-script entry point: errors become one line on stderr and exit status 1 (2 for usage)."""
    configure_logging(Settings())
    try:
        app(standalone_mode=False)
    except (CliError, DomainError) as exc:
        err.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(1)
    except sa.exc.OperationalError as exc:
        err.print(
            f"error: database unavailable or not migrated (run `orderloom db upgrade`): {exc.orig}",
            highlight=False,
        )
        sys.exit(1)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        sys.exit(code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        sys.exit(130)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":  # pragma: no cover
    run()
