"""Fulfilment orders, waves, location settings and applied confirmations on the unit of work's connection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa

from orderloom.adapters.persistence.fastinsert import insert_rows
from orderloom.adapters.persistence.tables_fulfilment import (
    fulfilment_confirmations,
    fulfilment_locations,
    fulfilment_orders,
    fulfilment_waves,
)
from orderloom.application.fulfilment_ports import LocationFulfilment, StoredConfirmation, Wave
from orderloom.domain.errors import ConcurrencyConflict
from orderloom.domain.fulfilment import FoKind, FoLine, FulfilmentNotFound, FulfilmentOrder, WaveNotFound

__all__ = ["SqlFulfilmentRepository", "fo_from_doc", "fo_to_doc"]

_encode = msgspec.json.encode
_decode = msgspec.json.decode


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def fo_to_doc(fo: FulfilmentOrder) -> dict[str, Any]:
    """The stored JSON form of an FO (everything, including the pickup-code digest)."""
    return {
        "id": fo.id,
        "tenant_id": fo.tenant_id,
        "order_id": fo.order_id,
        "location_id": fo.location_id,
        "kind": str(fo.kind),
        "status": fo.status,
        "lines": [[ln.line_no, ln.sku, ln.quantity, ln.picked, ln.packed, ln.shipped, ln.cancelled] for ln in fo.lines],
        "created_at": _ts(fo.created_at),
        "updated_at": _ts(fo.updated_at),
        "service_level": fo.service_level,
        "ship_by": _ts(fo.ship_by),
        "notes": fo.notes,
        "wave_id": fo.wave_id,
        "released_at": _ts(fo.released_at),
        "pickup_code_hash": fo.pickup_code_hash,
        "pickup_expires_at": _ts(fo.pickup_expires_at),
        "before_cancel": fo.before_cancel,
        "cancel_lines": [[k, v] for k, v in sorted(fo.cancel_lines.items())],
        "version": fo.version,
    }


def fo_from_doc(d: dict[str, Any]) -> FulfilmentOrder:
    """An FO from its stored JSON form."""
    created = _dt(d["created_at"])
    updated = _dt(d["updated_at"])
    assert created is not None and updated is not None
    return FulfilmentOrder(
        id=d["id"],
        tenant_id=d["tenant_id"],
        order_id=d["order_id"],
        location_id=d["location_id"],
        kind=FoKind(d["kind"]),
        status=d["status"],
        lines=[FoLine(*row) for row in d["lines"]],
        created_at=created,
        updated_at=updated,
        service_level=d.get("service_level") or "standard",
        ship_by=_dt(d.get("ship_by")),
        notes=dict(d.get("notes") or {}),
        wave_id=d.get("wave_id"),
        released_at=_dt(d.get("released_at")),
        pickup_code_hash=d.get("pickup_code_hash"),
        pickup_expires_at=_dt(d.get("pickup_expires_at")),
        before_cancel=d.get("before_cancel"),
        cancel_lines={int(k): int(v) for k, v in d.get("cancel_lines") or []},
        version=int(d.get("version") or 1),
    )


def _row(fo: FulfilmentOrder) -> dict[str, Any]:
    return {
        "id": fo.id,
        "tenant_id": fo.tenant_id,
        "order_id": fo.order_id,
        "location_id": fo.location_id,
        "kind": str(fo.kind),
        "status": fo.status,
        "ship_by": fo.ship_by,
        "wave_id": fo.wave_id,
        "pickup_expires_at": fo.pickup_expires_at,
        "version": fo.version,
        "updated_at": fo.updated_at,
        "doc": _encode(fo_to_doc(fo)).decode(),
    }


class SqlFulfilmentRepository:
    """The fulfilment store on one connection."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn
        self._pg = conn.dialect.name == "postgresql"

    def add_many(self, fos: Sequence[FulfilmentOrder]) -> None:
        insert_rows(self._conn, fulfilment_orders, [_row(fo) for fo in fos])

    def _select(self, *where: Any) -> list[FulfilmentOrder]:
        q = sa.select(fulfilment_orders.c.doc).where(*where).order_by(fulfilment_orders.c.id)
        if self._pg:
            q = q.with_for_update()
        return [fo_from_doc(_decode(doc)) for doc in self._conn.execute(q).scalars()]

    def get(self, tenant_id: str, fo_id: str) -> FulfilmentOrder:
        c = fulfilment_orders.c
        found = self._select(c.tenant_id == tenant_id, c.id == fo_id)
        if not found:
            raise FulfilmentNotFound(fo_id)
        return found[0]

    def get_many(self, tenant_id: str, fo_ids: Sequence[str]) -> list[FulfilmentOrder]:
        c = fulfilment_orders.c
        out: list[FulfilmentOrder] = []
        for i in range(0, len(fo_ids), 500):
            out += self._select(c.tenant_id == tenant_id, c.id.in_(list(fo_ids[i : i + 500])))
        return out

    def save_many(self, fos: Sequence[FulfilmentOrder]) -> None:
        if not fos:
            return
        params = []
        for fo in fos:
            row = _row(fo)
            fo.version += 1
            row["version"] = fo.version
            row["doc"] = _encode(fo_to_doc(fo)).decode()
            row["b_id"], row["b_tenant"], row["b_version"] = fo.id, fo.tenant_id, fo.version - 1
            params.append(row)
        c = fulfilment_orders.c
        stmt = (
            fulfilment_orders.update()
            .where(
                c.id == sa.bindparam("b_id"),
                c.tenant_id == sa.bindparam("b_tenant"),
                c.version == sa.bindparam("b_version"),
            )
            .values(
                {
                    k: sa.bindparam(k)
                    for k in ("status", "ship_by", "wave_id", "pickup_expires_at", "version", "updated_at", "doc")
                }
            )
        )
        result = self._conn.execute(stmt, params)
        if result.rowcount != len(params):
            raise ConcurrencyConflict(fos[0].id)

    def of_order(self, tenant_id: str, order_id: str) -> list[FulfilmentOrder]:
        c = fulfilment_orders.c
        return self._select(c.tenant_id == tenant_id, c.order_id == order_id)

    def of_orders(self, tenant_id: str, order_ids: Sequence[str]) -> list[FulfilmentOrder]:
        c = fulfilment_orders.c
        out: list[FulfilmentOrder] = []
        for i in range(0, len(order_ids), 500):
            out += self._select(c.tenant_id == tenant_id, c.order_id.in_(list(order_ids[i : i + 500])))
        return out

    def open_at(self, tenant_id: str, location_id: str) -> list[tuple[str, datetime | None]]:
        c = fulfilment_orders.c
        q = sa.select(c.id, c.ship_by).where(c.tenant_id == tenant_id, c.location_id == location_id, c.status == "open")
        return [(str(r.id), r.ship_by) for r in self._conn.execute(q)]

    def at_location(
        self, tenant_id: str, location_id: str, status: str | None, limit: int, after: str | None
    ) -> list[FulfilmentOrder]:
        c = fulfilment_orders.c
        q = sa.select(c.doc).where(c.tenant_id == tenant_id, c.location_id == location_id)
        if status is not None:
            q = q.where(c.status == status)
        if after is not None:
            q = q.where(c.id > after)
        q = q.order_by(c.id).limit(limit)
        return [fo_from_doc(_decode(doc)) for doc in self._conn.execute(q).scalars()]

    def pickups_due(self, now: datetime, limit: int, tenant_id: str | None = None) -> list[FulfilmentOrder]:
        c = fulfilment_orders.c
        q = sa.select(c.doc).where(c.status == "ready_for_pickup", c.pickup_expires_at <= now)
        if tenant_id is not None:
            q = q.where(c.tenant_id == tenant_id)
        q = q.order_by(c.pickup_expires_at).limit(limit)
        return [fo_from_doc(_decode(doc)) for doc in self._conn.execute(q).scalars()]

    def undispatched(self, limit: int) -> list[FulfilmentOrder]:
        c, loc = fulfilment_orders.c, fulfilment_locations.c
        q = (
            sa.select(c.doc)
            .select_from(
                fulfilment_orders.join(
                    fulfilment_locations, sa.and_(loc.tenant_id == c.tenant_id, loc.location_id == c.location_id)
                )
            )
            .where(loc.release_mode == "webhook", c.status == "released", c.dispatched_at.is_(None))
            .order_by(c.updated_at, c.id)
            .limit(limit)
        )
        return [fo_from_doc(_decode(doc)) for doc in self._conn.execute(q).scalars()]

    def mark_dispatched(self, tenant_id: str, fo_id: str, at: datetime | None, error: str | None) -> None:
        c = fulfilment_orders.c
        self._conn.execute(
            fulfilment_orders.update()
            .where(c.tenant_id == tenant_id, c.id == fo_id)
            .values(dispatched_at=at, dispatch_error=(error or None) and error[:400])
        )

    def add_wave(self, wave: Wave) -> None:
        self._conn.execute(
            fulfilment_waves.insert().values(
                id=wave.id,
                tenant_id=wave.tenant_id,
                location_id=wave.location_id,
                released_at=wave.released_at,
                count=wave.count,
            )
        )

    def get_wave(self, tenant_id: str, wave_id: str) -> Wave:
        w = fulfilment_waves.c
        row = self._conn.execute(sa.select(fulfilment_waves).where(w.tenant_id == tenant_id, w.id == wave_id)).first()
        if row is None:
            raise WaveNotFound(wave_id)
        c = fulfilment_orders.c
        ids = self._conn.execute(
            sa.select(c.id).where(c.tenant_id == tenant_id, c.wave_id == wave_id).order_by(c.id)
        ).scalars()
        return Wave(row.id, row.tenant_id, row.location_id, row.released_at, int(row[4]), tuple(ids))

    def settings(self, tenant_id: str, location_id: str) -> LocationFulfilment:
        c = fulfilment_locations.c
        row = self._conn.execute(
            sa.select(fulfilment_locations).where(c.tenant_id == tenant_id, c.location_id == location_id)
        ).first()
        if row is None:
            return LocationFulfilment(tenant_id=tenant_id, location_id=location_id)
        return LocationFulfilment(
            tenant_id=tenant_id,
            location_id=location_id,
            release_mode=row.release_mode,
            webhook_url=row.webhook_url,
            webhook_secret=row.webhook_secret,
            max_batch=row.max_batch,
            horizon_hours=row.horizon_hours,
            pickup_days=row.pickup_days,
        )

    def put_settings(self, settings: LocationFulfilment) -> None:
        c = fulfilment_locations.c
        self._conn.execute(
            fulfilment_locations.delete().where(
                c.tenant_id == settings.tenant_id, c.location_id == settings.location_id
            )
        )
        self._conn.execute(
            fulfilment_locations.insert().values(
                tenant_id=settings.tenant_id,
                location_id=settings.location_id,
                release_mode=settings.release_mode,
                webhook_url=settings.webhook_url,
                webhook_secret=settings.webhook_secret,
                max_batch=settings.max_batch,
                horizon_hours=settings.horizon_hours,
                pickup_days=settings.pickup_days,
            )
        )

    def confirmations(self, tenant_id: str, event_ids: Sequence[str]) -> dict[str, StoredConfirmation]:
        c = fulfilment_confirmations.c
        out: dict[str, StoredConfirmation] = {}
        ids = sorted(set(event_ids))
        for i in range(0, len(ids), 500):
            q = sa.select(c.event_id, c.fo_id, c.digest, c.result).where(
                c.tenant_id == tenant_id, c.event_id.in_(ids[i : i + 500])
            )
            for row in self._conn.execute(q):
                out[row.event_id] = StoredConfirmation(row.fo_id, row.digest, _decode(row.result))
        return out

    def add_confirmations(
        self, tenant_id: str, applied: Sequence[tuple[str, StoredConfirmation]], at: datetime
    ) -> None:
        insert_rows(
            self._conn,
            fulfilment_confirmations,
            [
                {
                    "tenant_id": tenant_id,
                    "event_id": event_id,
                    "fo_id": stored.fo_id,
                    "digest": stored.digest,
                    "result": _encode(stored.result).decode(),
                    "applied_at": at,
                }
                for event_id, stored in applied
            ],
        )
