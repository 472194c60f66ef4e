"""Webhook signatures, verified on the raw request bytes with constant-time comparison.

- shopify: ``X-Shopify-Hmac-Sha256`` = base64(HMAC-SHA256(secret, body))
- woocommerce: ``X-WC-Webhook-Signature`` = base64(HMAC-SHA256(secret, body))
- square: ``X-Square-HmacSha256-Signature`` = base64(HMAC-SHA256(secret, notification URL + body)); the URL is kept
  as the channel's ``app_key``
- tiktok_shop: ``Authorization`` = hex(HMAC-SHA256(app secret, app key + body))
- douyin: ``event-sign`` = hex(MD5(app key + body + app secret)), or with ``sign-method: hmac-sha256``
  hex(HMAC-SHA256(app secret, app key + body + app secret))
- taobao, jd, kuaishou (app-secret request signing of the open platforms): ``sign`` (query or header) =
  upper-hex(MD5(secret + k1v1k2v2… (parameters sorted by name; ``sign`` and our ``tenant`` routing parameter left
  out) + body + secret)); with
  ``sign_method=hmac`` HMAC-MD5 and with ``hmac-sha256`` HMAC-SHA256 (key: secret) over the same text without the
  secret around it
- amazon: SP-API notifications are not signed per message; a shared token in ``X-OrderLoom-Token``
- canonical: ``X-OrderLoom-Signature`` = hex(HMAC-SHA256(secret, body))
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["SignedRequest", "dedupe_key", "verify_signature"]


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The parts of a webhook request a signature covers; header names lower-case."""

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str]


def _b64_hmac(secret: str, data: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()


def _eq(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.strip().encode(), expected.encode())


def _open_platform(secret: str, req: SignedRequest) -> bool:
    given = req.query.get("sign") or req.headers.get("sign") or req.headers.get("x-sign")
    method = (req.query.get("sign_method") or req.query.get("signMethod") or "md5").lower()
    params = "".join(f"{k}{v}" for k, v in sorted(req.query.items()) if k not in ("sign", "tenant"))
    text = params.encode() + req.body
    if method == "md5":
        expected = hashlib.md5(secret.encode() + text + secret.encode()).hexdigest()  # noqa: S324 (the platform's)
    elif method == "hmac":
        expected = hmac.new(secret.encode(), text, hashlib.md5).hexdigest()
    elif method in ("hmac-sha256", "hmac_sha256"):
        expected = hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()
    else:
        return False
    return given is not None and hmac.compare_digest(given.strip().upper().encode(), expected.upper().encode())


def _douyin(secret: str, app_key: str, req: SignedRequest) -> bool:
    text = app_key.encode() + req.body + secret.encode()
    if req.headers.get("sign-method", "md5").lower() == "hmac-sha256":
        expected = hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()
    else:
        expected = hashlib.md5(text).hexdigest()  # noqa: S324 (the platform's scheme)
    return _eq(req.headers.get("event-sign"), expected)


def verify_signature(channel: str, *, secret: str, app_key: str | None, req: SignedRequest) -> bool:
    """True when the request carries a valid signature for the channel's secret."""
    h = req.headers
    if channel in ("shopify", "woocommerce"):
        header = "x-shopify-hmac-sha256" if channel == "shopify" else "x-wc-webhook-signature"
        return _eq(h.get(header), _b64_hmac(secret, req.body))
    if channel == "square":
        return _eq(h.get("x-square-hmacsha256-signature"), _b64_hmac(secret, (app_key or "").encode() + req.body))
    if channel == "tiktok_shop":
        expected = hmac.new(secret.encode(), (app_key or "").encode() + req.body, hashlib.sha256).hexdigest()
        return _eq(h.get("authorization"), expected)
    if channel == "douyin":
        return _douyin(secret, app_key or "", req)
    if channel in ("taobao", "jd", "kuaishou"):
        return _open_platform(secret, req)
    if channel == "amazon":
        return _eq(h.get("x-orderloom-token"), secret)
    expected = hmac.new(secret.encode(), req.body, hashlib.sha256).hexdigest()
    return _eq(h.get("x-orderloom-signature"), expected)


_DELIVERY_HEADERS = ("x-shopify-webhook-id", "x-wc-webhook-delivery-id", "x-square-event-id", "x-delivery-id")


def dedupe_key(req: SignedRequest) -> str:
    """The channel's delivery id when it sends one, else a digest of the body (redelivery sends the same bytes)."""
    for name in _DELIVERY_HEADERS:
        if value := req.headers.get(name):
            return f"{name}:{value.strip()[:150]}"
    return "sha256:" + hashlib.sha256(req.body).hexdigest()
