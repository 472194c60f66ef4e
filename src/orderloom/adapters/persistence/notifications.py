"""The notification ledger on SQL: a primary key on (event id, channel) makes a second send impossible."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from orderloom.adapters.persistence.tables_tracking import notification_ledger
from orderloom.domain.notifications import Message

__all__ = ["SqlNotificationLedger"]


class SqlNotificationLedger:
    """Claims (event, channel) pairs in their own short transactions."""

    def __init__(self, write: sa.Engine, read: sa.Engine) -> None:
        self._write, self._read = write, read

    def claim(self, message: Message, now: datetime) -> bool:
        """Insert the pair; False if it is already there."""
        try:
            with self._write.begin() as conn:
                conn.execute(
                    notification_ledger.insert().values(
                        event_id=message.event_id,
                        channel=message.channel,
                        tenant_id=message.tenant_id,
                        order_id=message.order_id,
                        event_type=message.event_type,
                        recipient=message.recipient.email,
                        language=message.recipient.language,
                        subject=message.subject,
                        claimed_at=now,
                    )
                )
        except sa.exc.IntegrityError:
            return False
        return True

    def release(self, event_id: str, channel: str) -> None:
        """Delete a claim after a failed send."""
        with self._write.begin() as conn:
            conn.execute(
                notification_ledger.delete().where(
                    notification_ledger.c.event_id == event_id, notification_ledger.c.channel == channel
                )
            )

    def sent(self, tenant_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The latest notifications of a tenant."""
        t = notification_ledger
        with self._read.connect() as conn:
            rows = conn.execute(
                sa.select(t).where(t.c.tenant_id == tenant_id).order_by(t.c.claimed_at.desc()).limit(limit)
            )
            return [dict(r._mapping) for r in rows]
