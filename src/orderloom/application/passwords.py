"""Console passwords: scrypt hashes with a per-password salt, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["hash_password", "new_password", "verify_password"]

_N, _R, _P = 2**14, 8, 1
_MIN_LENGTH = 8


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` for a password of at least 8 characters (ValueError otherwise)."""
    if len(password) < _MIN_LENGTH:
        raise ValueError(f"a password needs at least {_MIN_LENGTH} characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches the stored hash; False for any malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def new_password() -> str:
    """A random password for a generated account (about 96 bits)."""
    return secrets.token_urlsafe(12)
