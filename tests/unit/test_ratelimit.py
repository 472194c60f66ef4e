"""Token-bucket arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderloom.domain.ratelimit import Bucket, take


def test_burst_then_refill_at_rate() -> None:
    bucket = None
    for _ in range(5):
        bucket, wait = take(bucket, rate=2.0, burst=5, now=100.0)
        assert wait == 0.0
    bucket, wait = take(bucket, rate=2.0, burst=5, now=100.0)
    assert wait == pytest.approx(0.5)
    bucket, wait = take(bucket, rate=2.0, burst=5, now=100.5)
    assert wait == 0.0
    assert bucket.tokens == pytest.approx(0.0)


def test_refill_is_capped_at_burst() -> None:
    bucket, _ = take(Bucket(tokens=0.0, updated=0.0), rate=10.0, burst=3, now=1000.0)
    assert bucket.tokens == pytest.approx(2.0)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="rate > 0"):
        take(None, rate=0, burst=1, now=0)


@given(
    times=st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=200),
    rate=st.floats(min_value=0.5, max_value=100),
    burst=st.integers(min_value=1, max_value=50),
)
def test_never_grants_more_than_burst_plus_rate_times_elapsed(times: list[float], rate: float, burst: int) -> None:
    bucket, now, granted = None, 0.0, 0
    for step in times:
        now += step
        bucket, wait = take(bucket, rate=rate, burst=burst, now=now)
        granted += wait == 0.0
        assert bucket.tokens >= -1e-9
    assert granted <= burst + rate * now + 1e-6
