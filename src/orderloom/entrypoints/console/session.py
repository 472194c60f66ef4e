"""Console sign-in: a signed session cookie (itsdangerous), session-bound CSRF tokens, and role checks.

The API's bearer-key authentication is separate and untouched: the console never accepts API keys and the API
never reads the console cookie.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from orderloom.application.console import ConsoleUser, can_act
from orderloom.bootstrap import Container

__all__ = [
    "COOKIE",
    "CSRF_COOKIE",
    "Forbidden",
    "LoginRequired",
    "check_csrf",
    "check_login_csrf",
    "current_user",
    "end_session",
    "login_csrf",
    "require_operator",
    "require_user",
    "server_secret",
    "start_session",
]

COOKIE = "ol_console"
CSRF_COOKIE = "ol_csrf"
MAX_AGE = 12 * 3600


class LoginRequired(Exception):
    """No valid console session: answered with a redirect to the login page."""


class Forbidden(Exception):
    """Signed in, but the role (or a missing CSRF token) does not allow this: answered with 403."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def server_secret(request: Request) -> str:
    """The secret that signs sessions and tracking links (settings, else one kept in the store)."""
    cached: str | None = getattr(request.app.state, "console_secret", None)
    if cached is None:
        container = _container(request)
        cached = container.settings.console_secret or container.console.secret("console")
        request.app.state.console_secret = cached
    return cached


def _serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(server_secret(request), salt="orderloom.console.session")


def _session(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(request).loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return None
    return data if isinstance(data, dict) and "u" in data and "c" in data else None


def current_user(request: Request) -> ConsoleUser | None:
    """The signed-in, still active account (its role is read afresh from the store), or None."""
    if hasattr(request.state, "console_user"):
        user: ConsoleUser | None = request.state.console_user
        return user
    session = _session(request)
    user = _container(request).console.get_user(str(session["u"])) if session else None
    request.state.console_user = user
    request.state.csrf = str(session["c"]) if session and user else ""
    return user


def require_user(request: Request) -> ConsoleUser:
    """The signed-in account, or LoginRequired."""
    user = current_user(request)
    if user is None:
        raise LoginRequired
    return user


def require_operator(request: Request, form: Any) -> ConsoleUser:
    """The signed-in account if its role may change orders and the form's CSRF token is right; else Forbidden."""
    user = require_user(request)
    check_csrf(request, form)
    if not can_act(user.role):
        raise Forbidden(f"your role ({user.role}) may look but not change orders")
    return user


def _sent_token(request: Request, form: Any) -> str:
    return str(form.get("csrf_token") or request.headers.get("x-csrf-token") or "")


def check_csrf(request: Request, form: Any) -> None:
    """Forbidden unless the form field (or X-CSRF-Token header) equals the session's token."""
    current_user(request)
    expected: str = getattr(request.state, "csrf", "")
    if not expected or not hmac.compare_digest(_sent_token(request, form), expected):
        raise Forbidden("the form's security token is missing or stale; reload the page and try again")


def login_csrf(request: Request) -> str:
    """The double-submit token for the login form (kept in its own cookie until sign-in)."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def check_login_csrf(request: Request, form: Any) -> None:
    """Forbidden unless the login form's token equals its cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(str(form.get("csrf_token") or ""), cookie):
        raise Forbidden("the sign-in form expired; reload the page and try again")


def _cookie_args(request: Request) -> dict[str, Any]:
    return {"httponly": True, "samesite": "lax", "secure": request.url.scheme == "https", "path": "/"}


def start_session(request: Request, response: Response, user: ConsoleUser) -> None:
    """Sign the account in on ``response`` with a fresh CSRF token."""
    value = _serializer(request).dumps({"u": user.id, "c": secrets.token_urlsafe(24)})
    response.set_cookie(COOKIE, value, max_age=MAX_AGE, **_cookie_args(request))
    response.delete_cookie(CSRF_COOKIE, path="/")


def end_session(response: Response) -> None:
    """Sign out on ``response``."""
    response.delete_cookie(COOKIE, path="/")
