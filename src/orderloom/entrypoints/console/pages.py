"""Console pages under ``/console``: sign-in, order search, order detail with actions, the exception inbox and
the KPI dashboard. Thin: parse the form, call one application or query function, render."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from orderloom.application.console import ROLES, ConsoleUser, can_act, can_admin
from orderloom.application.kpis import WINDOWS, kpi_report
from orderloom.application.orders import apply_action
from orderloom.application.passwords import hash_password, verify_password
from orderloom.application.ports import OrderFilter, UnitOfWork
from orderloom.bootstrap import Container, utc_now
from orderloom.domain.errors import DomainError, FieldError, OrderNotFound, ValidationFailed
from orderloom.domain.lifecycle import Status
from orderloom.entrypoints.console.charts import time_series_chart
from orderloom.entrypoints.console.ops_pages import inbox_extras
from orderloom.entrypoints.console.quarantine_retry import decoder_for, retry_quarantined
from orderloom.entrypoints.console.rendering import render
from orderloom.entrypoints.console.sections import sections_for
from orderloom.entrypoints.console.session import (
    CSRF_COOKIE,
    Forbidden,
    check_csrf,
    check_login_csrf,
    end_session,
    login_csrf,
    require_operator,
    require_user,
    server_secret,
    start_session,
)
from orderloom.entrypoints.console.throttle import LoginThrottle
from orderloom.entrypoints.console.tracking import tracking_token

__all__ = ["forbidden_page", "router"]

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = 50


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _base(request: Request, user: ConsoleUser, **extra: Any) -> dict[str, Any]:
    return {
        "user": user,
        "csrf": request.state.csrf,
        "can_act": can_act(user.role),
        "can_admin": can_admin(user.role),
        **extra,
    }


# ---- sign-in --------------------------------------------------------------------------------------------------
@router.get("", name="console_home")
def home() -> Response:
    """The console starts at the order search."""
    return RedirectResponse("/console/orders", status_code=303)


def _login_page(
    request: Request, *, error: str = "", tenant: str = "", username: str = "", code: int = 200
) -> Response:
    token = login_csrf(request)
    response = render(
        request,
        "login.html",
        {"csrf": token, "error": error, "tenant": tenant, "username": username, "user": None},
        status_code=code,
    )
    response.set_cookie(CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="lax", path="/")
    return response


@router.get("/login", name="console_login")
def login_form(request: Request, tenant: str = "") -> Response:
    """The sign-in form."""
    return _login_page(request, tenant=tenant)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check tenant, username and password; start a session (one message for every failure)."""
    form = await request.form()
    check_login_csrf(request, form)
    tenant, username = str(form.get("tenant", "")).strip(), str(form.get("username", "")).strip()
    throttle: LoginThrottle = request.app.state.login_throttle
    wait = throttle.retry_after(tenant, username)
    if wait:
        error = f"Too many failed sign-ins for this account; try again in {(wait + 59) // 60} minute(s)."
        return _login_page(request, error=error, tenant=tenant, username=username, code=429)
    found = await asyncio.to_thread(_container(request).console.credentials, tenant_name=tenant, username=username)
    password = str(form.get("password", ""))
    if found is None or not await asyncio.to_thread(verify_password, password, found[1]):
        throttle.failed(tenant, username)
        return _login_page(
            request, error="Wrong tenant, username or password.", tenant=tenant, username=username, code=401
        )
    throttle.succeeded(tenant, username)
    response = RedirectResponse("/console/orders", status_code=303)
    start_session(request, response, found[0])
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session."""
    form = await request.form()
    await asyncio.to_thread(check_csrf, request, form)
    response = RedirectResponse("/console/login", status_code=303)
    end_session(response)
    return response


# ---- order search ---------------------------------------------------------------------------------------------
def _day(value: str, name: str, *, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), time(), tzinfo=UTC)  # noqa: DTZ007
    except ValueError:
        raise ValidationFailed([FieldError(name, "use a date like 2026-11-25")]) from None
    return day + timedelta(days=1) if end else day


def _filter(params: dict[str, str]) -> OrderFilter:
    status = params.get("status", "")
    main, _, sub = status.partition(".")
    return OrderFilter(
        status=main or None,
        sub_status=sub or None,
        channel=params.get("channel") or None,
        placed_from=_day(params.get("placed_from", ""), "placed_from"),
        placed_to=_day(params.get("placed_to", ""), "placed_to", end=True),
        tag=params.get("tag") or None,
    )


def _search(container: Container, tenant_id: str, params: dict[str, str]) -> tuple[list[dict[str, Any]], str | None]:
    if params.get("q", "").strip():
        ids = container.console.find_order_ids(tenant_id, params["q"], limit=PAGE)
        return container.console.documents(tenant_id, ids), None
    page = container.queries.search(tenant_id, _filter(params), limit=PAGE, cursor=params.get("cursor") or None)
    return page.items, page.next_cursor


@router.get("/orders", name="console_orders")
def orders_page(request: Request) -> Response:
    """Search by id, channel order id or customer email, or filter by status, channel, date and tag."""
    user = require_user(request)
    container = _container(request)
    params = {k: v for k, v in request.query_params.items() if k != "cursor" or v}
    error = ""
    try:
        items, next_cursor = _search(container, user.tenant_id, params)
    except ValidationFailed as exc:
        items, next_cursor, error = [], None, "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
    context = _base(
        request,
        user,
        items=items,
        next_cursor=next_cursor,
        params=params,
        error=error,
        statuses=[str(s) for s in container.lifecycle.all_statuses()],
        mains=[m.name for m in container.lifecycle.statuses],
    )
    return render(request, "orders.html", context)


# ---- order detail and actions ---------------------------------------------------------------------------------
def _live_context(container: Container, user: ConsoleUser, order_id: str) -> dict[str, Any]:
    doc = container.queries.get_document(user.tenant_id, order_id)
    status = Status(doc["status"]["main"], doc["status"]["sub"])
    lifecycle = container.lifecycle
    known = lifecycle.has_status(status)
    sub = lifecycle.substatus(status) if known else None
    actions = [lifecycle.actions[a] for a in (sub.actions if sub else ()) if lifecycle.actions[a].operator]
    timeline = container.queries.timeline(user.tenant_id, order_id)
    return {"doc": doc, "sub": sub, "actions": actions, "timeline": timeline, "message": ""}


@router.get("/orders/{order_id}", name="console_order")
def order_page(request: Request, order_id: str) -> Response:
    """One order: status, owner and offered actions, its blocks, timeline and audit trail."""
    user = require_user(request)
    container = _container(request)
    try:
        live = _live_context(container, user, order_id)
    except OrderNotFound:
        return render(
            request,
            "error.html",
            _base(request, user, title="Not found", message=f"No order {order_id}."),
            status_code=404,
        )
    token = tracking_token(server_secret(request), user.tenant_id, order_id)
    context = _base(
        request, user, **live, sections=sections_for(container, user.tenant_id, live["doc"]), tracking=token
    )
    return render(request, "order.html", context)


def _act(uow: UnitOfWork, *, args: dict[str, Any]) -> dict[str, Any]:
    return apply_action(uow=uow, **args)


@router.post("/orders/{order_id}/actions", name="console_order_action")
async def order_action(request: Request, order_id: str) -> Response:
    """Apply an offered action; htmx gets the refreshed status, actions and timeline, a plain form a redirect."""
    form = await request.form()
    user = await asyncio.to_thread(require_operator, request, form)  # reads the account: off the event loop
    container = _container(request)
    action = str(form.get("action", ""))
    message = ""
    definition = container.lifecycle.actions.get(action)
    if definition is None or not definition.operator:
        message = f"unknown action {action!r}"
    else:
        reason = str(form.get("reason", "")).strip() or f"console: {definition.label}"
        args = {
            "tenant_id": user.tenant_id,
            "order_id": order_id,
            "action": action,
            "params": {"reason": reason},
            "lifecycle": container.lifecycle,
            "actor": f"console:{user.username}",
            "now": utc_now(),
        }
        try:
            await container.writer.submit(partial(_act, args=args))
        except OrderNotFound:
            raise
        except DomainError as exc:  # illegal transition, concurrent change: shown next to the buttons
            message = str(exc)
    if not _is_htmx(request):
        return RedirectResponse(f"/console/orders/{order_id}", status_code=303)
    live = await asyncio.to_thread(_live_context, container, user, order_id)
    live["message"] = message
    return render(request, "_order_live.html", _base(request, user, **live))


# ---- exception inbox ------------------------------------------------------------------------------------------
@router.get("/inbox", name="console_inbox")
def inbox_page(request: Request, sub: str = "", note: str = "") -> Response:
    """Orders on hold by sub-status (bulk release) and quarantined payloads (retry)."""
    user = require_user(request)
    container = _container(request)
    counts = container.console.hold_counts(user.tenant_id)
    held = container.queries.search(
        user.tenant_id, OrderFilter(status="on_hold", sub_status=sub or None), limit=200, cursor=None
    ).items
    hold_meanings = {
        s.name: s.meaning for m in container.lifecycle.statuses if m.name == "on_hold" for s in m.substatuses
    }
    context = _base(
        request,
        user,
        counts=counts,
        held=held,
        sub=sub,
        note=note,
        meanings=hold_meanings,
        quarantined=container.console.quarantined(user.tenant_id),
        retryable=lambda source: decoder_for(source) is not None,
        **inbox_extras(container, user.tenant_id),
    )
    return render(request, "inbox.html", context)


def _to_inbox(note: str) -> Response:
    return RedirectResponse("/console/inbox?" + urlencode({"note": note}), status_code=303)


def _ids(form: FormData) -> list[str]:
    return [str(v) for v in form.getlist("order_id")][:500]


@router.post("/inbox/release", name="console_bulk_release")
async def bulk_release(request: Request) -> Response:
    """Release the selected held orders (each in its own transaction); says how many were released."""
    form = await request.form()
    user = await asyncio.to_thread(require_operator, request, form)  # reads the account: off the event loop
    container = _container(request)
    released, refused = 0, []
    for order_id in _ids(form):
        args = {
            "tenant_id": user.tenant_id,
            "order_id": order_id,
            "action": "release",
            "params": {"reason": f"console bulk release by {user.username}"},
            "lifecycle": container.lifecycle,
            "actor": f"console:{user.username}",
            "now": utc_now(),
        }
        try:
            await container.writer.submit(partial(_act, args=args))
            released += 1
        except DomainError:
            refused.append(order_id)
    note = f"Released {released} order(s)." + (f" Could not release: {', '.join(refused)}." if refused else "")
    return _to_inbox(note)


@router.post("/quarantine/retry", name="console_quarantine_bulk_retry")
async def quarantine_bulk_retry(request: Request) -> Response:
    """Retry the selected quarantined payloads; says how many were accepted."""
    form = await request.form()
    user = await asyncio.to_thread(require_operator, request, form)  # reads the account: off the event loop
    container = _container(request)
    outcomes = [
        await retry_quarantined(container, tenant_id=user.tenant_id, qid=str(qid), actor=user.username)
        for qid in form.getlist("qid")[:200]
    ]
    accepted = sum(o.accepted for o in outcomes)
    note = f"Retried {len(outcomes)}: {accepted} accepted, {len(outcomes) - accepted} still refused."
    return _to_inbox(note)


@router.post("/quarantine/{qid}/retry", name="console_quarantine_retry")
async def quarantine_retry(request: Request, qid: str) -> Response:
    """Run a quarantined canonical payload through intake again."""
    form = await request.form()
    user = await asyncio.to_thread(require_operator, request, form)  # reads the account: off the event loop
    outcome = await retry_quarantined(_container(request), tenant_id=user.tenant_id, qid=qid, actor=user.username)
    if not _is_htmx(request):
        return _to_inbox(outcome.summary)
    item = (
        None
        if outcome.accepted
        else await asyncio.to_thread(_container(request).console.quarantined_payload, user.tenant_id, qid)
    )
    context = _base(request, user, outcome=outcome, qid=qid, q=item, retryable=lambda src: decoder_for(src) is not None)
    return render(request, "_quarantine_result.html", context)


# ---- KPIs -----------------------------------------------------------------------------------------------------
def _chart_labels(series: list[dict[str, Any]], window: str) -> list[str]:
    fmt = "%H:%M" if window == "24h" else "%m-%d"
    return [datetime.fromisoformat(b["start"]).strftime(fmt) for b in series]


@router.get("/kpis", name="console_kpis")
def kpis_page(request: Request, window: str = "7d") -> Response:
    """The KPI dashboard for a window (24h, 7d, 30d): figures overall and by channel, and a time series."""
    user = require_user(request)
    container = _container(request)
    if window not in WINDOWS:
        window = "7d"
    report = kpi_report(
        source=container.console, lifecycle=container.lifecycle, tenant_id=user.tenant_id, window=window, now=utc_now()
    )
    series = report.series
    chart = time_series_chart(
        _chart_labels(series, window),
        {"orders": [b["orders"] for b in series], "held": [b["held"] for b in series]},
    )
    now_by_status = container.console.order_status_counts(user.tenant_id)
    context = _base(
        request,
        user,
        report=report,
        chart=chart,
        window=window,
        windows=list(WINDOWS),
        by_status=[(m.name, now_by_status.get(m.name, 0)) for m in container.lifecycle.statuses],
    )
    return render(request, "kpis.html", context)


# ---- accounts (admin) -----------------------------------------------------------------------------------------
def _require_admin(request: Request) -> ConsoleUser:
    user = require_user(request)
    if not can_admin(user.role):
        raise Forbidden(f"your role ({user.role}) may not manage console accounts")
    return user


def _users_page(request: Request, user: ConsoleUser, *, note: str = "", error: str = "", code: int = 200) -> Response:
    users = _container(request).console.list_users(user.tenant_id)
    context = _base(request, user, users=users, roles=ROLES, note=note, error=error)
    return render(request, "users.html", context, status_code=code)


@router.get("/users", name="console_users")
def users_page(request: Request) -> Response:
    """The tenant's console accounts (admins only)."""
    return _users_page(request, _require_admin(request))


