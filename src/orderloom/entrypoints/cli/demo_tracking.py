"""Demo shipments: real carrier sample responses fed into demo orders, so the demo shows semantic statuses from
several carriers, a cold-chain alert and an "arriving soon" event (and, through the outbox, notifications)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from orderloom.application.orders import place_order
from orderloom.application.shipments import apply_tracking, create_shipment, record_telemetry
from orderloom.application.tracking import read_tracking
from orderloom.bootstrap import Container
from orderloom.domain.telemetry import Reading
from orderloom.entrypoints.api.schemas import EXAMPLE_ORDER, decode_new_order

__all__ = ["DemoShipment", "load_tracking_demo", "sample_dir"]


@dataclass(frozen=True, slots=True)
class DemoShipment:
    """One demo parcel: which sample feeds it and who the customer is."""

    carrier: str
    sample: str
    tracking_number: str
    shipped_at: datetime
    tags: tuple[str, ...] = ()
    country: str = "US"


DEMO = (
    DemoShipment(
        "dhl_express", "tracking_multi_raw.xml", "3180831640", datetime(2009, 8, 28, tzinfo=UTC), ("vip",), "CN"
    ),
    DemoShipment("usps", "tracking_delivered_raw.json", "9400109104250532908587", datetime(2024, 11, 15, tzinfo=UTC)),
    DemoShipment("fedex", "duplicate_delivered_raw.json", "776094337676", datetime(2024, 4, 24, tzinfo=UTC), ("vip",)),
    DemoShipment("australiapost", "tracking_multi_raw.json", "LX123456789US", datetime(2021, 1, 5, tzinfo=UTC)),
    DemoShipment("canadapost", "tracking_in_transit_raw.xml", "7023210039414604", datetime(2011, 2, 1, tzinfo=UTC)),
    DemoShipment(
        "dhl_parcel_de", "tracking_delivered_raw.xml", "00340434161094015902", datetime(2016, 3, 17, tzinfo=UTC)
    ),
    DemoShipment(
        "sf_express", "tracking_delivered_raw.json", "SF1011603494291", datetime(2019, 5, 9, tzinfo=UTC), (), "CN"
    ),
    DemoShipment(
        "royalmail", "tracking_events_raw.json", "FQ087430672GB", datetime(2016, 10, 19, tzinfo=UTC), (), "GB"
    ),
    DemoShipment("ups", "tracking_on_hold_raw.json", "1Z023E2X0214323462", datetime(2021, 2, 9, tzinfo=UTC)),
    DemoShipment("fedex", "ws_tracking_in_transit_raw.xml", "794887075005", datetime(2022, 12, 2, tzinfo=UTC)),
)


COLD_CHAIN_NUMBER = "776094337676"  # a VIP customer's parcel: the cold-chain alert is notified


def sample_dir() -> Path | None:
    """The carrier samples: tests/fixtures/carriers of a source checkout, else ../shared/data/carriers."""
    here = Path(str(resources.files("orderloom"))).resolve()
    for candidate in (
        here.parents[1] / "tests" / "fixtures" / "carriers",
        here.parents[2] / "shared" / "data" / "carriers",
    ):
        if candidate.is_dir():
            return candidate
    return None


def _order(container: Container, tenant_id: str, item: DemoShipment) -> Any:
    body = dict(EXAMPLE_ORDER)
    body["channel_order_id"] = f"DEMO-TRK-{item.carrier}-{item.tracking_number}"
    body["tags"] = list(item.tags)
    body["status"] = {"main": "shipped", "sub": "handed_to_carrier"}
    body["shipping_address"] = {**EXAMPLE_ORDER["shipping_address"], "country": item.country}
    new = decode_new_order(msgspec.json.encode(body))

    def work(uow: Any) -> Any:
        if uow.shipments.find_by_number(tenant_id, item.carrier, item.tracking_number) is not None:
            return None
        doc = place_order(
            uow=uow, tenant_id=tenant_id, new=new, lifecycle=container.lifecycle, actor="demo", now=item.shipped_at
        )
        return create_shipment(
            uow=uow,
            tenant_id=tenant_id,
            order_id=doc["id"],
            carrier=item.carrier,
            tracking_numbers=[item.tracking_number],
            now=item.shipped_at,
            shipped_at=item.shipped_at,
            destination=(50.7374, 7.0982),
            arrival_radius_m=1500,
        )

    return container.tx.run(work)


def load_tracking_demo(container: Container, *, tenant_id: str, now: datetime) -> list[dict[str, Any]]:
    """Create the demo shipments (once) and feed them their carrier samples; returns one summary row each."""
    samples = sample_dir()
    setup = container.tracking
    if samples is None or setup is None:
        return []
    rows = []
    for item in DEMO:
        shipment = _order(container, tenant_id, item)
        if shipment is None:
            continue
        payload = (samples / item.carrier / item.sample).read_bytes()
        outcomes = read_tracking(carrier=item.carrier, payload=payload, parsers=setup.parsers, maps=setup.maps)
        mine = [o for o in outcomes if getattr(o, "tracking_number", None) == item.tracking_number]

        def work(uow: Any, mine: Any = mine, item: DemoShipment = item) -> Any:
            return apply_tracking(
                uow=uow,
                tenant_id=tenant_id,
                carrier=item.carrier,
                outcomes=mine,
                lifecycle=container.lifecycle,
                actions=setup.actions,
                now=now,
            )

        report = container.tx.run(work)[0]
        rows.append(
            {
                "carrier": item.carrier,
                "tracking_number": item.tracking_number,
                "shipment_id": shipment.id,
                "status": report.status,
                "order_status": report.order_status,
                "scans": report.recorded,
            }
        )
    cold = next((r for r in rows if r["tracking_number"] == COLD_CHAIN_NUMBER), None)
    if cold is not None:
        _cold_chain(container, tenant_id, cold["shipment_id"], now)
    return rows


def _cold_chain(container: Container, tenant_id: str, shipment_id: str, now: datetime) -> None:
    start = now - timedelta(minutes=30)
    readings = [
        Reading(start + timedelta(seconds=30 * i), temperature_c=t)
        for i, t in enumerate([5.1, 7.9, 8.6, 9.4, 10.2, 9.8, 9.1, 8.9, 7.5])
    ]
    readings.append(Reading(start + timedelta(minutes=10), latitude=50.7400, longitude=7.1000))

    def work(uow: Any) -> Any:
        return record_telemetry(uow=uow, tenant_id=tenant_id, shipment_id=shipment_id, readings=readings, now=now)

    container.tx.run(work)
