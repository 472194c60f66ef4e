"""/v1/orders/{id}/returns and /v1/returns: return requests (RMAs), receipt with inspection, refunds, exchanges."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from orderloom.adapters.persistence.uow import SqlUnitOfWork
from orderloom.application.ports import UnitOfWork
from orderloom.application.returns import (
    ExchangeLine,
    RequestedLine,
    ReturnsSetup,
    approve_return,
    cancel_as_return,
    exchange_return,
    issue_refund,
    issue_refund_once,
    mark_return_shipped,
    quote_refund,
    receive_return,
    reject_return,
    request_return,
)
from orderloom.application.returns_ports import ReturnsUnitOfWork
from orderloom.bootstrap import Container, utc_now
from orderloom.domain.returns import (
    Disposition,
    InspectedLine,
    NothingToRefund,
    RefundExceedsPaid,
    ReturnExceedsShipped,
    ReturnNotFound,
    ReturnRefused,
    ReturnStateError,
)
from orderloom.entrypoints.api.auth import Tenant, container_of
from orderloom.entrypoints.api.problems import Problem
from orderloom.entrypoints.api.schemas import encode

__all__ = [
    "ExchangeBody",
    "NewReturn",
    "ReceiveBody",
    "RefundBody",
    "RejectBody",
    "as_problem",
    "returns_setup",
    "returns_uow",
    "router",
]

router = APIRouter(tags=["returns"])
JSON = "application/json"
Money = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=6, examples=["12.50"])]


class ReturnLineIn(BaseModel):
    """One order line to send back."""

    model_config = ConfigDict(extra="forbid")

    line_no: int = Field(ge=1, le=10_000, description="1-based line number on the order")
    quantity: int = Field(ge=1, le=1_000_000)
    reason: str = Field(min_length=1, max_length=40, examples=["wrong_size"], description="GET /v1/return-reasons")
    condition: Literal["unopened", "opened", "used", "damaged"] = "unopened"
    note: str | None = Field(default=None, max_length=500)


class NewReturn(BaseModel):
    """A return request."""

    model_config = ConfigDict(extra="forbid")

    lines: list[ReturnLineIn] = Field(min_length=1, max_length=500)


class RejectBody(BaseModel):
    """Why a return is refused."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class InspectedLineIn(BaseModel):
    """What arrived on one line and what the inspection decided."""

    model_config = ConfigDict(extra="forbid")

    line_no: int = Field(ge=1, le=10_000)
    quantity: int = Field(ge=0, le=1_000_000)
    disposition: Disposition
    location_id: str | None = Field(default=None, max_length=64, description="overrides the receipt location")


class ReceiveBody(BaseModel):
    """The receipt of a return parcel at a location."""

    model_config = ConfigDict(extra="forbid")

    location_id: str | None = Field(default=None, max_length=64, description="where restocked units go")
    lines: list[InspectedLineIn] = Field(min_length=1, max_length=500)


class RefundBody(BaseModel):
    """A refund: the calculated amount when ``amount`` is left out, else that amount (partial or goodwill)."""

    model_config = ConfigDict(extra="forbid")

    amount: Money | None = None
    reason: str | None = Field(default=None, max_length=500)


class ExchangeLineIn(BaseModel):
    """A replacement item for a returned line."""

    model_config = ConfigDict(extra="forbid")

    line_no: int = Field(ge=1, le=10_000)
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=1_000_000)


class ExchangeBody(BaseModel):
    """The replacement items of an exchange."""

    model_config = ConfigDict(extra="forbid")

    lines: list[ExchangeLineIn] = Field(min_length=1, max_length=500)


class CancelBody(BaseModel):
    """Cancellation after shipment (turned into a return of every shipped unit)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="cancelled_after_shipment", min_length=1, max_length=40)


def returns_setup(container: Container) -> ReturnsSetup:
    """The container's returns setup (always built by bootstrap)."""
    if container.returns is None:
        raise Problem(503, "returns-unavailable", "returns are not configured in this container")
    return container.returns


def returns_uow(uow: UnitOfWork) -> ReturnsUnitOfWork:
    """The unit of work with its return store (the SQL one)."""
    if not isinstance(uow, SqlUnitOfWork):
        raise TypeError("returns need a SQL unit of work")
    return uow


