"""Sends webhook deliveries over HTTP with httpx (short timeouts; retries are the dispatcher's job)."""

from __future__ import annotations

import httpx

__all__ = ["HttpxWebhookSender"]


class HttpxWebhookSender:
    """One pooled client; no redirects followed (a receiver that moves must update its subscription)."""

    def __init__(self, *, timeout: float = 5.0, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)

    def send(self, url: str, *, body: bytes, headers: dict[str, str]) -> int:
        return self._client.post(url, content=body, headers=headers).status_code

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()
