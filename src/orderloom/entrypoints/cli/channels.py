"""``orderloom channels …``: check a channel mapping (``parse``, no side effects) and manage channel secrets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer

from orderloom.adapters.channels import MappingError, default_registry
from orderloom.adapters.channels.checks import check_document
from orderloom.bootstrap import utc_now
from orderloom.entrypoints.cli.errors import CliError

__all__ = ["channels_app", "load_payloads", "map_file"]

channels_app = typer.Typer(help="Sales channels: check mappings, manage webhook secrets.", no_args_is_help=True)
secret_app = typer.Typer(help="Per-tenant webhook signing secrets.", no_args_is_help=True)
channels_app.add_typer(secret_app, name="secret")


def load_payloads(path: Path) -> list[tuple[str, Any]]:
    """The JSON payloads in a file: one JSON document, or NDJSON (one per line); (location, payload) pairs."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        raise CliError(f"{path}: empty file, not an order payload")
    try:
        return [("", msgspec.json.decode(raw))]
    except msgspec.DecodeError as whole:
        lines = [ln for ln in raw.splitlines() if ln.strip()]
        if len(lines) < 2:
            raise CliError(f"{path}: not JSON ({whole})") from None
    payloads: list[tuple[str, Any]] = []
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            payloads.append((f"line {n}", msgspec.json.decode(line)))
        except msgspec.DecodeError as exc:
            raise CliError(f"{path}: line {n} is not JSON ({exc})") from None
    return payloads


def map_file(channel: str, path: Path) -> list[dict[str, Any]]:
    """Every canonical order/command a channel file maps to; CliError with the JSON pointer when it cannot."""
    registry = default_registry()
    if channel not in registry:
        raise CliError(f"unknown channel {channel!r}; known: {', '.join(registry.names())}")
    adapter = registry.get(channel)
    now = utc_now()
    docs: list[dict[str, Any]] = []
    for where, payload in load_payloads(path):
        try:
            docs += [check_document(d) for d in adapter.map_payload(payload, received_at=now)]
        except MappingError as exc:
            at = f" {where}" if where else ""
            raise CliError(f"{path}{at}: cannot map this {channel} payload: {exc}") from None
    if not docs:
        raise CliError(f"{path}: no {channel} orders in this payload")
    return docs


@channels_app.command("parse")
def parse(
    file: Annotated[Path, typer.Argument(help="a channel payload (JSON, or NDJSON)", exists=True, dir_okay=False)],
    channel: Annotated[str, typer.Option("--channel", help="channel name, e.g. shopify, amazon, taobao")],
) -> None:
    """Print the canonical order JSON (one per line) a channel payload maps to; nothing is stored."""
    docs = map_file(channel, file)
    out = sys.stdout
    for doc in docs:
        out.write(msgspec.json.encode(doc).decode() + "\n")
    out.flush()


@secret_app.command("set")
def secret_set(
    tenant: Annotated[str, typer.Option("--tenant", help="tenant name")],
    channel: Annotated[str, typer.Option("--channel", help="channel name")],
    secret: Annotated[
        str | None, typer.Option("--secret", help="the channel's signing secret (default: read from stdin)")
    ] = None,
    app_key: Annotated[
        str | None, typer.Option("--app-key", help="app key (TikTok, Douyin) or notification URL (Square)")
    ] = None,
) -> None:
    """Set the secret a tenant's channel signs its webhooks with (the webhook URL: /v1/channels/NAME/webhooks)."""
    from orderloom.application.channel_ports import ChannelSecret
    from orderloom.bootstrap import bootstrap
    from orderloom.config import Settings

    if channel not in default_registry():
        raise CliError(f"unknown channel {channel!r}; known: {', '.join(default_registry().names())}")
    value = secret if secret is not None else sys.stdin.readline().strip()
    if not value:
        raise CliError("empty secret: pass --secret or pipe it on stdin")
    container = bootstrap(Settings(), group_commit=False)
    try:
        tenant_id = container.tenants.find(tenant)
        if tenant_id is None:
            raise CliError(f"no tenant named {tenant!r}")
        container.tx.run(
            lambda uow: container.channel_store(uow).set_secret(
                tenant_id, channel, ChannelSecret(value, app_key), utc_now()
            )
        )
    finally:
        container.close()
    sys.stdout.write(
        f"secret set for tenant {tenant!r}, channel {channel!r}: POST /v1/channels/{channel}/webhooks?tenant={tenant}\n"
    )


@channels_app.command("merge-policy")
def merge_policy(
    tenant: Annotated[str, typer.Option("--tenant", help="tenant name")],
    window_minutes: Annotated[int, typer.Option(min=1, max=10_080, help="merge orders placed this close")] = 120,
    enabled: Annotated[bool, typer.Option("--enable/--disable", help="merge or not")] = True,
) -> None:
    """Set the tenant's order-merge policy: same customer, same address, within the window, not yet allocated."""
    from datetime import timedelta

    from orderloom.bootstrap import bootstrap
    from orderloom.config import Settings
    from orderloom.domain.order_merge import MergePolicy

    container = bootstrap(Settings(), group_commit=False)
    try:
        tenant_id = container.tenants.find(tenant)
        if tenant_id is None:
            raise CliError(f"no tenant named {tenant!r}")
        policy = MergePolicy(enabled=enabled, window=timedelta(minutes=window_minutes))
        container.tx.run(lambda uow: container.channel_store(uow).set_merge_policy(tenant_id, policy))
    finally:
        container.close()
    state = f"on, window {window_minutes} min" if enabled else "off"
    sys.stdout.write(f"order merge for tenant {tenant!r}: {state}\n")
