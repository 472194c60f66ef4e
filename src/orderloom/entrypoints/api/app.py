"""The FastAPI application: routers, problem handlers, middleware, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.telemetry import TelemetryConfig
from starlette.routing import Route

import orderloom
from orderloom.bootstrap import Container, bootstrap
from orderloom.config import Settings
from orderloom.entrypoints.api import (
    approvals,
    carriers,
    channels,
    fulfilment,
    health,
    inventory,
    kpis,
    locations,
    orders,
    quarantine,
    returns,
    routing,
    rules,
    shipments,
    sla,
    statuses,
    tracking_links,
    webhooks,
)
from orderloom.entrypoints.api.auth import KeyCache
from orderloom.entrypoints.api.fulfilment_problems import install_fulfilment_problems
from orderloom.entrypoints.api.inventory_problems import install_inventory_problems
from orderloom.entrypoints.api.middleware import BodyLimitMiddleware, MetricsMiddleware
from orderloom.entrypoints.api.problems import install_problem_handlers
from orderloom.entrypoints.api.schemas import openapi_components
from orderloom.entrypoints.console import install_console

__all__ = ["app_from_env", "create_app"]

DESCRIPTION = """OrderLoom: one hub for every sales channel, warehouse and carrier.

Authenticate with `Authorization: Bearer <API key>` (`orderloom tenants create NAME` prints one).
Errors are RFC 9457 `application/problem+json` with a stable `type` per kind.
"""


def create_app(container: Container, *, manage_lifecycle: bool = True) -> FastAPI:
    """The ASGI app for a container; starts and stops its background parts with the server."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            container.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                container.close()

    telemetry: TelemetryConfig = (
        {"tracing": True, "metrics": False, "logs": False, "operation_spans": False}
        if container.settings.tracing
        else {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    )
    app = FastAPI(
        title="OrderLoom",
        version=orderloom.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        telemetry=telemetry,
    )
    app.state.container = container
    app.state.key_cache = KeyCache()
    for module in (
        health,
        statuses,
        orders,
        approvals,
        rules,
        locations,
        inventory,
        channels,
        quarantine,
        shipments,
        carriers,
        sla,
        routing,
        webhooks,
        kpis,
        tracking_links,
        fulfilment,
        returns,
    ):
        app.include_router(module.router)
    # ingest hot path: a plain route ahead of the documented FastAPI one (same behaviour, no dependency solving)
    app.router.routes.insert(0, Route("/v1/orders", orders.create_order_fast, methods=["POST"]))
    install_problem_handlers(app)
    install_inventory_problems(app)
    install_fulfilment_problems(app)
    install_console(app)
    app.add_middleware(BodyLimitMiddleware, limit=container.settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware)

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        _, components = openapi_components()
        spec.setdefault("components", {}).setdefault("schemas", {}).update(components)
        app.openapi_schema = spec
        return spec

    app.openapi = custom_openapi  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` (``orderloom serve --workers N``): settings from the environment."""
    return create_app(bootstrap(Settings()))
