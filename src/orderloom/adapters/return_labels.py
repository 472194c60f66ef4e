"""Return labels booked through the carrier-booking port (the same EasyPost/Shippo-shaped port the forward flow uses):
the cheapest quoted service for a parcel from the customer back to the shop is bought."""

from __future__ import annotations

from orderloom.application.fulfilment_ports import CarrierBooking, Shipment
from orderloom.application.returns_ports import ReturnLabel
from orderloom.domain.orders import Order

__all__ = ["BookedReturnLabels"]

RETURN_PARCEL_KG = 1.0  # a default parcel: the customer packs it, its weight is not known when the label is made


class BookedReturnLabels:
    """ReturnLabels on top of a CarrierBooking: quote, take the cheapest rate, buy its label."""

    def __init__(self, booking: CarrierBooking) -> None:
        self._booking = booking

    def create(self, *, tenant_id: str, return_id: str, order: Order) -> ReturnLabel:
        """A prepaid label for the customer to send the return back."""
        country = order.shipping_address.country if order.shipping_address else None
        parcel = Shipment(from_country=country, to_country=country, to_postal_code=None, weight_kg=RETURN_PARCEL_KG)
        cheapest = self._booking.rates(parcel)[0]
        label = self._booking.buy(cheapest.id)
        return ReturnLabel(label.carrier, label.tracking_number, label.label_url)
