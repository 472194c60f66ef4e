"""In-memory twin of the fulfilment store (FOs kept as stored documents, so callers never share objects)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderloom.adapters.persistence.fulfilment_store import fo_from_doc, fo_to_doc
from orderloom.application.fulfilment_ports import LocationFulfilment, StoredConfirmation, Wave
from orderloom.domain.errors import ConcurrencyConflict
from orderloom.domain.fulfilment import FulfilmentNotFound, FulfilmentOrder, WaveNotFound

__all__ = ["FulfilmentState", "MemoryFulfilment"]


@dataclass
class FulfilmentState:
    """The committed fulfilment tables."""

    fos: dict[str, dict[str, Any]] = field(default_factory=dict)
    dispatched: dict[str, datetime | None] = field(default_factory=dict)
    waves: dict[tuple[str, str], Wave] = field(default_factory=dict)
    settings: dict[tuple[str, str], LocationFulfilment] = field(default_factory=dict)
    confirmations: dict[tuple[str, str], StoredConfirmation] = field(default_factory=dict)


class MemoryFulfilment:
    """FulfilmentRepository over a FulfilmentState."""

    def __init__(self, state: FulfilmentState) -> None:
        self.s = state

    def _all(self, tenant_id: str) -> list[FulfilmentOrder]:
        return sorted((fo_from_doc(d) for d in self.s.fos.values() if d["tenant_id"] == tenant_id), key=lambda f: f.id)

    def add_many(self, fos: Sequence[FulfilmentOrder]) -> None:
        for fo in fos:
            self.s.fos[fo.id] = fo_to_doc(fo)

    def get(self, tenant_id: str, fo_id: str) -> FulfilmentOrder:
        d = self.s.fos.get(fo_id)
        if d is None or d["tenant_id"] != tenant_id:
            raise FulfilmentNotFound(fo_id)
        return fo_from_doc(d)

    def get_many(self, tenant_id: str, fo_ids: Sequence[str]) -> list[FulfilmentOrder]:
        wanted = set(fo_ids)
        return [fo for fo in self._all(tenant_id) if fo.id in wanted]

    def save_many(self, fos: Sequence[FulfilmentOrder]) -> None:
        for fo in fos:
            d = self.s.fos.get(fo.id)
            if d is None or d["version"] != fo.version:
                raise ConcurrencyConflict(fo.id)
        for fo in fos:
            fo.version += 1
            self.s.fos[fo.id] = fo_to_doc(fo)

    def of_order(self, tenant_id: str, order_id: str) -> list[FulfilmentOrder]:
        return [fo for fo in self._all(tenant_id) if fo.order_id == order_id]

    def of_orders(self, tenant_id: str, order_ids: Sequence[str]) -> list[FulfilmentOrder]:
        wanted = set(order_ids)
        return [fo for fo in self._all(tenant_id) if fo.order_id in wanted]

    def open_at(self, tenant_id: str, location_id: str) -> list[tuple[str, datetime | None]]:
        return [
            (fo.id, fo.ship_by) for fo in self._all(tenant_id) if fo.location_id == location_id and fo.status == "open"
        ]

    def at_location(
        self, tenant_id: str, location_id: str, status: str | None, limit: int, after: str | None
    ) -> list[FulfilmentOrder]:
        found = [
            fo
            for fo in self._all(tenant_id)
            if fo.location_id == location_id
            and (status is None or fo.status == status)
            and (after is None or fo.id > after)
        ]
        return found[:limit]

    def pickups_due(self, now: datetime, limit: int, tenant_id: str | None = None) -> list[FulfilmentOrder]:
        due = [
            fo_from_doc(d)
            for d in self.s.fos.values()
            if d["status"] == "ready_for_pickup" and tenant_id in (None, d["tenant_id"])
        ]
        due = [fo for fo in due if fo.pickup_expires_at is not None and fo.pickup_expires_at <= now]
        return sorted(due, key=lambda fo: (fo.pickup_expires_at, fo.id))[:limit]

    def undispatched(self, limit: int) -> list[FulfilmentOrder]:
        out = []
        for d in sorted(self.s.fos.values(), key=lambda d: (d["updated_at"], d["id"])):
            mode = self.s.settings.get((d["tenant_id"], d["location_id"]))
            if (
                mode
                and mode.release_mode == "webhook"
                and d["status"] == "released"
                and not self.s.dispatched.get(d["id"])
            ):
                out.append(fo_from_doc(d))
        return out[:limit]

    def mark_dispatched(self, tenant_id: str, fo_id: str, at: datetime | None, error: str | None) -> None:
        self.s.dispatched[fo_id] = at

    def add_wave(self, wave: Wave) -> None:
        self.s.waves[(wave.tenant_id, wave.id)] = wave

    def get_wave(self, tenant_id: str, wave_id: str) -> Wave:
        wave = self.s.waves.get((tenant_id, wave_id))
        if wave is None:
            raise WaveNotFound(wave_id)
        ids = tuple(fo.id for fo in self._all(tenant_id) if fo.wave_id == wave_id)
        return Wave(wave.id, wave.tenant_id, wave.location_id, wave.released_at, wave.count, ids)

    def settings(self, tenant_id: str, location_id: str) -> LocationFulfilment:
        return self.s.settings.get(
            (tenant_id, location_id), LocationFulfilment(tenant_id=tenant_id, location_id=location_id)
        )

    def put_settings(self, settings: LocationFulfilment) -> None:
        self.s.settings[(settings.tenant_id, settings.location_id)] = settings

    def confirmations(self, tenant_id: str, event_ids: Sequence[str]) -> dict[str, StoredConfirmation]:
        return {e: self.s.confirmations[(tenant_id, e)] for e in event_ids if (tenant_id, e) in self.s.confirmations}

    def add_confirmations(
        self, tenant_id: str, applied: Sequence[tuple[str, StoredConfirmation]], at: datetime
    ) -> None:
        for event_id, stored in applied:
            self.s.confirmations[(tenant_id, event_id)] = stored
