"""Identifiers: time-ordered, URL-safe ids (ULID layout) with a readable prefix."""

from __future__ import annotations

import base64
import os
import time

__all__ = ["encode_ulid", "new_id"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# RFC 4648 base32 digits → Crockford's, so the C base32 encoder does the bit work
_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)


def encode_ulid(value: int) -> str:
    """A 128-bit value as 26 Crockford base32 digits (the top two bits of the first digit are zero)."""
    # 20 bytes = 160 bits = 32 digits; the value sits in the low 130 bits, i.e. the last 26 digits
    return base64.b32encode(value.to_bytes(20, "big")).decode("ascii")[6:].translate(_TO_CROCKFORD)


def new_id(prefix: str) -> str:
    """A new id such as ``ord_01JD3...``: 48-bit millisecond time then 80 random bits, Crockford base32."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{encode_ulid(value)}"