def as_problem(exc: Exception) -> Problem | None:
    """The problem+json for a returns error, if it is one."""
    if isinstance(exc, ReturnNotFound):
        return Problem(404, "return-not-found", str(exc), return_id=exc.return_id)
    if isinstance(exc, ReturnStateError):
        return Problem(409, "return-state-conflict", str(exc), return_status=exc.status.value, command=exc.command)
    if isinstance(exc, ReturnExceedsShipped):
        return Problem(
            422,
            "return-exceeds-shipped",
            str(exc),
            line_no=exc.line_no,
            sku=exc.sku,
            requested=exc.requested,
            shipped=exc.shipped,
            already_returned=exc.already,
        )
    if isinstance(exc, ReturnRefused):
        return Problem(
            422,
            "return-not-authorised",
            str(exc),
            line_no=exc.line_no,
            rule_id=exc.rule_id,
            reason=exc.reason,
            figures=exc.figures,
        )
    if isinstance(exc, RefundExceedsPaid):
        left = exc.paid - exc.refunded
        return Problem(
            409,
            "refund-exceeds-paid",
            str(exc),
            asked=str(exc.asked),
            paid=str(exc.paid),
            refunded=str(exc.refunded),
            left=str(left),
            currency=exc.currency,
        )
    if isinstance(exc, NothingToRefund):
        return Problem(409, "nothing-to-refund", str(exc), return_id=exc.return_id)
    return None


async def _run(request: Request, fn: Callable[..., Any], **kwargs: Any) -> Any:
    container = container_of(request)
    setup = returns_setup(container)

    def work(uow: UnitOfWork) -> Any:
        return fn(uow=returns_uow(uow), setup=setup, **kwargs)

    try:
        return await container.writer.submit(work)
    except Exception as exc:
        problem = as_problem(exc)
        if problem is None:
            raise
        raise problem from None