@router.post("/users")
async def create_user(request: Request) -> Response:
    """Add a console account to the admin's tenant."""
    form = await request.form()
    user = await asyncio.to_thread(_require_admin, request)
    check_csrf(request, form)
    username, role = str(form.get("username", "")).strip(), str(form.get("role", ""))
    try:
        password_hash = await asyncio.to_thread(hash_password, str(form.get("password", "")))
        await asyncio.to_thread(
            partial(
                _container(request).console.create_user,
                tenant_id=user.tenant_id,
                username=username,
                role=role,
                password_hash=password_hash,
            )
        )
    except ValidationFailed as exc:
        error = "; ".join(e.message for e in exc.errors)
        return await asyncio.to_thread(partial(_users_page, request, user, error=error, code=422))
    except ValueError as exc:  # the password is too short
        return await asyncio.to_thread(partial(_users_page, request, user, error=str(exc), code=422))
    return await asyncio.to_thread(partial(_users_page, request, user, note=f"Account {username!r} ({role}) created."))


@router.post("/users/{username}/disable")
async def disable_user(request: Request, username: str) -> Response:
    """Disable another account of the admin's tenant; its open sessions end at their next request."""
    form = await request.form()
    user = await asyncio.to_thread(_require_admin, request)
    check_csrf(request, form)
    if username == user.username:
        return await asyncio.to_thread(
            partial(_users_page, request, user, error="You cannot disable your own account.", code=422)
        )
    store = _container(request).console
    done = await asyncio.to_thread(partial(store.disable_user, tenant_id=user.tenant_id, username=username))
    note, error = (f"Account {username!r} disabled.", "") if done else ("", f"No active account {username!r}.")
    return await asyncio.to_thread(
        partial(_users_page, request, user, note=note, error=error, code=200 if done else 404)
    )


def forbidden_page(request: Request, exc: Forbidden) -> Response:
    """403 as a page (or a fragment for htmx)."""
    return render(request, "forbidden.html", {"message": exc.detail}, status_code=403)
