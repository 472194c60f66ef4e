"""Cancelling a shipped order: a 409 problem that points to the returns endpoints instead."""

from __future__ import annotations

from orderloom.application.returns_shipped import SHIPPED_STATUSES
from orderloom.domain.errors import IllegalTransition
from orderloom.entrypoints.api.problems import Problem

__all__ = ["cancel_after_shipment"]


def cancel_after_shipment(exc: IllegalTransition) -> Problem | None:
    """The problem for ``cancel`` refused because the order has shipped (None for any other refusal)."""
    main = exc.current.split(".", 1)[0]
    if exc.action != "cancel" or (main not in SHIPPED_STATUSES and exc.current not in SHIPPED_STATUSES):
        return None
    return Problem(
        409,
        "cancel-after-shipment",
        f"order {exc.order_id} has shipped ({exc.current}): it can't be cancelled, return it instead "
        f"(POST /v1/orders/{exc.order_id}/cancel-as-return asks every shipped unit back)",
        order_id=exc.order_id,
        current_status=exc.current,
        returns_url=f"/v1/orders/{exc.order_id}/returns",
        cancel_as_return_url=f"/v1/orders/{exc.order_id}/cancel-as-return",
    )
