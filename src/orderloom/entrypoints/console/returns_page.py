"""The customer's return form on the tracking page: ``/track/{token}/return`` (no login; the order's token)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from starlette.responses import Response

from orderloom.application.ports import UnitOfWork
from orderloom.application.returns import CONDITIONS, RequestedLine, request_return
from orderloom.bootstrap import Container, utc_now
from orderloom.domain.errors import DomainError, ValidationFailed
from orderloom.entrypoints.api.returns import returns_setup, returns_uow
from orderloom.entrypoints.console.rendering import render
from orderloom.entrypoints.console.session import server_secret
from orderloom.entrypoints.console.tracking import order_id_from_token, texts, verify_token

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_MAX_FORM = 64 * 1024


def _found(request: Request, token: str) -> tuple[str, dict[str, Any]] | None:
    container: Container = request.app.state.container
    order_id = order_id_from_token(token)
    found = container.console.tracking_document(order_id) if order_id else None
    if found is None or not verify_token(server_secret(request), found[0], token):
        return None
    return found


def _page(request: Request, token: str, doc: dict[str, Any], **extra: Any) -> Response:
    setup = returns_setup(request.app.state.container)
    lines = [
        {"line_no": i, "name": ln.get("name") or ln["sku"], "quantity": int(ln["quantity"])}
        for i, ln in enumerate(doc["lines"], 1)
    ]
    context = {
        "reference": doc.get("channel_order_id") or doc["id"],
        "back": f"/track/{token}",
        "lines": lines,
        "reasons": list(setup.reasons.codes.values()),
        "conditions": CONDITIONS,
        "ret": None,
        "error": None,
        **extra,
    }
    status = 422 if extra.get("error") else 201 if extra.get("ret") else 200
    return render(request, "track_return.html", context, status_code=status, headers={"Cache-Control": "no-store"})


def _missing(request: Request) -> Response:
    t = texts()["en"]
    return render(request, "track_missing.html", {"t": t, "lang": "en"}, status_code=404)


@router.get("/track/{token}/return", name="track_return")
def return_form(request: Request, token: str) -> Response:
    """The form: a quantity, reason and condition per order line."""
    found = _found(request, token)
    return _missing(request) if found is None else _page(request, token, found[1])


def _requested(form: dict[str, list[str]], count: int) -> list[RequestedLine]:
    lines = []
    for n in range(1, count + 1):
        raw = (form.get(f"qty_{n}") or ["0"])[0]
        qty = int(raw) if raw.isdigit() else 0
        if qty > 0:
            reason = (form.get(f"reason_{n}") or [""])[0]
            condition = (form.get(f"condition_{n}") or ["unopened"])[0]
            lines.append(RequestedLine(line_no=n, quantity=qty, reason=reason, condition=condition))
    return lines


@router.post("/track/{token}/return")
async def submit_return(request: Request, token: str) -> Response:
    """Create the return (source ``tracking_page``); the same rules and limits as the API, errors shown on the form."""
    found = _found(request, token)
    if found is None:
        return _missing(request)
    tenant_id, doc = found
    body = (await request.body())[:_MAX_FORM].decode("utf-8", errors="replace")
    lines = _requested(parse_qs(body), len(doc["lines"]))
    if not lines:
        return _page(request, token, doc, error="Choose at least one item to return.")
    container: Container = request.app.state.container
    setup = returns_setup(container)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        return request_return(
            uow=returns_uow(uow),
            setup=setup,
            tenant_id=tenant_id,
            order_id=doc["id"],
            lines=lines,
            source="tracking_page",
            actor="customer:tracking_page",
            now=utc_now(),
        )

    try:
        ret = await container.writer.submit(work)
    except ValidationFailed as exc:
        return _page(request, token, doc, error="; ".join(e.message for e in exc.errors))
    except DomainError as exc:
        return _page(request, token, doc, error=str(exc))
    return _page(request, token, doc, ret=ret)
