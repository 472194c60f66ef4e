"""``orderloom tracking``: read carrier tracking responses (no database, no side effects)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from orderloom.adapters.carriers.code_maps import CodeMapError, CodeMapStore
from orderloom.adapters.carriers.registry import UnknownCarrier, default_registry
from orderloom.application.tracking import outcome_document, read_tracking
from orderloom.bootstrap import load_lifecycle
from orderloom.domain.tracking import TrackingParseError
from orderloom.entrypoints.cli.errors import CliError

__all__ = ["app", "parse", "poll"]

app = typer.Typer(help="Carrier tracking responses.", no_args_is_help=True)


@app.command("parse")
def parse(
    file: Annotated[Path, typer.Argument(help="a carrier tracking response (JSON or XML) as the carrier sent it")],
    carrier: Annotated[str, typer.Option("--carrier", help="carrier name, e.g. ups, fedex, dhl_express")],
) -> None:
    """Print the normalized tracking JSON, one line per tracking number in the response."""
    registry = default_registry()
    try:
        registry.get(carrier)
    except UnknownCarrier as exc:
        raise CliError(str(exc)) from None
    try:
        payload = file.read_bytes()
    except OSError as exc:
        raise CliError(f"can't read {file}: {exc.strerror or exc}") from None
    try:
        maps = CodeMapStore([str(s) for s in load_lifecycle().all_statuses()])
        outcomes = read_tracking(carrier=carrier, payload=payload, parsers=registry, maps=maps)
    except (TrackingParseError, CodeMapError) as exc:
        raise CliError(str(exc)) from None
    for outcome in outcomes:
        print(json.dumps(outcome_document(outcome), ensure_ascii=False))


@app.command("poll")
def poll(
    endpoint: Annotated[
        list[str],
        typer.Option("--endpoint", help="CARRIER=URL with {number}, e.g. ups=https://host/track/{number} (repeat)"),
    ],
    rate: Annotated[float, typer.Option(help="requests per second per carrier")] = 5.0,
    limit: Annotated[int, typer.Option(help="open shipments per pass")] = 100,
    every: Annotated[float, typer.Option(help="seconds between passes; 0 = one pass")] = 0.0,
) -> None:
    """Poll the carriers for open shipments (rate limited, retried, circuit-broken) and apply their scans."""
    import time

    from orderloom.adapters.carriers.polling import CarrierEndpoint, HttpTrackingFetcher
    from orderloom.application.polling import poll_open_shipments
    from orderloom.bootstrap import bootstrap, utc_now
    from orderloom.config import Settings

    endpoints = {}
    for item in endpoint:
        carrier, sep, url = item.partition("=")
        if not sep or "{number}" not in url:
            raise CliError(f"--endpoint must be CARRIER=URL containing {{number}}, got {item!r}")
        endpoints[carrier] = CarrierEndpoint(url, rate_per_s=rate)
    container = bootstrap(Settings(), group_commit=False)
    fetcher = HttpTrackingFetcher(endpoints)
    try:
        while True:
            assert container.tracking is not None
            summary = poll_open_shipments(
                runner=container.tx,
                fetcher=fetcher,
                setup=container.tracking,
                lifecycle=container.lifecycle,
                clock=utc_now,
                limit=limit,
                carriers=set(endpoints),
                delay=container.delay_model,
            )
            print(json.dumps(summary.as_dict()))
            if every <= 0:
                break
            time.sleep(every)
    finally:
        fetcher.close()
        container.close()
