"""``orderloom sla scan|rules`` and ``orderloom worker sla``: flag breaches and near-breaches of service levels."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Annotated

import typer
from rich.table import Table

from orderloom.application.sla import SlaScanSummary, scan_sla
from orderloom.application.sla_worker import SlaScanWorker
from orderloom.bootstrap import Container, bootstrap, utc_now
from orderloom.config import Settings
from orderloom.entrypoints.cli.errors import CliError

__all__ = ["DEMO_SCAN_AHEAD", "demo_scan", "parse_now", "print_summary", "sla_app", "worker_sla"]

DEMO_SCAN_AHEAD = timedelta(hours=6)

sla_app = typer.Typer(help="Service levels: scan for stuck orders, show the rules.", no_args_is_help=True)


def parse_now(text: str | None) -> datetime:
    """``--now`` as an aware UTC time (a frozen clock); the real clock when absent."""
    if text is None:
        return utc_now()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"--now must be an ISO 8601 time such as 2026-11-26T09:00:00Z, got {text!r}") from None
    if value.tzinfo is None:
        raise CliError("--now needs a UTC offset, e.g. 2026-11-26T09:00:00Z")
    return value.astimezone(UTC)


def print_summary(summary: SlaScanSummary) -> None:
    """The scan's figures as a line and a small table."""
    from orderloom.entrypoints.cli.main import out

    out.print(
        f"sla scan at {summary.as_dict()['now']}: {summary.breaches} breach(es), {summary.warnings} warning(s) "
        f"in {summary.seconds * 1000:.1f} ms"
    )
    if summary.by_status:
        table = Table("level:status", "flagged")
        for key, count in summary.by_status.most_common(20):
            table.add_row(key, str(count))
        out.print(table)


def _scan(container: Container, now: datetime, *, drain: bool) -> SlaScanSummary:
    if drain:  # let the clocks catch up with the latest status changes first
        container.relay.drain()
    summary = scan_sla(store=container.sla_store, now=now)
    if drain:
        container.relay.drain()
    return summary


def demo_scan(container: Container) -> SlaScanSummary:
    """For the demo: publish the clocks, then scan with the clock DEMO_SCAN_AHEAD ahead so that stuck orders show."""
    return _scan(container, utc_now() + DEMO_SCAN_AHEAD, drain=True)


@sla_app.command("scan")
def sla_scan(
    now: Annotated[str | None, typer.Option(help="frozen clock, ISO 8601 with offset (default: now)")] = None,
    relay: Annotated[bool, typer.Option(help="publish pending events before and after the scan")] = True,
) -> None:
    """One pass: flag every clock whose warning or deadline has passed; prints a summary."""
    when = parse_now(now)
    container = bootstrap(Settings(), group_commit=False)
    try:
        summary = _scan(container, when, drain=relay)
    finally:
        container.close()
    print_summary(summary)


@sla_app.command("rules")
def sla_rules() -> None:
    """Print the SLA rules from data/sla.yaml (validated against the lifecycle)."""
    from orderloom.entrypoints.cli.main import out

    container = bootstrap(Settings(), group_commit=False)
    try:
        rows = container.sla_policy.as_rows()
    finally:
        container.close()
    table = Table("status", "within h", "warn at", "channel", "carrier", "actions", "meaning")
    for r in rows:
        table.add_row(
            r["status"],
            f"{r['within_hours']:g}",
            f"{r['warn_fraction']:.0%}",
            r["channel"] or "",
            r["carrier"] or "",
            ", ".join(r["actions"]),
            r["meaning"],
        )
    out.print(table)


def worker_sla(
    interval: Annotated[float, typer.Option(min=0.1, help="seconds between scans")] = 30.0,
) -> None:
    """Run the SLA scanner in the foreground until SIGINT/SIGTERM (one pass every --interval seconds)."""
    from orderloom.entrypoints.cli.main import out

    container = bootstrap(Settings(), group_commit=False)
    worker = SlaScanWorker(store=container.sla_store, clock=utc_now, interval=interval, on_summary=_print_flags)

    def _stop(_sig: int, _frame: FrameType | None) -> None:
        worker.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    out.print(f"sla scanner running every {interval:g} s; Ctrl-C to stop", soft_wrap=True)
    try:
        worker.start()
        worker.wait()
    finally:
        worker.stop()
        container.close()


def _print_flags(summary: SlaScanSummary) -> None:
    if summary.breaches or summary.warnings:
        print_summary(summary)
