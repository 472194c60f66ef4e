"""Domain errors: each names what was tried and why it was refused."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConcurrencyConflict",
    "DomainError",
    "DuplicateOrder",
    "FieldError",
    "IllegalTransition",
    "LifecycleDefinitionError",
    "OrderNotFound",
    "ValidationFailed",
]


class DomainError(Exception):
    """Base class of every error the domain raises on purpose."""


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, addressed by a JSON-pointer-like path such as ``lines[0].quantity``."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The error as a JSON-ready dict."""
        return {"field": self.field, "message": self.message}


class ValidationFailed(DomainError):
    """Input that breaks a domain rule; carries every field error found."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


class IllegalTransition(DomainError):
    """An action the lifecycle does not allow from the order's current status."""

    def __init__(self, *, order_id: str, action: str, current: str, reason: str | None = None) -> None:
        self.order_id = order_id
        self.action = action
        self.current = current
        main = current.split(".", 1)[0]
        why = f" ({reason})" if reason else ""
        super().__init__(f"can't {action} order {order_id}: it is {main} ({current}){why}")


class OrderNotFound(DomainError):
    """No order with that id for this tenant."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"order {order_id} not found")


class DuplicateOrder(DomainError):
    """The tenant already has an order with this channel and channel order id."""

    def __init__(self, *, channel: str, channel_order_id: str, existing_id: str | None) -> None:
        self.channel = channel
        self.channel_order_id = channel_order_id
        self.existing_id = existing_id
        super().__init__(
            f"an order from channel {channel!r} with channel_order_id {channel_order_id!r} already exists"
            + (f" ({existing_id})" if existing_id else "")
        )


class ConcurrencyConflict(DomainError):
    """The order changed between read and write; the caller may retry."""

    def __init__(self, order_id: str) -> None:
        self.order_id = order_id
        super().__init__(f"order {order_id} was changed concurrently; retry")


class LifecycleDefinitionError(DomainError):
    """The lifecycle data file is inconsistent; raised at start-up."""
