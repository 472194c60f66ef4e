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

__all__ = ["app", "parse"]

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
