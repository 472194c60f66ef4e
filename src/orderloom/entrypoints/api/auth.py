"""Bearer API-key authentication: every request is scoped to the key's tenant."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import Depends, Request

from orderloom.bootstrap import Container
from orderloom.entrypoints.api.problems import Problem

__all__ = ["KeyCache", "Tenant", "authenticate", "container_of"]

_TTL = 30.0


class KeyCache:
    """Recently verified keys, so that the hot path does not query the store per request."""

    def __init__(self, max_size: int = 10_000) -> None:
        self._entries: dict[str, tuple[str, float]] = {}
        self._max = max_size

    def get(self, key: str) -> str | None:
        """The tenant of a cached key, if fresh."""
        hit = self._entries.get(key)
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def put(self, key: str, tenant_id: str) -> None:
        """Remember a verified key for a short while."""
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (tenant_id, time.monotonic() + _TTL)


def container_of(request: Request) -> Container:
    """The composition root's container for this app."""
    container: Container = request.app.state.container
    return container


async def authenticate(request: Request) -> str:
    """The tenant id of the request's ``Authorization: Bearer`` key, or a 401 problem."""
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Problem(401, "unauthorized", "send an API key as 'Authorization: Bearer <key>'")
    cache: KeyCache = request.app.state.key_cache
    tenant_id = cache.get(key)
    if tenant_id is None:
        tenant_id = await asyncio.to_thread(container_of(request).tenants.tenant_for_key, key)
        if tenant_id is None:
            raise Problem(401, "unauthorized", "unknown or revoked API key")
        cache.put(key, tenant_id)
    request.state.tenant_id = tenant_id
    return tenant_id


Tenant = Annotated[str, Depends(authenticate)]
