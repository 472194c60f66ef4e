"""Demo stock network: three warehouses in China and one in the US, stocked with the demo catalogue's SKUs."""

from __future__ import annotations

from orderloom.application.inventory import ReceiptLine, create_location, receive_stock
from orderloom.application.ports import UnitOfWork
from orderloom.bootstrap import Container, utc_now
from orderloom.domain.inventory import Capability, DuplicateLocation, Location, LocationType

__all__ = ["DEMO_LOCATIONS", "load_demo_stock"]

# id, name, type, country, city, latitude, longitude, time zone, capabilities
DEMO_LOCATIONS = [
    (
        "CN-SH1",
        "Shanghai Qingpu warehouse",
        LocationType.WAREHOUSE,
        "CN",
        "Shanghai",
        31.1497,
        121.1240,
        "Asia/Shanghai",
    ),
    (
        "CN-HZ1",
        "Hangzhou Xiaoshan warehouse",
        LocationType.WAREHOUSE,
        "CN",
        "Hangzhou",
        30.1838,
        120.2645,
        "Asia/Shanghai",
    ),
    ("CN-BJ1", "Beijing Daxing warehouse", LocationType.WAREHOUSE, "CN", "Beijing", 39.7267, 116.3411, "Asia/Shanghai"),
    (
        "US-CA1",
        "Ontario CA warehouse",
        LocationType.OVERSEAS,
        "US",
        "Ontario",
        34.0633,
        -117.6509,
        "America/Los_Angeles",
    ),
]
# units per SKU at each location (by country); scarce SKUs show the stock-shortage hold in the demo
STOCK = {"CN": 60, "US": 150}
SCARCE = {"SNEAKER-RUN-42": 2, "HEADPHONE-BT-01": 3}


def load_demo_stock(container: Container, *, tenant_id: str, skus: list[str]) -> None:
    """Create the demo locations (once) and receive opening stock (idempotent on its reference)."""

    def work(uow: UnitOfWork) -> None:
        now = utc_now()
        for loc_id, name, kind, country, city, lat, lon, tz in DEMO_LOCATIONS:
            caps = {Capability.SHIP, Capability.PICKUP} | ({Capability.CROSS_BORDER} if country == "CN" else set())
            loc = Location(
                id=loc_id,
                tenant_id=tenant_id,
                name=name,
                type=kind,
                country=country,
                city=city,
                latitude=lat,
                longitude=lon,
                capabilities=frozenset(caps),
                daily_capacity=2000,
                cutoff_time="16:00",
                time_zone=tz,
            )
            try:
                with uow.savepoint():
                    create_location(uow=uow, location=loc, now=now)
            except DuplicateLocation:
                pass
        lines = [
            ReceiptLine(sku, loc_id, SCARCE.get(sku, STOCK[country]))
            for sku in skus
            for loc_id, _, _, country, *_ in DEMO_LOCATIONS
        ]
        receive_stock(uow=uow, tenant_id=tenant_id, reference="DEMO-OPENING", lines=lines, reason="opening", now=now)

    container.tx.run(work)
