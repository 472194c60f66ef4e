"""Token buckets: ``rate`` tokens a second up to ``burst``; a request takes one token or waits for it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Bucket", "take"]


@dataclass(frozen=True, slots=True)
class Bucket:
    """Tokens left at a moment (seconds on any monotonic or epoch clock)."""

    tokens: float
    updated: float


def take(bucket: Bucket | None, *, rate: float, burst: float, now: float, cost: float = 1.0) -> tuple[Bucket, float]:
    """Take ``cost`` tokens: the new bucket and 0.0, or the unchanged bucket and the seconds until it would succeed."""
    if rate <= 0 or burst < cost:
        raise ValueError("a bucket needs rate > 0 and burst >= cost")
    tokens = burst if bucket is None else min(burst, bucket.tokens + max(0.0, now - bucket.updated) * rate)
    if tokens >= cost:
        return Bucket(tokens - cost, now), 0.0
    return Bucket(tokens, now), (cost - tokens) / rate
