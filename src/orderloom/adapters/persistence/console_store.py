"""The console's reads and small writes: accounts, the server secret, order look-ups, the exception inbox's
lists, quarantine resolution, KPI facts and tracking look-ups."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from orderloom.adapters.persistence.tables import audit_log, orders, quarantine, tenants
from orderloom.adapters.persistence.tables_console import console_secrets, console_users
from orderloom.application.console import ROLES, ConsoleUser
from orderloom.application.kpis import OrderFacts
from orderloom.domain.errors import FieldError, ValidationFailed
from orderloom.domain.ids import new_id

__all__ = ["QuarantinedPayload", "SqlConsoleStore"]

_PREVIEW = 160
_CHUNK = 500  # order ids per IN (…) when reading milestones


@dataclass(frozen=True, slots=True)
class QuarantinedPayload:
    """A payload we could not accept, as the exception inbox shows it."""

    id: str
    source: str
    reason: str
    received_at: datetime
    payload: bytes

    @property
    def preview(self) -> str:
        """The start of the payload as text."""
        text = self.payload[: _PREVIEW * 4].decode("utf-8", errors="replace")
        return text if len(text) <= _PREVIEW else text[:_PREVIEW] + "…"


class SqlConsoleStore:
    """Console data in SQL: small writes on the write engine, everything else on the read engine."""

    def __init__(self, write: sa.Engine, read: sa.Engine) -> None:
        self._write = write
        self._read = read

    # ---- accounts -----------------------------------------------------------------------------------------
    def create_user(self, *, tenant_id: str, username: str, role: str, password_hash: str) -> str:
        username = username.strip()
        problems = []
        if not 1 <= len(username) <= 80:
            problems.append(FieldError("username", "a username is 1-80 characters"))
        if role not in ROLES:
            problems.append(FieldError("role", f"role must be one of {', '.join(ROLES)}"))
        if problems:
            raise ValidationFailed(problems)
        user_id = new_id("usr")
        try:
            with self._write.begin() as conn:
                conn.execute(
                    console_users.insert().values(
                        id=user_id,
                        tenant_id=tenant_id,
                        username=username,
                        role=role,
                        password_hash=password_hash,
                        created_at=datetime.now(UTC),
                    )
                )
        except IntegrityError:
            raise ValidationFailed([FieldError("username", f"{username!r} already exists in this tenant")]) from None
        return user_id

    def set_password(self, *, tenant_id: str, username: str, password_hash: str) -> bool:
        with self._write.begin() as conn:
            result = conn.execute(
                console_users.update()
                .where(console_users.c.tenant_id == tenant_id, console_users.c.username == username)
                .values(password_hash=password_hash)
            )
        return bool(result.rowcount)

    def disable_user(self, *, tenant_id: str, username: str) -> bool:
        """Stop an account from signing in (its sessions end on their next request); False if none is active."""
        with self._write.begin() as conn:
            result = conn.execute(
                console_users.update()
                .where(
                    console_users.c.tenant_id == tenant_id,
                    console_users.c.username == username,
                    console_users.c.disabled_at.is_(None),
                )
                .values(disabled_at=datetime.now(UTC))
            )
        return bool(result.rowcount)

    def _users(self) -> sa.Select[Any]:
        return (
            sa.select(console_users, tenants.c.name.label("tenant_name"))
            .join(tenants, tenants.c.id == console_users.c.tenant_id)
            .where(console_users.c.disabled_at.is_(None))
        )

    @staticmethod
    def _user(row: Any) -> ConsoleUser:
        return ConsoleUser(row.id, row.tenant_id, row.tenant_name, row.username, row.role)

    def credentials(self, *, tenant_name: str, username: str) -> tuple[ConsoleUser, str] | None:
        with self._read.connect() as conn:
            row = conn.execute(
                self._users().where(tenants.c.name == tenant_name, console_users.c.username == username)
            ).one_or_none()
        return None if row is None else (self._user(row), row.password_hash)

    def get_user(self, user_id: str) -> ConsoleUser | None:
        with self._read.connect() as conn:
            row = conn.execute(self._users().where(console_users.c.id == user_id)).one_or_none()
        return None if row is None else self._user(row)

    def list_users(self, tenant_id: str) -> list[ConsoleUser]:
        """Active accounts of a tenant by username."""
        with self._read.connect() as conn:
            rows = conn.execute(
                self._users().where(console_users.c.tenant_id == tenant_id).order_by(console_users.c.username)
            ).all()
        return [self._user(r) for r in rows]

    # ---- the server secret --------------------------------------------------------------------------------
    def secret(self, name: str) -> str:
        """A random secret kept in the store under ``name``, created on first use (the same for every process)."""
        with self._read.connect() as conn:
            value = conn.execute(
                sa.select(console_secrets.c.value).where(console_secrets.c.name == name)
            ).scalar_one_or_none()
        if value is not None:
            return str(value)
        try:
            with self._write.begin() as conn:
                conn.execute(
                    console_secrets.insert().values(
                        name=name, value=secrets.token_hex(32), created_at=datetime.now(UTC)
                    )
                )
        except IntegrityError:
            pass  # another process created it first
        with self._write.connect() as conn:
            return str(
                conn.execute(sa.select(console_secrets.c.value).where(console_secrets.c.name == name)).scalar_one()
            )

    # ---- orders -------------------------------------------------------------------------------------------
    def find_order_ids(self, tenant_id: str, text: str, *, limit: int = 50) -> list[str]:
        """Orders whose id, channel order id or customer email is exactly ``text`` (each lookup is indexed)."""
        text = text.strip()
        if not text:
            return []
        if "@" in text:
            conditions = [orders.c.customer_email == value for value in dict.fromkeys((text, text.lower()))]
        else:
            conditions = [orders.c.id == text, orders.c.channel_order_id == text]
        found: set[str] = set()
        with self._read.connect() as conn:
            for cond in conditions:  # one indexed look-up each (an OR of them can make the planner scan)
                found.update(
                    conn.execute(sa.select(orders.c.id).where(orders.c.tenant_id == tenant_id, cond).limit(limit))
                    .scalars()
                    .all()
                )
        return sorted(found, reverse=True)[:limit]

    def documents(self, tenant_id: str, order_ids: Collection[str]) -> list[dict[str, Any]]:
        """Canonical documents of the given orders, newest first."""
        if not order_ids:
            return []
        with self._read.connect() as conn:
            docs = conn.execute(
                sa.select(orders.c.doc)
                .where(orders.c.tenant_id == tenant_id, orders.c.id.in_(list(order_ids)))
                .order_by(orders.c.id.desc())
            ).scalars()
            return [msgspec.json.decode(d) for d in docs]

    def hold_counts(self, tenant_id: str) -> dict[str, int]:
        """Orders on hold per sub-status."""
        with self._read.connect() as conn:
            rows = conn.execute(
                sa.select(orders.c.status_sub, sa.func.count())
                .where(orders.c.tenant_id == tenant_id, orders.c.status_main == "on_hold")
                .group_by(orders.c.status_sub)
            ).all()
        return {str(sub): int(n) for sub, n in rows}

    def order_status_counts(self, tenant_id: str) -> dict[str, int]:
        """Orders per main status."""
        with self._read.connect() as conn:
            rows = conn.execute(
                sa.select(orders.c.status_main, sa.func.count())
                .where(orders.c.tenant_id == tenant_id)
                .group_by(orders.c.status_main)
            ).all()
        return {str(main): int(n) for main, n in rows}

    def tracking_document(self, order_id: str) -> tuple[str, dict[str, Any]] | None:
        """(tenant id, document) of an order by its id alone, for the public tracking page."""
        with self._read.connect() as conn:
            row = conn.execute(sa.select(orders.c.tenant_id, orders.c.doc).where(orders.c.id == order_id)).first()
        return None if row is None else (row.tenant_id, msgspec.json.decode(row.doc))

    # ---- quarantine ---------------------------------------------------------------------------------------
    def quarantined(self, tenant_id: str, *, limit: int = 100) -> list[QuarantinedPayload]:
        """Unresolved payloads of a tenant, newest first."""
        with self._read.connect() as conn:
            rows = conn.execute(
                sa.select(quarantine)
                .where(quarantine.c.tenant_id == tenant_id, quarantine.c.resolved_at.is_(None))
                .order_by(quarantine.c.received_at.desc(), quarantine.c.id.desc())
                .limit(limit)
            ).all()
        return [QuarantinedPayload(r.id, r.source, r.reason, r.received_at, bytes(r.payload)) for r in rows]

    def quarantined_count(self, tenant_id: str) -> int:
        """How many payloads of a tenant are unresolved."""
        with self._read.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).where(
                        quarantine.c.tenant_id == tenant_id, quarantine.c.resolved_at.is_(None)
                    )
                ).scalar_one()
            )

    def quarantined_payload(self, tenant_id: str, qid: str) -> QuarantinedPayload | None:
        """One unresolved payload."""
        rows = [q for q in self._by_ids(tenant_id, [qid])]
        return rows[0] if rows else None

    def _by_ids(self, tenant_id: str, ids: list[str]) -> list[QuarantinedPayload]:
        with self._read.connect() as conn:
            rows = conn.execute(
                sa.select(quarantine).where(
                    quarantine.c.tenant_id == tenant_id,
                    quarantine.c.id.in_(ids),
                    quarantine.c.resolved_at.is_(None),
                )
            ).all()
        return [QuarantinedPayload(r.id, r.source, r.reason, r.received_at, bytes(r.payload)) for r in rows]

    def resolve_quarantined(self, tenant_id: str, qid: str) -> None:
        """Mark a payload resolved (accepted on retry)."""
        with self._write.begin() as conn:
            conn.execute(
                quarantine.update()
                .where(quarantine.c.tenant_id == tenant_id, quarantine.c.id == qid)
                .values(resolved_at=datetime.now(UTC))
            )

    def note_retry_failure(self, tenant_id: str, qid: str, reason: str) -> None:
        """Keep the reason of the latest failed retry."""
        with self._write.begin() as conn:
            conn.execute(
                quarantine.update()
                .where(quarantine.c.tenant_id == tenant_id, quarantine.c.id == qid)
                .values(reason=reason[:4000])
            )

    # ---- KPIs ---------------------------------------------------------------------------------------------
    def kpi_facts(
        self, tenant_id: str, start: datetime, end: datetime, milestones: Mapping[str, set[str]]
    ) -> tuple[list[OrderFacts], int]:
        """Orders placed in [start, end) with their first milestone times, and payloads quarantined then."""
        with self._read.connect() as conn:
            placed = conn.execute(
                sa.select(orders.c.id, orders.c.channel, orders.c.placed_at).where(
                    orders.c.tenant_id == tenant_id, orders.c.placed_at >= start, orders.c.placed_at < end
                )
            ).all()
            first = self._first_milestones(conn, tenant_id, [r.id for r in placed], milestones)
            quarantined = conn.execute(
                sa.select(sa.func.count()).where(
                    quarantine.c.tenant_id == tenant_id,
                    quarantine.c.received_at >= start,
                    quarantine.c.received_at < end,
                )
            ).scalar_one()
        facts = [
            OrderFacts(
                order_id=r.id,
                channel=r.channel,
                placed_at=r.placed_at,
                allocated_at=first.get((r.id, "allocated")),
                delivered_at=first.get((r.id, "delivered")),
                held=(r.id, "held") in first,
                validation_failed=(r.id, "validation_failed") in first,
            )
            for r in placed
        ]
        return facts, int(quarantined)

    @staticmethod
    def _first_milestones(
        conn: sa.Connection, tenant_id: str, order_ids: list[str], milestones: Mapping[str, set[str]]
    ) -> dict[tuple[str, str], datetime]:
        """(order id, milestone) → the first time, read per chunk of orders through ix_audit_log_entity."""
        wanted = sorted(set().union(*milestones.values()))
        first: dict[tuple[str, str], datetime] = {}
        for i in range(0, len(order_ids), _CHUNK):
            rows = conn.execute(
                sa.select(audit_log.c.entity_id, audit_log.c.action, sa.func.min(audit_log.c.at))
                .where(
                    audit_log.c.tenant_id == tenant_id,
                    audit_log.c.entity_id.in_(order_ids[i : i + _CHUNK]),
                    audit_log.c.action.in_(wanted),
                )
                .group_by(audit_log.c.entity_id, audit_log.c.action)
            ).all()
            for entity_id, action, at in rows:
                when = datetime.fromisoformat(at)
                for name, actions in milestones.items():
                    key = (entity_id, name)
                    if action in actions and (key not in first or when < first[key]):
                        first[key] = when
        return first
