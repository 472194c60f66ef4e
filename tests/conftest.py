"""Shared fixtures: a fresh store per backend (SQLite always; PostgreSQL when ORDERLOOM_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from orderloom.adapters.persistence.engine import make_engines
from orderloom.adapters.persistence.migrate import upgrade
from orderloom.bootstrap import Container, bootstrap
from orderloom.config import Settings
from orderloom.entrypoints.api.schemas import EXAMPLE_ORDER

PG_ENV = "ORDERLOOM_TEST_POSTGRES_URL"


def _required(service: str) -> bool:
    return service in os.environ.get("ORDERLOOM_REQUIRE_SERVICES", "").split(",")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session (dropped afterwards)."""
    base = os.environ.get(PG_ENV)
    if not base:
        if _required("postgres"):
            pytest.fail(f"{PG_ENV} is not set but CI requires PostgreSQL tests")
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://user:pw@127.0.0.1/db)")
    url = make_url(base)
    name = f"orderloom_t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        if _required("postgres"):
            raise
        pytest.skip(f"PostgreSQL at {PG_ENV} unreachable: {exc.orig}")
    test_url = url.set(database=name).render_as_string(hide_password=False)
    engines = make_engines(test_url)
    upgrade(engines)
    engines.dispose()
    yield test_url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def sqlite_url(tmp_path: Path) -> str:
    """A fresh, migrated SQLite file."""
    url = f"sqlite:///{tmp_path}/orderloom.db"
    engines = make_engines(url)
    upgrade(engines)
    engines.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database on each backend."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def container(db_url: str) -> Iterator[Container]:
    """A container on the backend, group commit on, relay off (tests drive it)."""
    c = bootstrap(Settings(database_url=db_url, relay_enabled=False))
    c.start()
    yield c
    c.close()


@pytest.fixture
def tenant(container: Container) -> tuple[str, str]:
    """(tenant id, API key) of a new tenant."""
    return container.tenants.create(f"t-{uuid.uuid4().hex[:8]}")


def example_order(**overrides: Any) -> dict[str, Any]:
    """The OpenAPI example order with a unique channel order id, plus overrides."""
    body = copy.deepcopy(EXAMPLE_ORDER)
    body["channel_order_id"] = f"T-{uuid.uuid4().hex[:12]}"
    body.update(overrides)
    return body
