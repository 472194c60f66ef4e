"""``orderloom demo``: a realistic demo tenant — several channels and currencies, a few hundred orders in varied
statuses reached through the real state machine. Self-contained: needs nothing outside the package."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.progress import Progress

from orderloom.application.orders import apply_action, place_order
from orderloom.application.ports import UnitOfWork
from orderloom.bootstrap import Container, bootstrap, utc_now
from orderloom.config import Settings
from orderloom.domain.errors import DuplicateOrder, IllegalTransition
from orderloom.domain.lifecycle import Status
from orderloom.domain.values import Address, Customer, NewLine, NewOrder, Payment, Totals
from orderloom.entrypoints.cli.demo_console import ensure_demo_console
from orderloom.entrypoints.cli.demo_returns import load_returns_demo
from orderloom.entrypoints.cli.demo_tracking import load_tracking_demo
from orderloom.entrypoints.cli.rules import install_demo_rules

__all__ = ["build_demo_order", "demo", "load_demo"]

CATALOG = [
    ("TSHIRT-BLK-M", "T-shirt, black, M", Decimal("24.99")),
    ("TSHIRT-WHT-L", "T-shirt, white, L", Decimal("24.99")),
    ("HOODIE-GRY-M", "Hoodie, grey, M", Decimal("59.00")),
    ("MUG-WHT", "Mug, white", Decimal("12.50")),
    ("BOTTLE-STEEL-750", "Steel bottle 750 ml", Decimal("29.90")),
    ("SNEAKER-RUN-42", "Running shoe, EU 42", Decimal("119.00")),
    ("CAP-NAVY", "Cap, navy", Decimal("19.00")),
    ("TEA-OOLONG-100G", "Oolong tea 100 g", Decimal("15.80")),
    ("HEADPHONE-BT-01", "Bluetooth headphones", Decimal("89.00")),
    ("BACKPACK-20L", "Backpack 20 L", Decimal("74.50")),
]
US_PLACES = [
    ("New York", "NY", "10001"),
    ("San Francisco", "CA", "94105"),
    ("Austin", "TX", "78701"),
    ("Seattle", "WA", "98101"),
    ("Chicago", "IL", "60601"),
    ("Miami", "FL", "33101"),
]
CN_PLACES = [
    ("上海市", "上海", "200000"),
    ("杭州市", "浙江省", "310000"),
    ("北京市", "北京", "100000"),
    ("深圳市", "广东省", "518000"),
]
NAMES = [
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Katherine Johnson",
    "Linus Pauling",
    "Marie Curie",
    "张伟",
    "李娜",
    "王芳",
    "刘洋",
]
# channel, currency, tax rate (None = prices include tax), country
CHANNELS = [
    ("web", "USD", Decimal("0.08"), "US"),
    ("shopify", "USD", Decimal("0.0725"), "US"),
    ("amazon", "USD", Decimal("0.06"), "US"),
    ("pos", "USD", Decimal("0.0875"), "US"),
    ("tmall", "CNY", None, "CN"),
    ("jd", "CNY", None, "CN"),
]
CNY_RATE = Decimal("7.1")


def build_demo_order(rng: random.Random, n: int, now: datetime) -> NewOrder:
    """One plausible order whose totals reconcile."""
    channel, currency, tax_rate, country = CHANNELS[n % len(CHANNELS)]
    cent = Decimal("0.01")
    lines: list[NewLine] = []
    for sku, name, price in rng.sample(CATALOG, rng.randint(1, 3)):
        unit = (price * CNY_RATE).quantize(Decimal("1")) if currency == "CNY" else price
        qty = rng.randint(1, 3)
        discount = (unit * qty * Decimal("0.1")).quantize(cent) if rng.random() < 0.2 else Decimal("0.00")
        tax = ((unit * qty - discount) * tax_rate).quantize(cent) if tax_rate else Decimal("0.00")
        lines.append(NewLine(sku=sku, name=name, quantity=qty, unit_price=unit, discount=discount, tax=tax))
    subtotal = sum((ln.unit_price * ln.quantity for ln in lines), Decimal(0))
    discount = sum((ln.discount for ln in lines), Decimal(0))
    tax = sum((ln.tax for ln in lines), Decimal(0))
    shipping = Decimal("0.00") if subtotal > 100 else (Decimal("12.00") if currency == "CNY" else Decimal("6.95"))
    grand = subtotal - discount + shipping + (tax if tax_rate else 0)
    name = rng.choice(NAMES)
    city, region, postal = rng.choice(US_PLACES if country == "US" else CN_PLACES)
    address = Address(
        name=name,
        line1=f"{rng.randint(1, 999)} Demo Street",
        city=city,
        region=region,
        postal_code=postal,
        country=country,
    )
    paid = rng.random() < 0.85
    return NewOrder(
        channel=channel,
        channel_order_id=f"{channel.upper()}-{100000 + n}",
        currency=currency,
        placed_at=now - timedelta(minutes=rng.randint(5, 60 * 24 * 30)),
        lines=lines,
        totals=Totals(subtotal=subtotal, discount=discount, shipping=shipping, tax=tax, grand_total=grand),
        customer=Customer(id=f"cus_{rng.randint(1000, 9999)}", email=f"buyer{n}@example.com", name=name),
        shipping_address=address,
        billing_address=address,
        payment=Payment(
            status="paid" if paid else "pending",
            method=rng.choice(["card", "alipay", "wechat_pay", "paypal"]),
        ),
        taxes_included=tax_rate is None,
        tags=["demo"] + (["vip"] if rng.random() < 0.1 else []),
    )


def _walk(uow: UnitOfWork, container: Container, rng: random.Random, tenant_id: str, doc: dict[str, Any]) -> None:
    steps = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    status = Status(doc["status"]["main"], doc["status"]["sub"])
    for _ in range(steps):
        options = list(container.lifecycle.offered_actions(status))
        if not options:
            return
        action = _prefer_progress(rng, options)
        try:
            doc = apply_action(
                uow=uow,
                tenant_id=tenant_id,
                order_id=doc["id"],
                action=action,
                params={"reason": "demo"},
                lifecycle=container.lifecycle,
                actor="demo",
                now=utc_now(),
            )
        except IllegalTransition:
            continue
        status = Status(doc["status"]["main"], doc["status"]["sub"])


_FORWARD = (
    "mark_paid",
    "confirm",
    "allocate",
    "start_fulfilment",
    "pick",
    "pack",
    "ship",
    "deliver",
    "close",
)


def _prefer_progress(rng: random.Random, options: list[str]) -> str:
    forward = [a for a in options if a in _FORWARD]
    return rng.choice(forward) if forward and rng.random() < 0.8 else rng.choice(options)


def load_demo(
    container: Container, *, tenant_id: str, count: int, seed: int = 7, progress: Progress | None = None
) -> int:
    """Place ``count`` demo orders and walk each some way through its lifecycle; returns how many were new."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    created = 0
    task = progress.add_task("demo orders", total=count) if progress else None
    for n in range(count):
        new = build_demo_order(rng, n, now)

        def work(uow: UnitOfWork, new: NewOrder = new) -> None:
            doc = place_order(
                uow=uow,
                tenant_id=tenant_id,
                new=new,
                lifecycle=container.lifecycle,
                actor="demo",
                now=utc_now(),
            )
            _walk(uow, container, rng, tenant_id, doc)

        try:
            container.tx.run(work)
            created += 1
        except DuplicateOrder:
            pass  # already loaded by an earlier run
        if progress is not None and task is not None:
            progress.advance(task)
    return created


