"""``orderloom rules``: list, create, activate, roll back, export, dry-run and draft rule sets from text."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
import yaml
from rich.console import Console
from rich.table import Table

from orderloom.application.rules import RuleVersionNotFound
from orderloom.application.rules_dry_run import dry_run
from orderloom.bootstrap import Container, bootstrap, utc_now
from orderloom.config import Settings
from orderloom.domain.rules import KINDS, RuleSetInvalid
from orderloom.domain.rules_text import draft_from_text
from orderloom.entrypoints.api.rules import parse_since, version_yaml
from orderloom.entrypoints.cli.errors import CliError

__all__ = ["install_demo_rules", "rules_app"]

rules_app = typer.Typer(help="Rule sets: versions, activation, dry runs, drafts from text.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
Kind = Annotated[str, typer.Option("--kind", "-k", help=f"one of {', '.join(KINDS)}")]
TenantName = Annotated[str, typer.Option("--tenant", help="tenant name")]


@contextmanager
def _tenant(name: str) -> Iterator[tuple[Container, str]]:
    container = bootstrap(Settings(), group_commit=False)
    try:
        tenant_id = container.tenants.find(name)
        if tenant_id is None:
            raise CliError(f"no tenant named {name!r} (create one with `orderloom tenants create {name}`)")
        yield container, tenant_id
    finally:
        container.close()


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise CliError(f"unknown rule kind {kind!r}; one of {', '.join(KINDS)}")
    return kind


def _invalid(exc: RuleSetInvalid) -> CliError:
    return CliError(f"rule set invalid: {exc}")


@rules_app.command("list")
def list_versions(kind: Kind, tenant: TenantName = "demo") -> None:
    """The versions of a rule set, the active one marked."""
    with _tenant(tenant) as (c, tenant_id):
        versions = c.rules.store.list_versions(tenant_id, _check_kind(kind))
        act = c.rules.store.activation(tenant_id, kind)
    table = Table("version", "status", "active", "rules", "created", "by", "note")
    for v in versions:
        mark = (
            "●" if act and v.version == act.version else ("gray" if act and v.version == act.candidate_version else "")
        )
        rules = str(len(v.document.get("rules") or []) + len(v.document.get("tables") or []))
        table.add_row(str(v.version), v.status, mark, rules, v.created_at[:19], v.created_by, v.note or "")
    out.print(table)


@rules_app.command("create")
def create(
    kind: Kind,
    path: Annotated[Path, typer.Argument(help="a YAML or JSON rule set file", exists=True, dir_okay=False)],
    tenant: TenantName = "demo",
    draft: Annotated[bool, typer.Option(help="store without checking (can't be activated)")] = False,
) -> None:
    """Store a new version from a file (compiled and type-checked unless --draft)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CliError(f"{path}: not YAML/JSON: {exc}") from None
    if isinstance(document, dict):
        document.pop("kind", None)
    with _tenant(tenant) as (c, tenant_id):
        try:
            v = c.rules.create_version(
                tenant_id=tenant_id, kind=_check_kind(kind), document=document, actor="cli", draft=draft
            )
        except RuleSetInvalid as exc:
            raise _invalid(exc) from None
    out.print(f"{kind} rule set version {v.version} stored ({v.status})")


@rules_app.command("activate")
def activate(
    kind: Kind,
    version: Annotated[int, typer.Option("--version", "-v")],
    tenant: TenantName = "demo",
    percent: Annotated[float | None, typer.Option(help="gray release to this share of orders")] = None,
    channel: Annotated[list[str] | None, typer.Option(help="gray release to these channels")] = None,
) -> None:
    """Activate a version for every order, or gray-release it."""
    with _tenant(tenant) as (c, tenant_id):
        try:
            act = c.rules.activate(
                tenant_id=tenant_id,
                kind=_check_kind(kind),
                version=version,
                actor="cli",
                percent=percent,
                channels=channel or (),
            )
        except (RuleSetInvalid, RuleVersionNotFound) as exc:
            raise CliError(str(exc)) from None
    out.print_json(msgspec.json.encode(act.as_dict()).decode())


@rules_app.command("rollback")
def rollback(kind: Kind, tenant: TenantName = "demo") -> None:
    """End a gray release, or go back to the previously active version."""
    with _tenant(tenant) as (c, tenant_id):
        try:
            act = c.rules.rollback(tenant_id=tenant_id, kind=_check_kind(kind), actor="cli")
        except RuleVersionNotFound as exc:
            raise CliError(str(exc)) from None
    out.print_json(msgspec.json.encode(act.as_dict()).decode())


