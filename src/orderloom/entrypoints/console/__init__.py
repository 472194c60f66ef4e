"""The ops console (``/console``), the customer tracking page (``/track/{token}``) and their static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from orderloom.entrypoints.console import (
    fulfilment_section,
    ops_pages,
    order_sections,
    pages,
    returns_page,
    returns_section,
    tracking,
)
from orderloom.entrypoints.console.session import Forbidden, LoginRequired
from orderloom.entrypoints.console.throttle import LoginThrottle

__all__ = ["install_console"]

_SECTIONS = (order_sections, fulfilment_section, returns_section)  # imported for their register_section calls

STATIC = Path(__file__).parent / "static"


def install_console(app: FastAPI) -> None:
    """Mount the console's routers, static files and its sign-in/permission handlers on the app."""

    async def login_required(request: Request, _exc: Exception) -> Response:
        if request.headers.get("hx-request") == "true":  # htmx follows HX-Redirect instead of swapping a page in
            return Response(status_code=401, headers={"HX-Redirect": "/console/login"})
        return RedirectResponse("/console/login", status_code=303)

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Forbidden)
        return pages.forbidden_page(request, exc)

    app.state.login_throttle = LoginThrottle()
    app.include_router(pages.router)
    app.include_router(ops_pages.router)
    app.include_router(returns_page.router)
    app.include_router(tracking.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console_static")
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(Forbidden, forbidden)
