"""Console pages for stock and configuration: inventory by SKU, locations with an offline switch (re-routes the
location's orders), rule set versions with dry-run diff and activate/rollback; and the inbox's SLA breaches and
unmapped carrier codes. Thin: read or call one application function, render."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from orderloom.adapters.persistence.shipments import SqlShipmentRepository
from orderloom.application.console import ConsoleUser, can_act, can_admin
from orderloom.application.inventory import stock_view
from orderloom.application.routing import take_offline
from orderloom.application.rules import RuleVersionNotFound
from orderloom.application.rules_dry_run import dry_run
from orderloom.application.sla_ports import SlaInboxFilter
from orderloom.bootstrap import Container, utc_now
from orderloom.domain.errors import DomainError
from orderloom.domain.inventory import StockNotFound
from orderloom.domain.rules import KINDS, RuleSetInvalid
from orderloom.entrypoints.console.rendering import render
from orderloom.entrypoints.console.session import Forbidden, check_csrf, require_operator, require_user

__all__ = ["inbox_extras", "router"]

router = APIRouter(prefix="/console", include_in_schema=False)


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def _base(request: Request, user: ConsoleUser, **extra: Any) -> dict[str, Any]:
    return {
        "user": user,
        "csrf": request.state.csrf,
        "can_act": can_act(user.role),
        "can_admin": can_admin(user.role),
        **extra,
    }


# ---- inventory ------------------------------------------------------------------------------------------------
@router.get("/inventory", name="console_inventory")
def inventory_page(request: Request, sku: str = "") -> Response:
    """A SKU's stock per location (on hand, reserved, available) and its network ATP."""
    user = require_user(request)
    sku = sku.strip()[:120]
    view, missing = None, False
    if sku:
        try:
            view = _container(request).inventory_reads.read(
                lambda inv: stock_view(inventory=inv, tenant_id=user.tenant_id, sku=sku)
            )
        except StockNotFound:
            missing = True
    context = _base(request, user, sku=sku, view=view, missing=missing, active="inventory")
    return render(request, "inventory.html", context, status_code=404 if missing else 200)


# ---- locations ------------------------------------------------------------------------------------------------
def _locations_page(request: Request, user: ConsoleUser, *, report: Any = None, error: str = "") -> Response:
    locations = _container(request).inventory_reads.read(lambda inv: inv.list_locations(user.tenant_id))
    context = _base(request, user, locations=locations, report=report, error=error, active="locations")
    return render(request, "locations.html", context, status_code=422 if error else 200)


@router.get("/locations", name="console_locations")
def locations_page(request: Request) -> Response:
    """Every location with its type, capacity and whether it is online."""
    return _locations_page(request, require_user(request))


@router.post("/locations/{location_id}/offline", name="console_location_offline")
async def location_offline(request: Request, location_id: str) -> Response:
    """Take a location offline and re-route its allocated orders; shows the outage report."""
    form = await request.form()
    user = await asyncio.to_thread(require_operator, request, form)
    container = _container(request)
    now = utc_now()
    try:
        report = await container.inventory_writer.submit(
            lambda uow: take_offline(
                uow=uow,
                tenant_id=user.tenant_id,
                location_id=location_id,
                lifecycle=container.lifecycle,
                sourcing=container.sourcing,
                now=now,
            )
        )
    except DomainError as exc:
        return await asyncio.to_thread(_locations_page, request, user, error=str(exc))
    return await asyncio.to_thread(_locations_page, request, user, report=report.as_dict())


# ---- rules ----------------------------------------------------------------------------------------------------
def _require_admin(request: Request, form: Any) -> ConsoleUser:
    user = require_user(request)
    check_csrf(request, form)
    if not can_admin(user.role):
        raise Forbidden(f"your role ({user.role}) may not change rule sets")
    return user


def _dry_run(container: Container, tenant_id: str, kind: str, version: int) -> dict[str, Any]:
    assert container.rules.history is not None
    report = dry_run(
        rules=container.rules,
        history=container.rules.history,
        tenant_id=tenant_id,
        kind=kind,
        version=version,
        since=utc_now() - timedelta(days=30),
        max_examples=10,
    )
    return report.as_dict()


