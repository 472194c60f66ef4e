"""The Olist e-commerce history (CC BY-NC-SA, read in place from ``../shared/data/orders/olist``) as delay examples.

One example per delivered order with a carrier hand-over date: the ``DelayFeatures`` known at hand-over and whether
the parcel arrived on a later calendar day than the estimate. Only facts known at hand-over are used: nothing from
the delivery date (except the label) or the reviews. Olist times are Brasília local time (UTC-3).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from orderloom.domain.delay_risk import DelayFeatures

__all__ = ["TEST_FROM", "DelayExample", "default_olist_dir", "load_examples", "time_split"]

BRT = timezone(timedelta(hours=-3))
TEST_FROM = datetime(2018, 3, 1, tzinfo=BRT)
"""The fixed time split: orders purchased before March 2018 train the model, later ones test it."""


@dataclass(frozen=True, slots=True)
class DelayExample:
    """One historical shipment: its order id, what was known at hand-over, and whether it was late."""

    order_id: str
    features: DelayFeatures
    late: bool
    transit_days: float  # hand-over to delivery: an outcome, only for statistics over past (training) orders


def default_olist_dir() -> Path:
    """``../shared/data/orders/olist`` next to the source checkout (it may be absent)."""
    return Path(__file__).resolve().parents[4] / ".." / "shared" / "data" / "orders" / "olist"


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def _time(text: str) -> datetime | None:
    return datetime.fromisoformat(text).replace(tzinfo=BRT) if text else None


def _float(text: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _zip_points(folder: Path) -> dict[str, tuple[float, float]]:
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for row in _rows(folder / "olist_geolocation_dataset.csv"):
        acc = sums[row["geolocation_zip_code_prefix"]]
        acc[0] += float(row["geolocation_lat"])
        acc[1] += float(row["geolocation_lng"])
        acc[2] += 1
    return {z: (a[0] / a[2], a[1] / a[2]) for z, a in sums.items()}


@dataclass
class _Basket:
    goods: float = 0.0
    freight: float = 0.0
    items: int = 0
    weight: float | None = None
    volume: float | None = None
    seller: str = ""
    category: str | None = None
    top_price: float = -1.0
    ship_by: datetime | None = None


def _add(total: float | None, value: float | None) -> float | None:
    return value if total is None else (total if value is None else total + value)


def _baskets(folder: Path) -> dict[str, _Basket]:
    products = {r["product_id"]: r for r in _rows(folder / "olist_products_dataset.csv")}
    baskets: dict[str, _Basket] = defaultdict(_Basket)
    for row in _rows(folder / "olist_order_items_dataset.csv"):
        b = baskets[row["order_id"]]
        price = float(row["price"])
        b.goods += price
        b.freight += float(row["freight_value"])
        b.items += 1
        product = products.get(row["product_id"], {})
        b.weight = _add(b.weight, _float(product.get("product_weight_g", "")))
        dims = [_float(product.get(f"product_{d}_cm", "")) for d in ("length", "height", "width")]
        if all(d is not None for d in dims):
            b.volume = _add(b.volume, dims[0] * dims[1] * dims[2])  # type: ignore[operator]
        limit = _time(row["shipping_limit_date"])
        if limit is not None and (b.ship_by is None or limit < b.ship_by):
            b.ship_by = limit
        if price > b.top_price:  # the dearest line names the seller and category
            b.top_price = price
            b.seller = row["seller_id"]
            b.category = product.get("product_category_name") or None
    return baskets


def load_examples(folder: Path | None = None) -> list[DelayExample]:
    """Delivered Olist orders with a hand-over date, oldest purchase first."""
    folder = folder or default_olist_dir()
    points = _zip_points(folder)
    customers = {r["customer_id"]: r for r in _rows(folder / "olist_customers_dataset.csv")}
    sellers = {r["seller_id"]: r for r in _rows(folder / "olist_sellers_dataset.csv")}
    baskets = _baskets(folder)
    out: list[DelayExample] = []
    for row in _rows(folder / "olist_orders_dataset.csv"):
        handed, delivered = _time(row["order_delivered_carrier_date"]), _time(row["order_delivered_customer_date"])
        estimate, purchased = _time(row["order_estimated_delivery_date"]), _time(row["order_purchase_timestamp"])
        basket = baskets.get(row["order_id"])
        if row["order_status"] != "delivered" or None in (handed, delivered, estimate, purchased) or basket is None:
            continue
        assert handed is not None and delivered is not None and estimate is not None
        customer = customers.get(row["customer_id"], {})
        seller = sellers.get(basket.seller, {})
        promised = estimate + timedelta(days=1)  # the estimate is a calendar day: late means after that day
        features = DelayFeatures(
            handed_over_at=handed.astimezone(UTC),
            promised_at=promised.astimezone(UTC),
            purchased_at=purchased.astimezone(UTC) if purchased else None,
            approved_at=(a.astimezone(UTC) if (a := _time(row["order_approved_at"])) else None),
            ship_by=basket.ship_by.astimezone(UTC) if basket.ship_by else None,
            origin=points.get(seller.get("seller_zip_code_prefix", "")),
            destination=points.get(customer.get("customer_zip_code_prefix", "")),
            origin_region=seller.get("seller_state") or None,
            destination_region=customer.get("customer_state") or None,
            category=basket.category,
            freight_value=basket.freight,
            goods_value=basket.goods,
            item_count=basket.items,
            weight_g=basket.weight,
            volume_cm3=basket.volume,
        )
        transit = (delivered - handed).total_seconds() / 86400
        out.append(
            DelayExample(row["order_id"], features, late=delivered.date() > estimate.date(), transit_days=transit)
        )
    out.sort(key=lambda e: (e.features.purchased_at or e.features.handed_over_at, e.order_id))
    return out


def time_split(
    examples: list[DelayExample], test_from: datetime = TEST_FROM
) -> tuple[list[DelayExample], list[DelayExample]]:
    """(train, test): purchased before ``test_from``, and from then on."""
    train = [e for e in examples if (e.features.purchased_at or e.features.handed_over_at) < test_from]
    test = [e for e in examples if (e.features.purchased_at or e.features.handed_over_at) >= test_from]
    return train, test
