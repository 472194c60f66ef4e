"""Tenants and API keys: keys are random 256-bit tokens, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from orderloom.adapters.persistence.tables import api_keys, chain_heads, tenants
from orderloom.domain.audit import GENESIS
from orderloom.domain.errors import FieldError, ValidationFailed
from orderloom.domain.ids import new_id

__all__ = ["SqlTenantDirectory", "hash_key"]


def hash_key(api_key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(api_key.encode()).hexdigest()


class SqlTenantDirectory:
    """Tenants in SQL."""

    def __init__(self, write: sa.Engine, read: sa.Engine) -> None:
        self._write = write
        self._read = read

    def create(self, name: str) -> tuple[str, str]:
        name = name.strip()
        if not name or len(name) > 100:
            raise ValidationFailed([FieldError("name", "a tenant name is 1-100 characters")])
        tenant_id = new_id("ten")
        try:
            with self._write.begin() as conn:
                conn.execute(tenants.insert().values(id=tenant_id, name=name, created_at=datetime.now(UTC)))
                conn.execute(chain_heads.insert().values(tenant_id=tenant_id, seq=0, hash=GENESIS, first_seq=1))
                key = self._insert_key(conn, tenant_id)
        except IntegrityError:
            raise ValidationFailed([FieldError("name", f"a tenant named {name!r} already exists")]) from None
        return tenant_id, key

    def _insert_key(self, conn: sa.Connection, tenant_id: str) -> str:
        key = "ol_" + secrets.token_urlsafe(32)
        conn.execute(
            api_keys.insert().values(
                key_hash=hash_key(key), tenant_id=tenant_id, prefix=key[:10], created_at=datetime.now(UTC)
            )
        )
        return key

    def issue_key(self, tenant_id: str) -> str:
        with self._write.begin() as conn:
            return self._insert_key(conn, tenant_id)

    def tenant_for_key(self, api_key: str) -> str | None:
        with self._read.connect() as conn:
            return conn.execute(
                sa.select(api_keys.c.tenant_id).where(
                    api_keys.c.key_hash == hash_key(api_key), api_keys.c.revoked_at.is_(None)
                )
            ).scalar_one_or_none()

    def find(self, name: str) -> str | None:
        with self._read.connect() as conn:
            return conn.execute(sa.select(tenants.c.id).where(tenants.c.name == name)).scalar_one_or_none()

    def only_tenant(self) -> str | None:
        """The id of the single tenant, if there is exactly one."""
        with self._read.connect() as conn:
            ids = conn.execute(sa.select(tenants.c.id).limit(2)).scalars().all()
        return ids[0] if len(ids) == 1 else None
