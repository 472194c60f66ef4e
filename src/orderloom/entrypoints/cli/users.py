"""``orderloom users``: console accounts per tenant (viewer, operator, admin). Passwords are never printed."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from orderloom.application.console import ROLES
from orderloom.application.passwords import hash_password
from orderloom.bootstrap import bootstrap
from orderloom.config import Settings
from orderloom.entrypoints.cli.errors import CliError

__all__ = ["app"]

app = typer.Typer(help="Console accounts (viewer, operator, admin).", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password: pass --password-stdin and pipe it in")
    password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return password


def _hash(password: str) -> str:
    try:
        return hash_password(password)
    except ValueError as exc:
        raise CliError(str(exc)) from None


@app.command("create")
def create(
    tenant: Annotated[str, typer.Option(help="tenant name")],
    username: Annotated[str, typer.Option(help="login name, unique per tenant")],
    role: Annotated[str, typer.Option(help="viewer | operator | admin")] = "operator",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Create a console account; the password is asked for (hidden) or read from stdin."""
    if role not in ROLES:
        raise CliError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    container = bootstrap(Settings(), group_commit=False)
    try:
        tenant_id = container.tenants.find(tenant)
        if tenant_id is None:
            raise CliError(f"no tenant named {tenant!r}")
        password_hash = _hash(_password(password_stdin))
        container.console.create_user(tenant_id=tenant_id, username=username, role=role, password_hash=password_hash)
    finally:
        container.close()
    print(f"console user {username!r} ({role}) created in tenant {tenant!r}")


@app.command("password")
def set_password(
    tenant: Annotated[str, typer.Option(help="tenant name")],
    username: Annotated[str, typer.Option(help="login name")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Set a new password for a console account."""
    container = bootstrap(Settings(), group_commit=False)
    try:
        tenant_id = container.tenants.find(tenant)
        if tenant_id is None:
            raise CliError(f"no tenant named {tenant!r}")
        password_hash = _hash(_password(password_stdin))
        if not container.console.set_password(tenant_id=tenant_id, username=username, password_hash=password_hash):
            raise CliError(f"no console user {username!r} in tenant {tenant!r}")
    finally:
        container.close()
    print(f"password of {username!r} changed")


@app.command("disable")
def disable(
    tenant: Annotated[str, typer.Option(help="tenant name")],
    username: Annotated[str, typer.Option(help="login name")],
) -> None:
    """Stop a console account from signing in (open sessions end at their next request)."""
    container = bootstrap(Settings(), group_commit=False)
    try:
        tenant_id = container.tenants.find(tenant)
        if tenant_id is None:
            raise CliError(f"no tenant named {tenant!r}")
        if not container.console.disable_user(tenant_id=tenant_id, username=username):
            raise CliError(f"no active console user {username!r} in tenant {tenant!r}")
    finally:
        container.close()
    print(f"console user {username!r} disabled")


@app.command("list")
def list_users(tenant: Annotated[str, typer.Option(help="tenant name")]) -> None:
    """List a tenant's console accounts and roles."""
    container = bootstrap(Settings(), group_commit=False)
    try:
        tenant_id = container.tenants.find(tenant)
        if tenant_id is None:
            raise CliError(f"no tenant named {tenant!r}")
        users = container.console.list_users(tenant_id)
    finally:
        container.close()
    for user in users:
        print(f"{user.username}\t{user.role}")