def demo(
    orders: Annotated[int, typer.Option(min=1, max=100_000, help="how many demo orders")] = 300,
    tenant: Annotated[str, typer.Option(help="tenant name to load into")] = "demo",
) -> None:
    """Load the demo tenant; prints its API key as the last line."""
    from orderloom.entrypoints.cli.demo_delay import compensation_offers, load_delay_demo
    from orderloom.entrypoints.cli.demo_inventory import load_demo_stock
    from orderloom.entrypoints.cli.main import err, out
    from orderloom.entrypoints.cli.sla import DEMO_SCAN_AHEAD, demo_scan

    container = bootstrap(Settings(), group_commit=False)
    try:
        tenant_id = container.tenants.find(tenant)
        if tenant_id is None:
            tenant_id, key = container.tenants.create(tenant)
        else:
            key = container.tenants.issue_key(tenant_id)
        from orderloom.entrypoints.cli.channel_demo import DEMO_SKUS

        load_demo_stock(container, tenant_id=tenant_id, skus=[sku for sku, _, _ in CATALOG] + DEMO_SKUS)
        rule_sets = install_demo_rules(container, tenant_id)  # before the orders, so intake rules see them
        with Progress(console=err, transient=True) as progress:
            created = load_demo(container, tenant_id=tenant_id, count=orders, progress=progress)
        container.relay.drain()  # the demo orders are allocated: their fulfilment orders open
        from orderloom.entrypoints.cli.demo_fulfilment import load_fulfilment_demo

        fulfilment = load_fulfilment_demo(container, tenant_id=tenant_id, now=utc_now())
        from orderloom.entrypoints.cli.channel_demo import load_channel_demo

        channel_results = load_channel_demo(container, tenant_id=tenant_id)
        shipments = load_tracking_demo(container, tenant_id=tenant_id, now=utc_now())
        delays = load_delay_demo(container, tenant_id=tenant_id, now=utc_now())
        returns = load_returns_demo(container, tenant_id=tenant_id, now=utc_now())
        container.relay.drain()
        offers = compensation_offers(container, tenant_id=tenant_id)
        sla = demo_scan(container)
        login = ensure_demo_console(container, tenant_id)
    finally:
        container.close()
    if rule_sets:
        out.print(f"active demo rule sets: {', '.join(rule_sets)}")
    for label, result in channel_results:
        held = f" → {', '.join(result.applied)}" if result.applied else ""
        why = f" ({result.reason})" if result.reason else ""
        err.print(f"channel demo: {label}: {result.state}{held}{why}", highlight=False, markup=False, soft_wrap=True)
    for row in shipments:
        out.print(
            f"shipment {row['shipment_id']}: {row['carrier']} {row['tracking_number']} → {row['status']}",
            highlight=False,
            soft_wrap=True,
        )
    for row in delays:
        raised = row["raised"]
        verdict = (
            f"delay predicted (risk {raised['probability']:.0%} ≥ {raised['threshold']:.0%}, "
            f"{raised['hours_before_promise']:.0f} h before the promise)"
            if raised
            else "no delay predicted"
        )
        out.print(f"shipment {row['shipment_id']} to {row['city']}: {verdict}", highlight=False, soft_wrap=True)
    for offer in offers:
        c = offer["coupon"]
        out.print(
            f"compensation for order {offer['order_id']}: coupon {c['code']} {c['amount']} {c['currency']} "
            f"(rule {c['rule_id']})",
            highlight=False,
            soft_wrap=True,
        )
    for row in fulfilment:
        out.print(
            " ".join(f"{k}={v}" for k, v in row.items()),
            highlight=False,
            soft_wrap=True,
        )
    for row in returns:
        line = row["breakdown"]["lines"][0]
        out.print(
            f"return {row['return']['id']} of order {row['order_id']}: line 1 x {line['quantity']} restocked at "
            f"{row['location']}, refunded {row['refund']['amount']} {row['refund']['currency']} "
            f"(discount {line['discount']} unwound) → order {row['order_status']}",
            highlight=False,
            soft_wrap=True,
        )
    out.print(
        f"sla scan {DEMO_SCAN_AHEAD} ahead: {sla.breaches} breach(es), {sla.warnings} warning(s) "
        "in the inbox (GET /v1/sla/breaches)",
        soft_wrap=True,
    )
    print(f"console login (/console): tenant {tenant!r}  user {login[0]!r}  password {login[1]!r}")  # unwrapped
    out.print(f"demo tenant {tenant!r}: {created} new orders (of {orders}); API key:")
    print(key)
