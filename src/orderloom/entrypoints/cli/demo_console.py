"""The demo tenant's console: an ``admin`` login (password from ORDERLOOM_DEMO_ADMIN_PASSWORD or a new random
one, shown once) and a few quarantined payloads so the exception inbox has something to show."""

from __future__ import annotations

import copy
import os

import msgspec

from orderloom.application.passwords import hash_password, new_password
from orderloom.application.ports import UnitOfWork
from orderloom.bootstrap import Container
from orderloom.entrypoints.api.schemas import EXAMPLE_ORDER

__all__ = ["PASSWORD_ENV", "ensure_demo_console"]

PASSWORD_ENV = "ORDERLOOM_DEMO_ADMIN_PASSWORD"


def _quarantine_samples(container: Container, tenant_id: str) -> None:
    if container.console.quarantined_count(tenant_id):
        return
    mismatch = copy.deepcopy(EXAMPLE_ORDER)
    mismatch["channel_order_id"] = "WEB-DEMO-Q1"
    mismatch["totals"] = {**mismatch["totals"], "grand_total": "1.00"}
    samples = [
        (
            b'{"channel": "web", "channel_order_id": "WEB-DEMO-Q0", "lines": [',
            "malformed JSON: input data was truncated",
        ),
        (msgspec.json.encode(mismatch), "totals.grand_total: does not match lines, discounts, shipping and tax"),
    ]

    def put(uow: UnitOfWork) -> None:
        for payload, reason in samples:
            uow.quarantine.put(tenant_id=tenant_id, source="api:/v1/orders", reason=reason, payload=payload)

    container.tx.run(put)


def ensure_demo_console(container: Container, tenant_id: str) -> tuple[str, str]:
    """(username, password) of the demo admin; the password is set afresh on every run."""
    password = os.environ.get(PASSWORD_ENV) or new_password()
    password_hash = hash_password(password)
    username = "admin"
    if not container.console.set_password(tenant_id=tenant_id, username=username, password_hash=password_hash):
        container.console.create_user(tenant_id=tenant_id, username=username, role="admin", password_hash=password_hash)
    _quarantine_samples(container, tenant_id)
    return username, password
