"""The SLA store in SQL: clocks found through their ``due_at``/``warn_at`` indexes, never by a full scan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from orderloom.adapters.persistence.fastinsert import bulk_insert_rows
from orderloom.adapters.persistence.tables import outbox
from orderloom.adapters.persistence.tables_sla import sla_clocks, sla_exceptions
from orderloom.adapters.persistence.uow import SqlOutbox
from orderloom.application.sla_ports import (
    SlaInboxFilter,
    SlaInboxItem,
    SlaInboxPage,
    decode_inbox_cursor,
    encode_inbox_cursor,
)
from orderloom.domain.ids import new_id
from orderloom.domain.sla import SlaClock, SlaFlag, sla_event

__all__ = ["SqlSlaStore"]

_c = sla_clocks.c
_x = sla_exceptions.c


def _clock(row: Any) -> SlaClock:
    return SlaClock(
        tenant_id=row.tenant_id,
        subject_kind=row.subject_kind,
        subject_id=row.subject_id,
        entry_id=row.entry_id,
        state=row.state,
        entered_at=row.entered_at,
        warn_at=row.warn_at,
        due_at=row.due_at,
        owner=row.owner,
        action=row.action,
        channel=row.channel,
        carrier=row.carrier,
    )


def _pk(tenant_id: str, kind: str, subject_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(_c.tenant_id == tenant_id, _c.subject_kind == kind, _c.subject_id == subject_id)


def _clock_values(clock: SlaClock) -> dict[str, Any]:
    """The columns a new status entry sets (the key columns aside)."""
    return {
        "entry_id": clock.entry_id,
        "state": clock.state,
        "entered_at": clock.entered_at,
        "warn_at": clock.warn_at,
        "due_at": clock.due_at,
        "deadline": clock.due_at,
        "warned_at": None,
        "breached_at": None,
        "owner": clock.owner,
        "action": clock.action,
        "channel": clock.channel,
        "carrier": clock.carrier,
    }


def _clock_row(clock: SlaClock, *, prefix: str = "") -> dict[str, Any]:
    """A clock's row; with ``prefix`` the key columns are renamed (bind names of an executemany UPDATE)."""
    keys = {"tenant_id": clock.tenant_id, "subject_kind": clock.subject_kind, "subject_id": clock.subject_id}
    return {**{prefix + k: v for k, v in keys.items()}, **_clock_values(clock)}


_KEY_BINDS = (
    (_c.tenant_id == sa.bindparam("k_tenant_id"))
    & (_c.subject_kind == sa.bindparam("k_subject_kind"))
    & (_c.subject_id == sa.bindparam("k_subject_id"))
)
# one executemany for a batch's changed clocks, and one for resolving their open exceptions
_UPDATE_CLOCK = sla_clocks.update().where(_KEY_BINDS)
_RESOLVE = (
    sla_exceptions.update()
    .where(
        _x.tenant_id == sa.bindparam("k_tenant_id"),
        _x.subject_kind == sa.bindparam("k_kind"),
        _x.subject_id == sa.bindparam("k_subject_id"),
        _x.resolved_at.is_(None),
    )
    .values(resolved_at=sa.bindparam("at"))
)


def _exception_row(flag: SlaFlag) -> dict[str, Any]:
    c = flag.clock
    return {
        "id": flag.id,
        "tenant_id": c.tenant_id,
        "subject_kind": c.subject_kind,
        "subject_id": c.subject_id,
        "entry_id": c.entry_id,
        "level": flag.level,
        "state": c.state,
        "status_main": c.state.split(".", 1)[0],
        "owner": c.owner,
        "action": c.action,
        "channel": c.channel,
        "carrier": c.carrier,
        "since": c.entered_at,
        "due_at": flag.deadline,
        "flagged_at": flag.flagged_at,
        "resolved_at": None,
    }