@rules_app.command("export")
def export(
    kind: Kind,
    tenant: TenantName = "demo",
    version: Annotated[int | None, typer.Option("--version", "-v", help="default: the active one")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="write <kind>.v<N>.yaml here instead of stdout")] = None,
) -> None:
    """Export a version as YAML (for git)."""
    with _tenant(tenant) as (c, tenant_id):
        if version is None:
            act = c.rules.store.activation(tenant_id, _check_kind(kind))
            if act is None or act.version is None:
                raise CliError(f"no active {kind} rule set; pass --version")
            version = act.version
        found = c.rules.store.get_version(tenant_id, kind, version)
    if found is None:
        raise CliError(f"{kind} rule set version {version} not found")
    text = version_yaml(found)
    if out_dir is None:
        print(text, end="")
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{kind}.v{version}.yaml"
    target.write_text(text, encoding="utf-8")
    err.print(f"wrote {target}")


@rules_app.command("dry-run")
def dry_run_cmd(
    kind: Kind,
    version: Annotated[int, typer.Option("--version", "-v", help="the candidate version")],
    since: Annotated[str, typer.Option(help="history window: 30d, 12h, 2w")] = "30d",
    tenant: TenantName = "demo",
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    examples: Annotated[int, typer.Option(min=0, max=100)] = 10,
) -> None:
    """Evaluate a candidate and the active version on past orders and show what would change. Writes nothing."""
    try:
        start = utc_now() - parse_since(since)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    with _tenant(tenant) as (c, tenant_id):
        assert c.rules.history is not None
        try:
            report = dry_run(
                rules=c.rules,
                history=c.rules.history,
                tenant_id=tenant_id,
                kind=_check_kind(kind),
                version=version,
                since=start,
                max_examples=examples,
            ).as_dict()
        except (RuleSetInvalid, RuleVersionNotFound) as exc:
            raise CliError(str(exc)) from None
    if as_json:
        print(msgspec.json.encode(report).decode())
        return
    _print_report(report)


def _print_report(report: dict[str, Any]) -> None:
    summary = Table(title=f"{report['kind']} v{report['candidate_version']} vs active v{report['active_version']}")
    summary.add_column("measure")
    summary.add_column("value", justify="right")
    for label, key in (("orders", "orders"), ("changed", "changed"), ("outcome changed", "outcome_changed")):
        summary.add_row(label, str(report[key]))
    summary.add_row("hold rate before", f"{report['hold_rate_before']:.2%}")
    summary.add_row("hold rate after", f"{report['hold_rate_after']:.2%}")
    summary.add_row("hold rate change", f"{report['hold_rate_change']:+.2%}")
    summary.add_row("rule errors (candidate)", str(report["rule_errors_after"]))
    summary.add_row("seconds", f"{report['seconds']:.2f}")
    out.print(summary)
    if report["changes"]:
        changes = Table("change", "orders", title="changes")
        for change, n in report["changes"].items():
            changes.add_row(change, str(n))
        out.print(changes)
    if report["examples"]:
        ex = Table("order", "channel ref", "total", "before", "after", title="examples")
        for e in report["examples"]:
            ex.add_row(e["order_id"], e["channel_order_id"], str(e["grand_total"]), e["before"], e["after"])
        out.print(ex)


@rules_app.command("from-text")
def from_text(
    text: Annotated[str, typer.Argument(help="e.g. 'amount > 5000 and customer tier is diamond → VIP line'")],
    kind: Annotated[str | None, typer.Option("--kind", "-k", help="default: inferred from the actions")] = None,
    tenant: TenantName = "demo",
    save: Annotated[bool, typer.Option(help="save the draft as a draft version")] = True,
) -> None:
    """Draft a CEL rule from a constrained English/Chinese sentence; saved only as a draft version for review."""
    try:
        chosen, document = draft_from_text(text, kind=kind)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    out.print(yaml.safe_dump({"kind": chosen, **document}, sort_keys=False, allow_unicode=True), end="")
    if not save:
        return
    with _tenant(tenant) as (c, tenant_id):
        problems = ""
        try:
            c.rules.compiler.compile(_parsed(chosen, document))
        except RuleSetInvalid as exc:
            problems = f" (does not type-check yet: {exc})"
        v = c.rules.create_version(
            tenant_id=tenant_id, kind=chosen, document=document, actor="cli:from-text", draft=True, note=text
        )
    err.print(f"saved as draft {chosen} version {v.version}{problems}; review it, then store it with `rules create`")


def _parsed(kind: str, document: dict[str, Any]) -> Any:
    from orderloom.domain.rules import parse_rule_set

    return parse_rule_set(kind, document)


def install_demo_rules(container: Container, tenant_id: str) -> list[str]:
    """Store and activate the demo rule sets (``data/demo_rules.yaml``) for kinds with nothing active yet."""
    from importlib import resources

    text = resources.files("orderloom.data").joinpath("demo_rules.yaml").read_text(encoding="utf-8")
    installed = []
    for kind, document in yaml.safe_load(text).items():
        if container.rules.store.activation(tenant_id, kind) is not None:
            continue
        v = container.rules.create_version(tenant_id=tenant_id, kind=kind, document=document, actor="demo")
        container.rules.activate(tenant_id=tenant_id, kind=kind, version=v.version, actor="demo")
        installed.append(f"{kind} v{v.version}")
    return installed
