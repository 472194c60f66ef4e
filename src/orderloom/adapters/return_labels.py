"""A local fake carrier for return labels (tests and the demo): deterministic tracking numbers, no network."""

from __future__ import annotations

import hashlib

from orderloom.application.returns_ports import ReturnLabel
from orderloom.domain.orders import Order

__all__ = ["FakeReturnLabels"]


class FakeReturnLabels:
    """Books a prepaid return label with a pretend carrier; the same return always gets the same label."""

    carrier = "fake_returns"

    def create(self, *, tenant_id: str, return_id: str, order: Order) -> ReturnLabel:
        """A label whose tracking number is derived from the return."""
        digest = hashlib.blake2b(f"{tenant_id}:{return_id}".encode(), digest_size=6).hexdigest().upper()
        number = f"RT{digest}"
        return ReturnLabel(self.carrier, number, f"https://labels.invalid/{self.carrier}/{number}.pdf")
