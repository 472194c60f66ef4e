"""Outgoing webhooks end to end: subscribe over the API, an order event reaches a real local receiver, signed;
a failing receiver is retried with backoff, then dead, then redelivered by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec
import pytest
from fastapi.testclient import TestClient

from orderloom.adapters.notify.http_webhooks import HttpxWebhookSender
from orderloom.application.webhooks import deliver_due
from orderloom.bootstrap import Container, utc_now
from orderloom.entrypoints.api.app import create_app
from tests.conftest import example_order


class Receiver:
    """A real HTTP server on loopback that records requests and answers with scripted status codes."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.codes: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = receiver.codes.pop(0) if receiver.codes else 204
                self.send_response(code)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def auth(tenant: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant[1]}"}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, manage_lifecycle=False)) as c:
        yield c


def _verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
    return headers["webhook-signature"] == "v1," + expected


def test_signed_delivery_retry_dead_and_redeliver(
    client: TestClient, container: Container, auth: dict[str, str], receiver: Receiver
) -> None:
    r = client.post("/v1/webhooks", json={"url": receiver.url, "event_types": ["orderloom.order.*"]}, headers=auth)
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["secret"].startswith("whsec_")
    assert "secret" not in client.get("/v1/webhooks", headers=auth).json()["items"][0]
    order = client.post("/v1/orders", json=example_order(), headers=auth).json()
    container.relay.drain()  # the bus fans the OrderPlaced event out to a pending delivery
    sender = HttpxWebhookSender(timeout=5)
    try:
        receiver.codes = [500, 503]
        now = utc_now()
        assert deliver_due(store=container.webhooks, outbox=container.outbox, sender=sender, now=now) == (0, 1)
        log = client.get(f"/v1/webhooks/{sub['id']}/deliveries", headers=auth).json()["items"]
        assert [(d["status"], d["attempts"], d["last_status_code"]) for d in log] == [("pending", 1, 500)]
        # not due again until the backoff has passed
        assert deliver_due(store=container.webhooks, outbox=container.outbox, sender=sender, now=now) == (0, 0)
        later = now + timedelta(hours=1)
        assert deliver_due(
            store=container.webhooks, outbox=container.outbox, sender=sender, now=later, max_attempts=2
        ) == (0, 1)
        dead = client.get(f"/v1/webhooks/{sub['id']}/deliveries", headers=auth).json()["items"][0]
        assert (dead["status"], dead["attempts"], dead["last_status_code"]) == ("dead", 2, 503)
        assert deliver_due(store=container.webhooks, outbox=container.outbox, sender=sender, now=later) == (0, 0)
        r = client.post(f"/v1/webhooks/deliveries/{dead['id']}/redeliver", headers=auth)
        assert r.status_code == 202 and r.json()["status"] == "pending"
        assert deliver_due(store=container.webhooks, outbox=container.outbox, sender=sender, now=utc_now()) == (1, 0)
    finally:
        sender.close()
    assert len(receiver.requests) == 3
    headers, body = receiver.requests[-1]
    assert _verify(sub["secret"], headers, body)
    assert not _verify("whsec_wrong-secret-000", headers, body)
    event = msgspec.json.decode(body)
    assert event["type"] == "orderloom.order.placed" and event["data"]["order_id"] == order["id"]
    assert headers["content-type"] == "application/cloudevents+json"
    final = client.get(f"/v1/webhooks/{sub['id']}/deliveries", headers=auth).json()["items"][0]
    assert (final["status"], final["last_status_code"]) == ("delivered", 204)


def test_bad_subscriptions_and_unknown_ids(client: TestClient, auth: dict[str, str]) -> None:
    r = client.post("/v1/webhooks", json={"url": "ftp://x", "event_types": ["orderloom.*.x"]}, headers=auth)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"url", "event_types/0"} <= fields
    assert client.get("/v1/webhooks/whk_nope", headers=auth).status_code == 404
    assert client.delete("/v1/webhooks/whk_nope", headers=auth).status_code == 404
    assert client.post("/v1/webhooks/deliveries/dlv_nope/redeliver", headers=auth).status_code == 404
