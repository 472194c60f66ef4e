"""The audit hash chain: an intact chain verifies; edited, deleted or reordered rows are detected."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderloom.domain.audit import GENESIS, AuditEntry, ChainBreak, canonical_json, chain_hash, verify_chain

Row = tuple[AuditEntry, str, str]
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
EDITED = "content does not match its hash: the row was edited"
PREV_MISMATCH = "prev_hash does not match the previous entry"


def payloads(n: int) -> list[tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    out: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = [
        (None, {"status": "pending.awaiting_payment", "total": "70.03", "name": "Zoë"})
    ]
    for i in range(1, n):
        out.append(({"status": f"s{i - 1}", "version": i}, {"status": f"s{i}", "version": i + 1, "tags": ["a", "b"]}))
    return out


def build_chain(n: int = 5, tenant: str = "t1") -> tuple[list[Row], tuple[int, str]]:
    """n rows chained with chain_hash (seq 1..n, GENESIS first) and the head (last seq, last hash)."""
    rows: list[Row] = []
    prev = GENESIS
    for seq, (before, after) in enumerate(payloads(n), start=1):
        entry = AuditEntry(
            tenant_id=tenant,
            actor="user:ada",
            action="order.placed" if seq == 1 else "order.apply",
            entity_type="order",
            entity_id="ord_01",
            at=T0 + timedelta(seconds=seq),
            before=before,
            after=after,
        )
        before_json, after_json = canonical_json(before), canonical_json(after)
        digest = chain_hash(entry, seq=seq, prev_hash=prev, before_json=before_json, after_json=after_json)
        rows.append((dataclasses.replace(entry, seq=seq, prev_hash=prev, hash=digest), before_json, after_json))
        prev = digest
    return rows, (n, prev)


def rehash(row: Row, prev_hash: str | None = None) -> Row:
    """The row with its hash recomputed (what a forger who can write the table would do)."""
    entry, before_json, after_json = row
    prev = entry.prev_hash if prev_hash is None else prev_hash
    digest = chain_hash(entry, seq=entry.seq, prev_hash=prev, before_json=before_json, after_json=after_json)
    return dataclasses.replace(entry, prev_hash=prev, hash=digest), before_json, after_json


# ---- canonical JSON and the hash ----------------------------------------------------------------------------


def test_canonical_json_is_sorted_compact_and_keeps_unicode() -> None:
    assert canonical_json(None) == "null"
    assert canonical_json({}) == "{}"
    assert canonical_json({"b": 1, "a": [1, 2], "é": "Zoë"}) == '{"a":[1,2],"b":1,"é":"Zoë"}'
    assert canonical_json({"b": 1, "a": 2}) == canonical_json({"a": 2, "b": 1})
    assert canonical_json({"total": Decimal("70.03"), "at": T0}) == '{"at":"2026-11-25 09:00:00+00:00","total":"70.03"}'


def test_chain_hash_is_a_deterministic_sha256_hex() -> None:
    rows, _ = build_chain(1)
    entry, before_json, after_json = rows[0]
    digest = chain_hash(entry, seq=1, prev_hash=GENESIS, before_json=before_json, after_json=after_json)
    assert digest == entry.hash
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert GENESIS == "0" * 64


@pytest.mark.parametrize(
    "change",
    [
        {"tenant_id": "t2"},
        {"actor": "user:bob"},
        {"action": "order.cancel"},
        {"entity_type": "shipment"},
        {"entity_id": "ord_02"},
        {"at": T0 + timedelta(seconds=1, microseconds=1)},
    ],
    ids=lambda c: next(iter(c)),
)
def test_every_recorded_field_is_in_the_hash(change: dict[str, Any]) -> None:
    rows, _ = build_chain(1)
    entry, before_json, after_json = rows[0]
    changed = dataclasses.replace(entry, **change)
    kwargs = {"seq": 1, "prev_hash": GENESIS, "before_json": before_json, "after_json": after_json}
    assert chain_hash(changed, **kwargs) != chain_hash(entry, **kwargs)


def test_seq_prev_hash_and_payloads_are_in_the_hash() -> None:
    rows, _ = build_chain(1)
    entry, b, a = rows[0]
    base = chain_hash(entry, seq=1, prev_hash=GENESIS, before_json=b, after_json=a)
    assert chain_hash(entry, seq=2, prev_hash=GENESIS, before_json=b, after_json=a) != base
    assert chain_hash(entry, seq=1, prev_hash="1" * 64, before_json=b, after_json=a) != base
    assert chain_hash(entry, seq=1, prev_hash=GENESIS, before_json="{}", after_json=a) != base
    assert chain_hash(entry, seq=1, prev_hash=GENESIS, before_json=b, after_json="{}") != base
    # before and after are not interchangeable
    assert chain_hash(entry, seq=1, prev_hash=GENESIS, before_json=a, after_json=b) != base


# ---- verification -------------------------------------------------------------------------------------------


def test_an_intact_chain_verifies() -> None:
    rows, head = build_chain(5)
    assert [r[0].seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0][0].prev_hash == GENESIS
    assert all(rows[i][0].prev_hash == rows[i - 1][0].hash for i in range(1, 5))
    assert head == (5, rows[-1][0].hash)
    assert verify_chain("t1", rows, head=head) == []
    assert verify_chain("t1", rows, head=None) == []


def test_an_empty_chain_verifies_against_an_empty_head() -> None:
    assert verify_chain("t1", [], head=None) == []
    assert verify_chain("t1", [], head=(0, GENESIS)) == []


def test_an_empty_chain_with_a_head_means_everything_was_deleted() -> None:
    _, head = build_chain(3)
    assert verify_chain("t1", [], head=head) == [ChainBreak("t1", 0, "chain ends at seq 0 but the head records seq 3")]


@pytest.mark.parametrize("index", range(5))
def test_editing_the_after_json_of_any_row_is_detected(index: int) -> None:
    rows, head = build_chain(5)
    entry, before_json, after_json = rows[index]
    rows[index] = (entry, before_json, after_json.replace("}", ',"refund":"999.00"}', 1))
    assert rows[index][2] != after_json
    assert verify_chain("t1", rows, head=head) == [ChainBreak("t1", index + 1, EDITED)]


@pytest.mark.parametrize("index", range(5))
def test_editing_the_before_json_of_any_row_is_detected(index: int) -> None:
    rows, head = build_chain(5)
    entry, _, after_json = rows[index]
    rows[index] = (entry, '{"status":"forged"}', after_json)
    assert verify_chain("t1", rows, head=head) == [ChainBreak("t1", index + 1, EDITED)]


def test_editing_a_recorded_field_is_detected() -> None:
    rows, head = build_chain(5)
    entry, b, a = rows[2]
    rows[2] = (dataclasses.replace(entry, actor="user:mallory"), b, a)
    assert verify_chain("t1", rows, head=head) == [ChainBreak("t1", 3, EDITED)]


def test_deleting_a_middle_row_is_detected() -> None:
    rows, head = build_chain(5)
    del rows[2]
    assert verify_chain("t1", rows, head=head) == [
        ChainBreak("t1", 4, "expected seq 3: rows are missing"),
        ChainBreak("t1", 4, PREV_MISMATCH),
    ]


def test_deleting_the_first_row_is_detected() -> None:
    rows, head = build_chain(5)
    del rows[0]
    assert verify_chain("t1", rows, head=head) == [
        ChainBreak("t1", 2, "expected seq 1: rows are missing"),
        ChainBreak("t1", 2, PREV_MISMATCH),
    ]


def test_deleting_the_last_row_is_detected_thanks_to_the_head() -> None:
    rows, head = build_chain(5)
    del rows[-1]
    assert verify_chain("t1", rows, head=head) == [
        ChainBreak("t1", 4, "chain ends at seq 4 but the head records seq 5")
    ]
    # without the head, a truncated chain is indistinguishable from a shorter one
    assert verify_chain("t1", rows, head=None) == []


def test_rehashing_an_edited_row_breaks_the_link_to_the_next() -> None:
    rows, head = build_chain(5)
    entry, b, _ = rows[1]
    rows[1] = rehash((entry, b, '{"status":"forged"}'))
    assert verify_chain("t1", rows, head=head) == [ChainBreak("t1", 3, PREV_MISMATCH)]


def test_rehashing_the_edited_last_row_is_caught_by_the_head() -> None:
    rows, head = build_chain(5)
    entry, b, _ = rows[-1]
    rows[-1] = rehash((entry, b, '{"status":"forged"}'))
    assert verify_chain("t1", rows, head=head) == [
        ChainBreak("t1", 5, "the last entry's hash does not match the recorded head")
    ]


def test_rewriting_the_whole_tail_is_caught_by_the_head() -> None:
    rows, head = build_chain(5)
    entry, b, _ = rows[3]
    rows[3] = rehash((entry, b, '{"status":"forged"}'))
    rows[4] = rehash(rows[4], prev_hash=rows[3][0].hash)
    assert verify_chain("t1", rows, head=head) == [
        ChainBreak("t1", 5, "the last entry's hash does not match the recorded head")
    ]


def test_swapping_two_rows_is_detected() -> None:
    rows, head = build_chain(5)
    rows[1], rows[2] = rows[2], rows[1]
    breaks = verify_chain("t1", rows, head=head)
    assert {b.problem for b in breaks} >= {"expected seq 2: rows are missing", PREV_MISMATCH}
    assert {b.seq for b in breaks} >= {3, 2}


def test_a_pruned_chain_verifies_from_its_first_seq() -> None:
    rows, head = build_chain(5)
    assert verify_chain("t1", rows[2:], head=head, first_seq=3) == []
    assert verify_chain("t1", rows[3:], head=head, first_seq=3) == [
        ChainBreak("t1", 4, "expected seq 3: rows are missing")
    ]


def test_breaks_carry_the_tenant_being_verified() -> None:
    rows, head = build_chain(3, tenant="acme")
    entry, b, _ = rows[0]
    rows[0] = (entry, b, "{}")
    assert verify_chain("acme", rows, head=head) == [ChainBreak("acme", 1, EDITED)]


@settings(max_examples=200)
@given(data=st.data())
def test_any_single_character_change_to_a_stored_json_is_detected(data: st.DataObject) -> None:
    rows, head = build_chain(4)
    index = data.draw(st.integers(min_value=0, max_value=len(rows) - 1), label="row")
    which = data.draw(st.sampled_from([1, 2]), label="1=before 2=after")
    entry, before_json, after_json = rows[index]
    text = [before_json, after_json][which - 1]
    position = data.draw(st.integers(min_value=0, max_value=len(text) - 1), label="position")
    replacement = data.draw(st.characters().filter(lambda c: c != text[position]), label="replacement")
    changed = text[:position] + replacement + text[position + 1 :]
    assert changed != text
    rows[index] = (entry, changed, after_json) if which == 1 else (entry, before_json, changed)
    assert verify_chain("t1", rows, head=head) == [ChainBreak("t1", index + 1, EDITED)]
