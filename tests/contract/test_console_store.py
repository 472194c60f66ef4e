"""The console store on SQLite and PostgreSQL: accounts, the shared secret, look-ups and quarantine resolution."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from orderloom.adapters.persistence.console_store import SqlConsoleStore
from orderloom.application.orders import apply_action, place_order
from orderloom.application.passwords import hash_password, verify_password
from orderloom.bootstrap import Container, utc_now
from orderloom.domain.errors import ValidationFailed
from orderloom.entrypoints.api.schemas import decode_new_order
from tests.conftest import example_order


def _tenant(container: Container) -> tuple[str, str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    return container.tenants.create(name)[0], name


def test_accounts_are_unique_per_tenant_and_roles_are_checked(container: Container) -> None:
    store = container.console
    (t1, name1), (t2, _) = _tenant(container), _tenant(container)
    uid = store.create_user(tenant_id=t1, username="olga", role="operator", password_hash=hash_password("pw-123456"))
    store.create_user(tenant_id=t2, username="olga", role="viewer", password_hash=hash_password("pw-654321"))
    with pytest.raises(ValidationFailed, match="already exists"):
        store.create_user(tenant_id=t1, username="olga", role="admin", password_hash="x")
    with pytest.raises(ValidationFailed, match="role must be one of"):
        store.create_user(tenant_id=t1, username="root", role="superuser", password_hash="x")
    found = store.credentials(tenant_name=name1, username="olga")
    assert found is not None and found[0].id == uid and found[0].role == "operator"
    assert verify_password("pw-123456", found[1])
    assert store.credentials(tenant_name=name1, username="nobody") is None
    user = store.get_user(uid)
    assert user is not None and (user.tenant_id, user.tenant_name, user.username) == (t1, name1, "olga")
    assert store.get_user("usr_missing") is None
    assert store.set_password(tenant_id=t1, username="olga", password_hash=hash_password("new-pass-1"))
    assert not store.set_password(tenant_id=t1, username="ghost", password_hash="x")
    found = store.credentials(tenant_name=name1, username="olga")
    assert found is not None and verify_password("new-pass-1", found[1])
    assert [u.username for u in store.list_users(t2)] == ["olga"]


def test_the_secret_is_created_once_and_shared(container: Container) -> None:
    first = container.console.secret("console-test")
    again = SqlConsoleStore(container.engines.write, container.engines.read).secret("console-test")
    assert first == again and len(first) == 64
    assert container.console.secret("other-test") != first


def test_lookups_hold_counts_and_quarantine(container: Container) -> None:
    tenant_id, _ = _tenant(container)
    body = example_order(customer={"email": "Mixed@Example.com", "name": "M"})
    new = decode_new_order(msgspec.json.encode(body))
    lc = container.lifecycle

    def work(uow: object) -> str:
        doc = place_order(uow=uow, tenant_id=tenant_id, new=new, lifecycle=lc, actor="t", now=utc_now())  # type: ignore[arg-type]
        apply_action(
            uow=uow,  # type: ignore[arg-type]
            tenant_id=tenant_id,
            order_id=doc["id"],
            action="hold",
            params={},
            lifecycle=lc,
            actor="t",
            now=utc_now(),
        )
        return str(doc["id"])

    order_id = container.tx.run(work)
    store = container.console
    assert store.find_order_ids(tenant_id, order_id) == [order_id]
    assert store.find_order_ids(tenant_id, body["channel_order_id"]) == [order_id]
    assert store.find_order_ids(tenant_id, "Mixed@Example.com") == [order_id]
    assert store.find_order_ids(tenant_id, "  ") == []
    assert store.find_order_ids("ten_other", order_id) == []
    assert [d["id"] for d in store.documents(tenant_id, [order_id])] == [order_id]
    assert store.hold_counts(tenant_id) == {"manual_review": 1}
    assert store.order_status_counts(tenant_id) == {"on_hold": 1}
    found = store.tracking_document(order_id)
    assert found is not None and found[0] == tenant_id
    qid = container.tx.run(lambda uow: uow.quarantine.put(tenant_id=tenant_id, source="s", reason="r", payload=b"{}"))
    assert store.quarantined_count(tenant_id) == 1
    store.note_retry_failure(tenant_id, qid, "still bad")
    item = store.quarantined_payload(tenant_id, qid)
    assert item is not None and item.reason == "still bad" and item.preview == "{}"
    assert store.quarantined_payload("ten_other", qid) is None
    store.resolve_quarantined(tenant_id, qid)
    assert store.quarantined(tenant_id) == [] and store.quarantined_payload(tenant_id, qid) is None
