"""Ports of the SLA engine: the store of clocks (one per subject) and of the exception inbox."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from orderloom.domain.errors import FieldError, ValidationFailed
from orderloom.domain.sla import SlaClock, SlaFlag

__all__ = [
    "SlaInboxFilter",
    "SlaInboxItem",
    "SlaInboxPage",
    "SlaStore",
    "decode_inbox_cursor",
    "encode_inbox_cursor",
]


@dataclass(frozen=True, slots=True)
class SlaInboxFilter:
    """Filters of ``GET /v1/sla/breaches``."""

    owner: str | None = None
    status: str | None = None  # "main" or "main.sub"
    kind: str | None = None
    level: str | None = None  # "warning" | "breach"
    open_only: bool = True


@dataclass(frozen=True, slots=True)
class SlaInboxItem:
    """One exception: the flag, and when it was resolved (the subject left the status), if it was."""

    flag: SlaFlag
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class SlaInboxPage:
    """One page of the inbox, newest first, and the cursor of the next page."""

    items: list[SlaInboxItem]
    next_cursor: str | None


class SlaStore(Protocol):
    """Clocks and the exception inbox; ``flag_due`` writes flags, inbox rows and outbox events in one transaction."""

    def current(self, tenant_id: str, kind: str, subject_id: str) -> SlaClock | None:
        """The subject's clock, if it has one."""

    def enter(self, clock: SlaClock) -> bool:
        """Start the clock of a new status entry and resolve the subject's open exceptions.

        Returns False and changes nothing when the stored entry is the same one or a later one (redelivery).
        """

    def enter_many(self, clocks: Sequence[SlaClock]) -> int:
        """``enter`` for each clock in order, in one transaction; returns how many were started."""

    def channels_of(self, tenant_id: str, kind: str, subject_ids: Sequence[str]) -> dict[str, str | None]:
        """The channel recorded on each subject's clock (subjects without a clock are absent)."""

    def flag_due(self, now: datetime, *, limit: int) -> list[SlaFlag]:
        """Flag up to ``limit`` clocks whose warning or deadline time has passed, each level once per entry."""

    def inbox(self, tenant_id: str, flt: SlaInboxFilter, *, limit: int, cursor: str | None) -> SlaInboxPage:
        """Exceptions of a tenant, newest first."""


def encode_inbox_cursor(exception_id: str) -> str:
    """An opaque cursor for the page after ``exception_id``."""
    return base64.urlsafe_b64encode(exception_id.encode()).decode().rstrip("=")


def decode_inbox_cursor(cursor: str) -> str:
    """The exception id in a cursor; ValidationFailed for anything this API did not hand out."""
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        value = ""
    if not value.startswith("slx_"):
        raise ValidationFailed([FieldError("cursor", "not a cursor this API returned")])
    return value
