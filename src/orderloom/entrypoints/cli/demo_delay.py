"""Demo delay risk: two live parcels to Brazilian customers (the delay model learned on Brazilian history), one
promised for tomorrow to Fortaleza after two days with the carrier, one to São Paulo with twelve days to spare; the
first raises ``orderloom.shipment.delay_predicted``, the second does not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa

from orderloom.adapters.persistence.tables import outbox
from orderloom.application.orders import place_order
from orderloom.application.shipments import create_shipment
from orderloom.bootstrap import Container
from orderloom.entrypoints.api.schemas import EXAMPLE_ORDER, decode_new_order

__all__ = ["DELAY_DEMO", "DelayDemoParcel", "compensation_offers", "load_delay_demo"]


@dataclass(frozen=True, slots=True)
class DelayDemoParcel:
    """A demo parcel: where it goes, how long it has been with the carrier and how far off the promise is."""

    tracking_number: str
    city: str
    region: str
    postal_code: str
    position: tuple[float, float]
    with_carrier: timedelta
    promised_in_days: int


DELAY_DEMO = (
    DelayDemoParcel("DEMO-BR-TIGHT-1", "Fortaleza", "CE", "60110-000", (-3.7319, -38.5267), timedelta(days=2), 1),
    DelayDemoParcel("DEMO-BR-EASY-1", "São Paulo", "SP", "01310-100", (-23.5614, -46.6559), timedelta(hours=6), 12),
)
_CARRIER = "dhl_express"


def _one(container: Container, tenant_id: str, parcel: DelayDemoParcel, now: datetime) -> dict[str, Any]:
    body = dict(EXAMPLE_ORDER)
    body["channel_order_id"] = f"DEMO-DELAY-{parcel.tracking_number}"
    body["status"] = {"main": "shipped", "sub": "handed_to_carrier"}
    lat, lon = parcel.position
    address = {"city": parcel.city, "region": parcel.region, "postal_code": parcel.postal_code, "country": "BR"}
    body["shipping_address"] = {**EXAMPLE_ORDER["shipping_address"], **address, "latitude": lat, "longitude": lon}
    shipped = now - parcel.with_carrier

    def work(uow: Any) -> dict[str, Any]:
        shipment = uow.shipments.find_by_number(tenant_id, _CARRIER, parcel.tracking_number)
        if shipment is None:
            new = decode_new_order(msgspec.json.encode(body))
            doc = place_order(
                uow=uow,
                tenant_id=tenant_id,
                new=new,
                lifecycle=container.lifecycle,
                actor="demo",
                now=shipped - timedelta(days=1),
            )
            shipment = create_shipment(
                uow=uow,
                tenant_id=tenant_id,
                order_id=doc["id"],
                carrier=_CARRIER,
                tracking_numbers=[parcel.tracking_number],
                now=now,
                shipped_at=shipped,
                promised_date=(now + timedelta(days=parcel.promised_in_days)).date(),
                delay=container.delay_model,
            )
        raised = uow.shipments.delay_alert(tenant_id, shipment.id)
        return {"shipment_id": shipment.id, "city": parcel.city, "raised": raised}

    result: dict[str, Any] = container.tx.run(work)
    return result


def load_delay_demo(container: Container, *, tenant_id: str, now: datetime) -> list[dict[str, Any]]:
    """Create the demo parcels (once); one row each with the delay prediction raised for it, if any."""
    if container.tracking is None:
        return []
    return [_one(container, tenant_id, parcel, now) for parcel in DELAY_DEMO]


def compensation_offers(container: Container, *, tenant_id: str) -> list[dict[str, Any]]:
    """The coupons offered to the tenant's customers for predicted delays (``orderloom.customer.compensation_offered``
    events in the outbox), oldest first."""
    with container.engines.read.connect() as conn:
        rows = conn.execute(
            sa.select(outbox.c.payload)
            .where(outbox.c.tenant_id == tenant_id, outbox.c.type == "orderloom.customer.compensation_offered")
            .order_by(outbox.c.seq)
        ).all()
    return [dict(msgspec.json.decode(r.payload)["data"]) for r in rows]