def _actor(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return "api-key:" + header.partition(" ")[2].strip()[:10]


def _json(body: Any, status: int = 200, **headers: str) -> Response:
    return Response(encode(body), status_code=status, media_type=JSON, headers=headers or None)


@router.get("/v1/return-reasons", summary="The return reason codes")
def reasons(request: Request, _tenant: Tenant) -> Response:
    """Codes, labels, restocking fees and whether a reason refunds shipping."""
    setup = returns_setup(container_of(request))
    items = [
        {
            "code": r.code,
            "label": r.label,
            "restocking_fee_percent": str(r.restocking_fee_percent),
            "refund_shipping": r.refund_shipping,
        }
        for r in setup.reasons.codes.values()
    ]
    return _json({"items": items, "shipping_when_fully_returned": setup.reasons.shipping_when_fully_returned})


@router.post("/v1/orders/{order_id}/returns", status_code=201, summary="Request a return of order lines")
async def create_return(request: Request, tenant_id: Tenant, order_id: str, body: NewReturn) -> Response:
    """Checked against the shipped units and the ``returns`` rules; approved at once (with a label) unless a rule
    asks for approval."""
    lines = [RequestedLine(**ln.model_dump()) for ln in body.lines]
    doc = await _run(
        request,
        request_return,
        tenant_id=tenant_id,
        order_id=order_id,
        lines=lines,
        source="api",
        actor=_actor(request),
        now=utc_now(),
    )
    return _json(doc, 201, Location=f"/v1/returns/{doc['id']}")


def _read(request: Request, fn: Callable[[ReturnsUnitOfWork], Any]) -> Any:
    container = container_of(request)
    try:
        return container.tx.run(lambda uow: fn(returns_uow(uow)))
    except Exception as exc:
        problem = as_problem(exc)
        if problem is None:
            raise
        raise problem from None


@router.get("/v1/orders/{order_id}/returns", summary="An order's returns and refunds")
def order_returns(request: Request, tenant_id: Tenant, order_id: str) -> Response:
    """Returns oldest first, and every refund issued on the order."""

    container_of(request).queries.get_document(tenant_id, order_id)  # OrderNotFound → 404, without a row lock

    def read(uow: ReturnsUnitOfWork) -> dict[str, Any]:
        return {
            "order_id": order_id,
            "items": [r.as_document() for r in uow.returns.for_order(tenant_id, order_id)],
            "refunds": [r.as_dict() for r in uow.returns.refunds_of(tenant_id, order_id)],
        }

    return _json(_read(request, read))


@router.get("/v1/returns/{return_id}", summary="One return")
def get_return(request: Request, tenant_id: Tenant, return_id: str) -> Response:
    """The return document."""
    return _json(_read(request, lambda uow: uow.returns.get(tenant_id, return_id).as_document()))


@router.post("/v1/returns/{return_id}/approve", summary="Approve a return waiting for approval")
async def approve(request: Request, tenant_id: Tenant, return_id: str) -> Response:
    """Authorise it and book the return label."""
    doc = await _run(
        request, approve_return, tenant_id=tenant_id, return_id=return_id, actor=_actor(request), now=utc_now()
    )
    return _json(doc)


@router.post("/v1/returns/{return_id}/reject", summary="Refuse a requested return")
async def reject(request: Request, tenant_id: Tenant, return_id: str, body: RejectBody) -> Response:
    """Its units may be asked back again later."""
    doc = await _run(
        request,
        reject_return,
        tenant_id=tenant_id,
        return_id=return_id,
        reason=body.reason,
        actor=_actor(request),
        now=utc_now(),
    )
    return _json(doc)


@router.post("/v1/returns/{return_id}/shipped", summary="The customer sent the return parcel")
async def shipped(request: Request, tenant_id: Tenant, return_id: str) -> Response:
    """The return (and its order) is in transit back."""
    doc = await _run(
        request, mark_return_shipped, tenant_id=tenant_id, return_id=return_id, actor=_actor(request), now=utc_now()
    )
    return _json(doc)


@router.post("/v1/returns/{return_id}/receive", summary="Receive a return parcel with the inspection result")
async def receive(request: Request, tenant_id: Tenant, return_id: str, body: ReceiveBody) -> Response:
    """restock: back into on-hand at the location; refurbish: into on-hand at the line's (refurbishing) location,
    tagged ``return:refurbish``; scrap: no stock."""
    inspected = [InspectedLine(**ln.model_dump()) for ln in body.lines]
    doc = await _run(
        request,
        receive_return,
        tenant_id=tenant_id,
        return_id=return_id,
        location_id=body.location_id,
        inspected=inspected,
        actor=_actor(request),
        now=utc_now(),
    )
    return _json(doc)


@router.get("/v1/returns/{return_id}/refund-quote", summary="What the return would refund now")
def refund_quote(request: Request, tenant_id: Tenant, return_id: str) -> Response:
    """Itemised: lines, discount unwound, tax, restocking fee, shipping, the paid-amount cap."""
    setup = returns_setup(container_of(request))
    return _json(
        _read(request, lambda uow: quote_refund(uow=uow, setup=setup, tenant_id=tenant_id, return_id=return_id))
    )


@router.post("/v1/returns/{return_id}/refunds", status_code=201, summary="Refund a received return")
async def refund(
    request: Request,
    tenant_id: Tenant,
    return_id: str,
    body: RefundBody | None = None,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Response:
    """The calculated amount, or ``amount`` for a partial refund; never above what was paid less earlier refunds
    (409 refund-exceeds-paid). Publishes ``orderloom.refund.issued``. With an ``Idempotency-Key`` a retry gets the
    first answer (header ``Idempotent-Replayed: true``) instead of a second refund."""
    body = body or RefundBody()
    args: dict[str, Any] = {
        "tenant_id": tenant_id,
        "return_id": return_id,
        "amount": body.amount,
        "reason": body.reason,
        "actor": _actor(request),
        "now": utc_now(),
    }
    if not idempotency_key:
        return _json(await _run(request, issue_refund, **args), 201)
    request_hash = hashlib.sha256(f"{return_id}\n{body.model_dump_json()}".encode()).hexdigest()
    stored, replayed = await _run(
        request, issue_refund_once, key=idempotency_key, request_hash=request_hash, render=encode, **args
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(stored.body, status_code=stored.status_code, media_type=JSON, headers=headers)


@router.post("/v1/returns/{return_id}/exchange", status_code=201, summary="Exchange a received return")
async def exchange(request: Request, tenant_id: Tenant, return_id: str, body: ExchangeBody) -> Response:
    """A new, already paid order for the replacement items, linked to the return."""
    lines = [ExchangeLine(**ln.model_dump()) for ln in body.lines]
    result = await _run(
        request,
        exchange_return,
        tenant_id=tenant_id,
        return_id=return_id,
        lines=lines,
        actor=_actor(request),
        now=utc_now(),
    )
    return _json(result, 201, Location=f"/v1/orders/{result['exchange_order']['id']}")


@router.post("/v1/orders/{order_id}/cancel-as-return", status_code=201, summary="Cancel a shipped order as a return")
async def cancel_shipped(
    request: Request, tenant_id: Tenant, order_id: str, body: CancelBody | None = None
) -> Response:
    """A shipped order can't be cancelled; this asks every shipped unit back instead."""
    reason = (body or CancelBody()).reason
    doc = await _run(
        request,
        cancel_as_return,
        tenant_id=tenant_id,
        order_id=order_id,
        reason=reason,
        actor=_actor(request),
        now=utc_now(),
    )
    return _json(doc, 201, Location=f"/v1/returns/{doc['id']}")