def _rules_context(container: Container, tenant_id: str, kind: str, diff_version: int | None) -> dict[str, Any]:
    store = container.rules.store
    act = store.activation(tenant_id, kind)
    diff, error = None, ""
    if diff_version is not None:
        try:
            diff = _dry_run(container, tenant_id, kind, diff_version)
        except (RuleVersionNotFound, RuleSetInvalid) as exc:
            error = str(exc)
    return {
        "kinds": KINDS,
        "kind": kind,
        "versions": list(reversed(store.list_versions(tenant_id, kind))),
        "activation": act.as_dict() if act else None,
        "active_version": act.version if act else None,
        "diff": diff,
        "error": error,
    }


@router.get("/rules", name="console_rules")
def rules_page(request: Request, kind: str = "", diff: int | None = None, note: str = "") -> Response:
    """Rule set versions of a kind, newest first; ``diff`` shows a version's dry run against the active one."""
    user = require_user(request)
    kind = kind if kind in KINDS else KINDS[0]
    context = _rules_context(_container(request), user.tenant_id, kind, diff)
    return render(request, "rules.html", _base(request, user, note=note, active="rules", **context))


def _to_rules(kind: str, note: str) -> Response:
    return RedirectResponse("/console/rules?" + urlencode({"kind": kind, "note": note}), status_code=303)


@router.post("/rules/{kind}/versions/{version}/activate", name="console_rules_activate")
async def rules_activate(request: Request, kind: str, version: int) -> Response:
    """Activate a version fully (admins only; audited)."""
    form = await request.form()
    user = await asyncio.to_thread(_require_admin, request, form)
    if kind not in KINDS:
        return _to_rules(KINDS[0], f"No rule kind {kind!r}.")
    try:
        await asyncio.to_thread(
            lambda: _container(request).rules.activate(
                tenant_id=user.tenant_id, kind=kind, version=version, actor=f"console:{user.username}"
            )
        )
    except (RuleVersionNotFound, RuleSetInvalid) as exc:
        return _to_rules(kind, f"Not activated: {exc}")
    return _to_rules(kind, f"Version {version} of {kind} is active.")


@router.post("/rules/{kind}/rollback", name="console_rules_rollback")
async def rules_rollback(request: Request, kind: str) -> Response:
    """End a gray release or go back to the previously active version (admins only; audited)."""
    form = await request.form()
    user = await asyncio.to_thread(_require_admin, request, form)
    if kind not in KINDS:
        return _to_rules(KINDS[0], f"No rule kind {kind!r}.")
    try:
        act = await asyncio.to_thread(
            lambda: _container(request).rules.rollback(
                tenant_id=user.tenant_id, kind=kind, actor=f"console:{user.username}"
            )
        )
    except RuleVersionNotFound as exc:
        return _to_rules(kind, f"Nothing to roll back: {exc}")
    return _to_rules(kind, f"Rolled back: version {act.version} of {kind} is active.")


# ---- inbox extras ---------------------------------------------------------------------------------------------
def inbox_extras(container: Container, tenant_id: str) -> dict[str, Any]:
    """Open SLA breaches and warnings (up to 200) and unmapped carrier codes with counts, for the exception inbox."""
    page = container.sla_store.inbox(tenant_id, SlaInboxFilter(open_only=True), limit=200, cursor=None)
    items = page.items
    levels = {"breach": 0, "warning": 0}
    for item in items:
        levels[item.flag.level] = levels.get(item.flag.level, 0) + 1
    with container.engines.read.connect() as conn:
        unmapped = SqlShipmentRepository(conn).unmapped(tenant_id, None)
    return {
        "sla_items": items[:50],
        "sla_levels": levels,
        "sla_more": page.next_cursor is not None,
        "unmapped": unmapped,
        "unmapped_total": sum(u.count for u in unmapped),
    }
