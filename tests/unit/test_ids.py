"""Identifiers: a readable prefix, 26 Crockford base32 characters, time-ordered, unique."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderloom.domain.ids import encode_ulid, new_id

CROCKFORD = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


@pytest.mark.parametrize("prefix", ["ord", "evt", "shp", "loc"])
def test_id_has_the_prefix_and_26_crockford_characters(prefix: str) -> None:
    value = new_id(prefix)
    head, sep, body = value.partition("_")
    assert (head, sep) == (prefix, "_")
    assert len(body) == 26
    assert CROCKFORD.match(body), body
    assert not set(body) & set("ILOU")


def test_the_first_ten_characters_are_the_millisecond_time() -> None:
    before = time.time_ns() // 1_000_000
    body = new_id("ord")[4:]
    after = time.time_ns() // 1_000_000
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    millis = 0
    for char in body[:10]:
        millis = millis * 32 + alphabet.index(char)
    assert before <= millis <= after


def test_ids_created_later_sort_after_earlier_ones() -> None:
    ids = []
    for _ in range(20):
        ids.append(new_id("ord"))
        time.sleep(0.002)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ten_thousand_ids_are_unique() -> None:
    ids = [new_id("ord") for _ in range(10_000)]
    assert len(set(ids)) == 10_000
    assert all(len(i) == 30 for i in ids)


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_ulid_encoding_is_crockford_base32_of_the_128_bits(value: int) -> None:
    digits = []
    rest = value
    for _ in range(26):
        rest, digit = divmod(rest, 32)
        digits.append("0123456789ABCDEFGHJKMNPQRSTVWXYZ"[digit])
    assert encode_ulid(value) == "".join(reversed(digits))
