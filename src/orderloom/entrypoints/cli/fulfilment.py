"""``orderloom fulfilment``: release waves (and write their pick lists), send webhook releases, expire store pickups."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from orderloom.adapters.fulfilment_files import render_pick_list
from orderloom.adapters.fulfilment_release import SignedWebhookRelease
from orderloom.adapters.notify.http_webhooks import HttpxWebhookSender
from orderloom.adapters.persistence.fulfilment_store import SqlFulfilmentRepository
from orderloom.application.fulfilment import (
    Fulfilment,
    advance_wave,
    dispatch_releases,
    expire_pickups,
    pick_list,
    release_wave,
)
from orderloom.bootstrap import Container, bootstrap, utc_now
from orderloom.config import Settings
from orderloom.entrypoints.cli.errors import CliError

__all__ = ["fulfilment_app"]

fulfilment_app = typer.Typer(
    help="Fulfilment: release waves, pick lists, webhook releases, pickup expiry.", no_args_is_help=True
)
BATCH = 500


@contextmanager
def _container() -> Iterator[Container]:
    c = bootstrap(Settings(), group_commit=False)
    try:
        yield c
    finally:
        c.close()


def _tenant_id(c: Container, name: str) -> str:
    tenant_id = c.tenants.find(name)
    if tenant_id is None:
        raise CliError(f"no tenant named {name!r}")
    return tenant_id


def _setup(c: Container) -> Fulfilment:
    assert c.fulfilment is not None
    return c.fulfilment


@fulfilment_app.command("release")
def release(
    location: Annotated[str, typer.Argument(help="location id")],
    tenant: Annotated[str, typer.Option(help="tenant name")] = "demo",
    max_batch: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="wave size (default: the location's)")
    ] = None,
    pick_list_to: Annotated[
        Path | None, typer.Option("--pick-list", help="write the wave's pick list here (.csv or .ndjson)")
    ] = None,
) -> None:
    """Release the location's due open fulfilment orders as one wave; optionally write its pick list."""
    from orderloom.entrypoints.cli.main import out

    fmt = None
    if pick_list_to is not None:
        fmt = pick_list_to.suffix.lstrip(".").lower()
        if fmt not in ("csv", "ndjson"):
            raise CliError(f"pick list file must end in .csv or .ndjson, not {pick_list_to.name!r}")
    with _container() as c:
        tenant_id = _tenant_id(c, tenant)
        setup = _setup(c)
        wave = c.tx.run(
            lambda uow: release_wave(
                uow=uow,
                tenant_id=tenant_id,
                location_id=location,
                setup=setup,
                now=utc_now(),
                max_batch=max_batch,
                advance=False,
            )
        )
        if wave is None:
            out.print(f"nothing to release at {location}")
            return
        advance_wave(runner=c.tx, tenant_id=tenant_id, wave_id=wave.id, lifecycle=setup.lifecycle, now=utc_now())
        out.print(f"released wave {wave.id}: {wave.count} fulfilment order(s) to {location}")
        if pick_list_to is not None and fmt is not None:
            with c.engines.read.connect() as conn:
                rows = pick_list(store=SqlFulfilmentRepository(conn), tenant_id=tenant_id, wave_id=wave.id)
            body, _ = render_pick_list(rows, fmt)
            try:
                pick_list_to.write_bytes(body)
            except OSError as exc:
                raise CliError(f"cannot write {pick_list_to}: {exc.strerror}") from None
            out.print(f"wrote {len(rows)} pick line(s) to {pick_list_to}")


@fulfilment_app.command("dispatch")
def dispatch() -> None:
    """Send released fulfilment orders of webhook-mode locations to their WMS (signed CloudEvents)."""
    from orderloom.entrypoints.cli.main import out

    with _container() as c:
        sender = HttpxWebhookSender(timeout=c.settings.webhook_timeout)
        try:
            sent, failed = dispatch_releases(
                runner=c.tx, channel=SignedWebhookRelease(sender), now=utc_now, limit=BATCH
            )
        finally:
            sender.close()
    out.print(f"delivered {sent}, failed {failed} (failed ones are retried on the next run)")
    if failed:
        raise CliError(f"{failed} webhook release(s) failed")


@fulfilment_app.command("expire-pickups")
def expire() -> None:
    """Return store pickups not collected in time to stock (run it from cron or a worker)."""
    from orderloom.entrypoints.cli.main import out

    total = 0
    with _container() as c:
        setup = _setup(c)
        while True:
            n = c.tx.run(lambda uow: expire_pickups(uow=uow, setup=setup, now=utc_now(), limit=BATCH))
            total += n
            if n < BATCH:
                break
    out.print(f"expired {total} pickup(s)")
