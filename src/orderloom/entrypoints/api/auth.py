"""Bearer API-key authentication: every request is scoped to the key's tenant."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Annotated

from fastapi import Depends, Request

from orderloom.bootstrap import Container
from orderloom.entrypoints.api.problems import Problem

__all__ = ["KeyCache", "Tenant", "authenticate", "container_of", "enforce_rate_limit"]

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
    await enforce_rate_limit(request, f"tenant:{tenant_id}")
    return tenant_id


async def enforce_rate_limit(request: Request, key: str) -> None:
    """Take a token from the key's bucket (tenant, or tenant + channel), or answer 429 with ``Retry-After``."""
    container = container_of(request)
    limiter = container.rate_limiter
    if limiter is None:
        return
    settings = container.settings
    rate = settings.rate_limit_per_second
    burst = settings.rate_limit_burst or max(1.0, 2 * rate)
    if settings.rate_limit_shared:
        wait = await asyncio.to_thread(limiter.acquire, key, rate=rate, burst=burst)
    else:
        wait = limiter.acquire(key, rate=rate, burst=burst)
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        raise Problem(
            429,
            "rate-limited",
            f"too many requests for this {key.split(':', 1)[0]}: {rate:g}/s, burst {burst:g}; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        )


Tenant = Annotated[str, Depends(authenticate)]
