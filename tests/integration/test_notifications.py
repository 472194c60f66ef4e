"""Customer notifications end to end: outbox → relay → bus → tiers and templates → a real local SMTP server
(aiosmtpd) and a real local webhook receiver that checks the HMAC signature; never twice for one event."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiosmtpd.controller import Controller

from orderloom.application.notifications import notify_event
from orderloom.application.orders import place_order
from orderloom.application.shipments import apply_tracking, create_shipment
from orderloom.application.tracking import read_tracking
from orderloom.bootstrap import Container, bootstrap
from orderloom.config import Settings
from orderloom.entrypoints.api.schemas import decode_new_order
from tests.conftest import example_order, sqlite_url

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "carriers"
SECRET = "s3cret"


class Inbox:
    def __init__(self) -> None:
        self.mails: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


class Hooks(ThreadingHTTPServer):
    received: list[tuple[dict[str, Any], bool]]


class HookHandler(BaseHTTPRequestHandler):
    server: Hooks

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        # Standard Webhooks: base64 HMAC-SHA256 of "id.timestamp.body", the same scheme as outgoing webhooks
        signed = f"{self.headers['webhook-id']}.{self.headers['webhook-timestamp']}.".encode() + body
        expected = "v1," + base64.b64encode(hmac.new(SECRET.encode(), signed, hashlib.sha256).digest()).decode()
        ok = hmac.compare_digest(expected, self.headers["webhook-signature"])
        ok = ok and self.headers["webhook-id"] == self.headers["Idempotency-Key"]
        self.server.received.append((json.loads(body), ok))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    srv = Hooks(("127.0.0.1", 0), HookHandler)
    srv.received = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _subject(mail: Any) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def _setup(container: Container, tenant: str) -> None:
    lifecycle = container.lifecycle
    cases = [
        ("dhl_express", "3180831640", ["vip"], "CN", datetime(2009, 8, 28, tzinfo=UTC)),
        ("usps", "9400109104250532908587", [], "US", datetime(2024, 11, 15, tzinfo=UTC)),
    ]

    def work(uow: Any) -> None:
        for carrier, number, tags, country, shipped in cases:
            body = example_order(tags=tags, status={"main": "shipped", "sub": "handed_to_carrier"})
            body["shipping_address"] = {**body["shipping_address"], "country": country}
            new = decode_new_order(msgspec.json.encode(body))
            doc = place_order(uow=uow, tenant_id=tenant, new=new, lifecycle=lifecycle, actor="t", now=shipped)
            create_shipment(
                uow=uow,
                tenant_id=tenant,
                order_id=doc["id"],
                carrier=carrier,
                tracking_numbers=[number],
                now=shipped,
                shipped_at=shipped,
            )

    container.tx.run(work)
    assert container.tracking is not None
    for carrier, path in [
        ("dhl_express", "dhl_express/tracking_multi_raw.xml"),
        ("usps", "usps/tracking_delivered_raw.json"),
    ]:
        outcomes = read_tracking(
            carrier=carrier,
            payload=(FIXTURES / path).read_bytes(),
            parsers=container.tracking.parsers,
            maps=container.tracking.maps,
        )
        container.tx.run(
            lambda uow, c=carrier, o=outcomes: apply_tracking(  # type: ignore[misc]
                uow=uow,
                tenant_id=tenant,
                carrier=c,
                outcomes=o,
                lifecycle=lifecycle,
                actions=container.tracking.actions,
                now=datetime(2030, 1, 1, tzinfo=UTC),
            )
        )  # type: ignore[union-attr]


def test_tiered_localised_notifications_on_email_and_signed_webhook_never_twice(
    smtp: tuple[Inbox, int], hooks: Hooks, tmp_path: Path
) -> None:
    inbox, port = smtp
    settings = Settings(
        database_url=sqlite_url(tmp_path),
        relay_enabled=False,
        smtp_host="127.0.0.1",
        smtp_port=port,
        notify_webhook_url=f"http://127.0.0.1:{hooks.server_address[1]}/notify",
        notify_webhook_secret=SECRET,
    )
    container = bootstrap(settings, group_commit=False)
    try:
        tenant = container.tenants.create("notify")[0]
        _setup(container, tenant)
        container.relay.drain()
        subjects = [_subject(m) for m in inbox.mails]
        vip = [s for s in subjects if s.startswith("订单")]
        standard = [s for s in subjects if s.startswith("Order")]
        assert len(vip) == 16  # every mapped DHL scan, in Chinese
        assert standard == [standard[0]] and standard[0].endswith(": delivered")  # one milestone: delivered
        assert len(hooks.received) == 17 and all(ok for _, ok in hooks.received)
        assert {h["tier"] for h, _ in hooks.received} == {"vip", "standard"}
        log_sink = container.notifications.notifiers[0]  # type: ignore[union-attr]
        assert len(log_sink.messages) == 17  # type: ignore[attr-defined]
        # a redelivered event (the bus retrying, a second relay) is not sent again on any channel
        event = container.outbox.unpublished(1)
        first = log_sink.messages[0]  # type: ignore[attr-defined]
        replay = {
            "id": first.event_id,
            "type": first.event_type,
            "source": f"/orderloom/tenants/{tenant}",
            "time": "2030-01-01T00:00:00Z",
            "data": dict(first.data),
        }
        assert notify_event(event=replay, setup=container.notifications, now=datetime(2030, 1, 1, tzinfo=UTC)) == []  # type: ignore[arg-type]
        assert len(inbox.mails) == 17 and len(hooks.received) == 17 and event == []
    finally:
        container.close()


def test_failed_channel_releases_its_claim_and_the_retry_sends_once(smtp: tuple[Inbox, int], tmp_path: Path) -> None:
    inbox, port = smtp
    settings = Settings(database_url=sqlite_url(tmp_path), relay_enabled=False, smtp_host="127.0.0.1", smtp_port=port)
    container = bootstrap(settings, group_commit=False)
    try:
        tenant = container.tenants.create("retry")[0]
        setup = container.notifications
        assert setup is not None
        email = setup.notifiers[1]
        real_port = email.port  # type: ignore[attr-defined]
        email.port = _free_port()  # type: ignore[attr-defined]  # nothing listens: the send fails
        _setup(container, tenant)
        container.relay.drain()
        assert inbox.mails == []
        email.port = real_port  # type: ignore[attr-defined]
        # the bus recorded the failures; deliver every event again (what its retry does once due)
        retried = 0
        for message in _published(container):
            retried += 1
            container.bus.publish(message)
        assert retried > 0
        assert len([m for m in inbox.mails if _subject(m).startswith("订单")]) == 16
        count = len(inbox.mails)
        for message in _published(container):
            container.bus.publish(message)
        assert len(inbox.mails) == count  # sent once only
    finally:
        container.close()


def _published(container: Container) -> list[Any]:
    import sqlalchemy as sa

    from orderloom.adapters.persistence.tables import outbox

    with container.engines.read.connect() as conn:
        ids = [r.event_id for r in conn.execute(sa.select(outbox.c.event_id).order_by(outbox.c.seq))]
    return [m for m in (container.outbox.get(i) for i in ids) if m is not None]
