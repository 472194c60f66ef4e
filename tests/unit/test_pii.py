"""Personal data never reaches the logs."""

from __future__ import annotations

from orderloom.adapters.observability.pii import mask_pii, mask_text


def test_emails_and_phones_are_masked_in_free_text() -> None:
    text = "mail jane.doe@example.com or call +86 138-0013-8000 / (415) 555-2671 about order ord_01M8 in 2026"
    masked = mask_text(text)
    assert "jane.doe" not in masked and "j***@example.com" in masked
    assert "138-0013-8000" not in masked and "***00" in masked
    assert "555-2671" not in masked and "***71" in masked
    assert "ord_01M8" in masked and "2026" in masked  # ids and years are not phone numbers


def test_sensitive_keys_are_redacted_at_any_depth() -> None:
    event = {
        "event": "order_rejected",
        "order_id": "ord_1",
        "payload": {"shipping_address": {"line1": "1 Main St"}, "customer": {"email": "a@b.co"}, "qty": 2},
        "reason": "bad phone 13800138000",
    }
    out = mask_pii(None, "info", dict(event))
    assert out["order_id"] == "ord_1"
    assert out["payload"]["shipping_address"] == "[redacted]"
    assert out["payload"]["customer"] == "[redacted]"
    assert out["payload"]["qty"] == 2
    assert out["reason"] == "bad phone ***00"
