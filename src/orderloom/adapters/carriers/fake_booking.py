"""A local fake carrier for tests and the demo, behind the CarrierBooking port (real carrier APIs are not reachable).

Rates are a deterministic tariff: a base price plus a price per started kilogram (the larger of the actual and the
volumetric weight, L x W x H / 5000), doubled across borders. Labels get a tracking number ``FK`` + 10 digits.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import secrets
from dataclasses import dataclass, field, replace
from decimal import Decimal

from orderloom.application.fulfilment_ports import Label, Rate, Shipment

__all__ = ["FAKE_SERVICES", "FakeCarrier"]

# service: (base price, price per started kg, delivery days)
FAKE_SERVICES: dict[str, tuple[Decimal, Decimal, int]] = {
    "ground": (Decimal("4.90"), Decimal("1.10"), 5),
    "express": (Decimal("11.50"), Decimal("2.40"), 2),
    "overnight": (Decimal("24.00"), Decimal("3.90"), 1),
}


@dataclass
class FakeCarrier:
    """CarrierBooking in memory: quote, buy and void labels of the ``fakeship`` carrier."""

    name: str = "fakeship"
    currency: str = "USD"
    _rates: dict[str, Rate] = field(default_factory=dict)
    _labels: dict[str, Label] = field(default_factory=dict)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _salt: str = field(default_factory=lambda: secrets.token_hex(8))  # labels of two carriers never collide

    def rates(self, shipment: Shipment) -> list[Rate]:
        """Every service's price for the parcel, cheapest first."""
        if shipment.weight_kg <= 0:
            raise ValueError("a parcel weighs more than 0 kg")
        volumetric = math.prod(shipment.dimensions_cm) / 5000 if shipment.dimensions_cm else 0.0
        kilos = math.ceil(max(shipment.weight_kg, volumetric))
        cross_border = shipment.from_country and shipment.to_country and shipment.from_country != shipment.to_country
        out = []
        for service, (base, per_kg, days) in FAKE_SERVICES.items():
            amount = (base + per_kg * kilos) * (2 if cross_border else 1)
            rate_id = f"rate_{next(self._seq):06d}"
            rate = Rate(rate_id, self.name, service, amount.quantize(Decimal("0.01")), self.currency, days)
            self._rates[rate_id] = rate
            out.append(rate)
        return sorted(out, key=lambda r: r.amount)

    def buy(self, rate_id: str) -> Label:
        """The label of a quoted rate; LookupError if the rate was never quoted or was already bought."""
        rate = self._rates.pop(rate_id, None)
        if rate is None:
            raise LookupError(f"rate {rate_id} is unknown or already used")
        n = next(self._seq)
        digits = int(hashlib.sha256(f"{self._salt}:{rate_id}:{n}".encode()).hexdigest(), 16) % 10**10
        label = Label(
            id=f"lbl_{n:06d}",
            rate_id=rate_id,
            carrier=self.name,
            service=rate.service,
            tracking_number=f"FK{digits:010d}",
            label_url=f"https://labels.fakeship.invalid/lbl_{n:06d}.pdf",
        )
        self._labels[label.id] = label
        return label

    def void(self, label_id: str) -> Label:
        """Void a purchased label; LookupError if unknown, ValueError if already voided."""
        label = self._labels.get(label_id)
        if label is None:
            raise LookupError(f"label {label_id} is unknown")
        if label.status == "voided":
            raise ValueError(f"label {label_id} is already voided")
        self._labels[label_id] = replace(label, status="voided")
        return self._labels[label_id]