class SqlSlaStore:
    """Clocks and the exception inbox on SQLite or PostgreSQL."""

    def __init__(self, write: sa.Engine, read: sa.Engine) -> None:
        self._write = write
        self._read = read

    def current(self, tenant_id: str, kind: str, subject_id: str) -> SlaClock | None:
        with self._read.connect() as conn:
            row = conn.execute(sa.select(sla_clocks).where(_pk(tenant_id, kind, subject_id))).first()
        return _clock(row) if row is not None else None

    def enter(self, clock: SlaClock) -> bool:
        with self._write.begin() as conn:
            return self._enter(conn, clock)

    def enter_many(self, clocks: Sequence[SlaClock]) -> int:
        if not clocks:
            return 0
        with self._write.begin() as conn:
            stored = self._stored(conn, clocks)
            accepted: dict[tuple[str, str, str], SlaClock] = {}
            resolve_at: dict[tuple[str, str, str], datetime] = {}
            started = 0
            for c in clocks:  # in order, each against the latest accepted entry of its subject
                key = (c.tenant_id, c.subject_kind, c.subject_id)
                last = accepted.get(key)
                entry_id, entered_at = (last.entry_id, last.entered_at) if last else stored.get(key, (None, None))
                if entry_id is not None and (entry_id == c.entry_id or (entered_at and entered_at > c.entered_at)):
                    continue
                accepted[key] = c
                started += 1
                if key in stored:
                    resolve_at.setdefault(key, c.entered_at)
            bulk_insert_rows(conn, sla_clocks, [_clock_row(c) for k, c in accepted.items() if k not in stored])
            updates = [_clock_row(c, prefix="k_") for k, c in accepted.items() if k in stored]
            if updates:
                conn.execute(_UPDATE_CLOCK, updates)
            if resolve_at:
                resolved = [
                    {"k_tenant_id": k[0], "k_kind": k[1], "k_subject_id": k[2], "at": at}
                    for k, at in resolve_at.items()
                ]
                conn.execute(_RESOLVE, resolved)
        return started

    @staticmethod
    def _stored(conn: sa.Connection, clocks: Sequence[SlaClock]) -> dict[tuple[str, str, str], tuple[str, datetime]]:
        """The stored (entry id, entered at) of the clocks' subjects, locked on PostgreSQL."""
        by_group: dict[tuple[str, str], list[str]] = {}
        for c in clocks:
            by_group.setdefault((c.tenant_id, c.subject_kind), []).append(c.subject_id)
        found: dict[tuple[str, str, str], tuple[str, datetime]] = {}
        for (tenant_id, kind), ids in by_group.items():
            unique = sorted(set(ids))
            for start in range(0, len(unique), 500):
                q = sa.select(_c.subject_id, _c.entry_id, _c.entered_at).where(
                    _c.tenant_id == tenant_id, _c.subject_kind == kind, _c.subject_id.in_(unique[start : start + 500])
                )
                if conn.dialect.name == "postgresql":
                    q = q.order_by(_c.subject_id).with_for_update()
                found.update({(tenant_id, kind, r.subject_id): (r.entry_id, r.entered_at) for r in conn.execute(q)})
        return found

    def channels_of(self, tenant_id: str, kind: str, subject_ids: Sequence[str]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        with self._read.connect() as conn:
            for start in range(0, len(subject_ids), 500):
                rows = conn.execute(
                    sa.select(_c.subject_id, _c.channel).where(
                        _c.tenant_id == tenant_id,
                        _c.subject_kind == kind,
                        _c.subject_id.in_(subject_ids[start : start + 500]),
                    )
                )
                found.update({r.subject_id: r.channel for r in rows})
        return found

    @staticmethod
    def _enter(conn: sa.Connection, clock: SlaClock) -> bool:
        pk = _pk(clock.tenant_id, clock.subject_kind, clock.subject_id)
        q = sa.select(_c.entry_id, _c.entered_at).where(pk)
        if conn.dialect.name == "postgresql":
            q = q.with_for_update()
        stored = conn.execute(q).first()
        if stored is None:
            conn.execute(sla_clocks.insert().values(**_clock_row(clock)))
            return True  # a new subject has no open exceptions to resolve
        if stored.entry_id == clock.entry_id or stored.entered_at > clock.entered_at:
            return False
        conn.execute(sla_clocks.update().where(pk).values(**_clock_values(clock)))
        conn.execute(
            sla_exceptions.update()
            .where(
                _x.tenant_id == clock.tenant_id,
                _x.subject_kind == clock.subject_kind,
                _x.subject_id == clock.subject_id,
                _x.resolved_at.is_(None),
            )
            .values(resolved_at=clock.entered_at)
        )
        return True

    def flag_due(self, now: datetime, *, limit: int) -> list[SlaFlag]:
        with self._write.begin() as conn:
            breaches = self._take(conn, _c.due_at, now, limit, {"due_at": None, "warn_at": None, "breached_at": now})
            warnings: Sequence[Any] = []
            if len(breaches) < limit:
                warnings = self._take(conn, _c.warn_at, now, limit - len(breaches), {"warn_at": None, "warned_at": now})
            flags = [self._flag(r, "breach", now) for r in breaches] + [self._flag(r, "warning", now) for r in warnings]
            bulk_insert_rows(conn, sla_exceptions, [_exception_row(f) for f in flags])
            bulk_insert_rows(conn, outbox, SqlOutbox.rows([sla_event(f) for f in flags]))
        return flags

    @staticmethod
    def _take(
        conn: sa.Connection, column: sa.Column[Any], now: datetime, limit: int, clear: dict[str, Any]
    ) -> Sequence[Any]:
        """Clear the passed time of up to ``limit`` clocks (earliest first) in one UPDATE … RETURNING."""
        due = sa.select(_c.tenant_id, _c.subject_kind, _c.subject_id).where(column <= now).order_by(column).limit(limit)
        if conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        pk = sa.tuple_(_c.tenant_id, _c.subject_kind, _c.subject_id)
        stmt = sla_clocks.update().where(pk.in_(due)).values(clear).returning(*sla_clocks.c)
        return sorted(conn.execute(stmt).all(), key=lambda r: (r.deadline, r.subject_id))

    @staticmethod
    def _flag(row: Any, level: str, now: datetime) -> SlaFlag:
        return SlaFlag(id=new_id("slx"), clock=_clock(row), level=level, flagged_at=now, deadline=row.deadline)

    def inbox(self, tenant_id: str, flt: SlaInboxFilter, *, limit: int, cursor: str | None) -> SlaInboxPage:
        q = sa.select(sla_exceptions).where(_x.tenant_id == tenant_id)
        if flt.owner:
            q = q.where(_x.owner == flt.owner)
        if flt.status:
            q = q.where(_x.state == flt.status if "." in flt.status else _x.status_main == flt.status)
        if flt.kind:
            q = q.where(_x.subject_kind == flt.kind)
        if flt.level:
            q = q.where(_x.level == flt.level)
        if flt.open_only:
            q = q.where(_x.resolved_at.is_(None))
        if cursor:
            q = q.where(_x.id < decode_inbox_cursor(cursor))
        with self._read.connect() as conn:
            rows = conn.execute(q.order_by(_x.id.desc()).limit(limit + 1)).all()
        items = [
            SlaInboxItem(
                flag=SlaFlag(
                    id=r.id,
                    clock=SlaClock(
                        tenant_id=r.tenant_id,
                        subject_kind=r.subject_kind,
                        subject_id=r.subject_id,
                        entry_id=r.entry_id,
                        state=r.state,
                        entered_at=r.since,
                        warn_at=None,
                        due_at=r.due_at,
                        owner=r.owner,
                        action=r.action,
                        channel=r.channel,
                        carrier=r.carrier,
                    ),
                    level=r.level,
                    flagged_at=r.flagged_at,
                    deadline=r.due_at,
                ),
                resolved_at=r.resolved_at,
            )
            for r in rows[:limit]
        ]
        return SlaInboxPage(
            items=items, next_cursor=encode_inbox_cursor(rows[limit - 1].id) if len(rows) > limit else None
        )
