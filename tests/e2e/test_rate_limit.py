"""Per-tenant rate limits on the API: 429 problem+json with Retry-After, other tenants unaffected."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from orderloom.bootstrap import bootstrap
from orderloom.config import Settings
from orderloom.entrypoints.api.app import create_app
from tests.conftest import example_order


@pytest.fixture(params=[False, True], ids=["memory", "shared"])
def limited(request: pytest.FixtureRequest, db_url: str) -> Iterator[tuple[TestClient, str, str]]:
    settings = Settings(
        database_url=db_url,
        relay_enabled=False,
        rate_limit_per_second=0.01,
        rate_limit_burst=3,
        rate_limit_shared=request.param,
    )
    c = bootstrap(settings)
    c.start()
    suffix = uuid.uuid4().hex[:8]
    _, key_a = c.tenants.create(f"a-{suffix}")
    _, key_b = c.tenants.create(f"b-{suffix}")
    with TestClient(create_app(c, manage_lifecycle=False)) as client:
        yield client, key_a, key_b
    c.close()


def test_over_the_limit_is_429_with_retry_after(limited: tuple[TestClient, str, str]) -> None:
    client, key_a, key_b = limited
    auth_a = {"Authorization": f"Bearer {key_a}"}
    codes = [client.post("/v1/orders", json=example_order(), headers=auth_a).status_code for _ in range(3)]
    assert codes == [201, 201, 201]
    r = client.get("/v1/orders", headers=auth_a)
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["retry-after"]) >= 1
    body = r.json()
    assert body["type"] == "https://orderloom.dev/problems/rate-limited"
    assert body["retry_after"] == int(r.headers["retry-after"])
    # another tenant has its own bucket
    assert client.get("/v1/orders", headers={"Authorization": f"Bearer {key_b}"}).status_code == 200
