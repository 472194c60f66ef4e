"""Console accounts: roles and what each may do, and the port for the account store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["ROLES", "ConsoleUser", "ConsoleUserStore", "can_act", "can_admin"]

ROLES = ("viewer", "operator", "admin")
"""Viewer: reads everything. Operator: also applies actions, releases and retries. Admin: also manages users."""


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """A signed-in console account, scoped to one tenant."""

    id: str
    tenant_id: str
    tenant_name: str
    username: str
    role: str


def can_act(role: str) -> bool:
    """True if the role may change orders (actions, release, retry)."""
    return role in ("operator", "admin")


def can_admin(role: str) -> bool:
    """True if the role may manage console accounts."""
    return role == "admin"


class ConsoleUserStore(Protocol):
    """Console accounts; passwords are kept only as hashes."""

    def create_user(self, *, tenant_id: str, username: str, role: str, password_hash: str) -> str:
        """Add an account; ValidationFailed for a taken username or an unknown role. Returns its id."""

    def set_password(self, *, tenant_id: str, username: str, password_hash: str) -> bool:
        """Replace an account's password hash; False if there is no such account."""

    def disable_user(self, *, tenant_id: str, username: str) -> bool:
        """Stop an account from signing in; False if there is no such active account."""

    def credentials(self, *, tenant_name: str, username: str) -> tuple[ConsoleUser, str] | None:
        """The active account and its password hash, for a login."""

    def get_user(self, user_id: str) -> ConsoleUser | None:
        """An active account by id."""
