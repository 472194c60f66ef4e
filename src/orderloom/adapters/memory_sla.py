"""The in-memory twin of the SLA store (passes the same contract tests as the SQL store)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from orderloom.application.sla_ports import (
    SlaInboxFilter,
    SlaInboxItem,
    SlaInboxPage,
    decode_inbox_cursor,
    encode_inbox_cursor,
)
from orderloom.domain.events import Event
from orderloom.domain.ids import new_id
from orderloom.domain.sla import SlaClock, SlaFlag, sla_event

__all__ = ["MemorySlaStore"]


@dataclass
class _Entry:
    flag: SlaFlag
    resolved_at: datetime | None = None


class MemorySlaStore:
    """Clocks in a dict; ``events`` plays the outbox."""

    def __init__(self) -> None:
        self.clocks: dict[tuple[str, str, str], SlaClock] = {}
        self.deadlines: dict[tuple[str, str, str], datetime | None] = {}
        self.exceptions: dict[str, _Entry] = {}
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def current(self, tenant_id: str, kind: str, subject_id: str) -> SlaClock | None:
        return self.clocks.get((tenant_id, kind, subject_id))

    def enter(self, clock: SlaClock) -> bool:
        key = (clock.tenant_id, clock.subject_kind, clock.subject_id)
        with self._lock:
            stored = self.clocks.get(key)
            if stored is not None and (stored.entry_id == clock.entry_id or stored.entered_at > clock.entered_at):
                return False
            self.clocks[key] = clock
            self.deadlines[key] = clock.due_at
            for entry in self.exceptions.values():
                c = entry.flag.clock
                if (c.tenant_id, c.subject_kind, c.subject_id) == key and entry.resolved_at is None:
                    entry.resolved_at = clock.entered_at
        return True

    def enter_many(self, clocks: Sequence[SlaClock]) -> int:
        return sum(self.enter(c) for c in clocks)

    def channels_of(self, tenant_id: str, kind: str, subject_ids: Sequence[str]) -> dict[str, str | None]:
        found = ((i, self.clocks.get((tenant_id, kind, i))) for i in subject_ids)
        return {i: c.channel for i, c in found if c is not None}

    def flag_due(self, now: datetime, *, limit: int) -> list[SlaFlag]:
        with self._lock:
            due = sorted((c.due_at, k) for k, c in self.clocks.items() if c.due_at is not None and c.due_at <= now)[
                :limit
            ]
            flags = [self._flag(k, "breach", now) for _, k in due]
            if len(flags) < limit:
                warn = sorted(
                    (c.warn_at, k) for k, c in self.clocks.items() if c.warn_at is not None and c.warn_at <= now
                )[: limit - len(flags)]
                flags += [self._flag(k, "warning", now) for _, k in warn]
            for flag in flags:
                self.exceptions[flag.id] = _Entry(flag)
                self.events.append(sla_event(flag))
        return flags

    def _flag(self, key: tuple[str, str, str], level: str, now: datetime) -> SlaFlag:
        clock = self.clocks[key]
        self.clocks[key] = replace(clock, warn_at=None, due_at=None if level == "breach" else clock.due_at)
        deadline = self.deadlines[key]
        assert deadline is not None
        return SlaFlag(id=new_id("slx"), clock=clock, level=level, flagged_at=now, deadline=deadline)

    def inbox(self, tenant_id: str, flt: SlaInboxFilter, *, limit: int, cursor: str | None) -> SlaInboxPage:
        after = decode_inbox_cursor(cursor) if cursor else None
        found = [
            SlaInboxItem(flag=e.flag, resolved_at=e.resolved_at)
            for e in sorted(self.exceptions.values(), key=lambda e: e.flag.id, reverse=True)
            if e.flag.clock.tenant_id == tenant_id and _matches(e, flt) and (after is None or e.flag.id < after)
        ]
        more = len(found) > limit
        return SlaInboxPage(
            items=found[:limit], next_cursor=encode_inbox_cursor(found[limit - 1].flag.id) if more else None
        )


def _matches(entry: _Entry, flt: SlaInboxFilter) -> bool:
    c = entry.flag.clock
    status_ok = flt.status is None or flt.status in (c.state, c.state.split(".", 1)[0])
    return (
        status_ok
        and (flt.owner is None or c.owner == flt.owner)
        and (flt.kind is None or c.subject_kind == flt.kind)
        and (flt.level is None or entry.flag.level == flt.level)
        and (not flt.open_only or entry.resolved_at is None)
    )
