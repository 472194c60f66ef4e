"""SQL shipment repository: shipments, their tracking numbers, scans (deduplicated by a unique key) and counts of
unmapped raw codes, on the unit of work's connection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
import sqlalchemy as sa

from orderloom.adapters.persistence.fastinsert import insert_rows
from orderloom.adapters.persistence.tables import outbox
from orderloom.adapters.persistence.tables_tracking import (
    shipment_events,
    shipment_numbers,
    shipment_telemetry,
    shipment_telemetry_state,
    shipments,
    unmapped_codes,
)
from orderloom.application.tracking_ports import UnmappedCode
from orderloom.domain.errors import ConcurrencyConflict
from orderloom.domain.shipments import RecordedScan, Shipment, ShipmentNotFound, TrackingNumberTaken
from orderloom.domain.telemetry import Reading, TelemetryState
from orderloom.domain.tracking import Location, ShipmentStatus, TrackingEvent

__all__ = ["SqlShipmentRepository", "scan_from_row", "scan_to_row"]

_encode = msgspec.json.encode
_decode = msgspec.json.decode


def _shipment_row(s: Shipment, now: datetime) -> dict[str, Any]:
    return {
        "id": s.id,
        "tenant_id": s.tenant_id,
        "order_id": s.order_id,
        "carrier": s.carrier,
        "service": s.service,
        "tracking_numbers": _encode(list(s.tracking_numbers)).decode(),
        "origin_location_id": s.origin_location_id,
        "promised_date": s.promised_date,
        "eta": s.eta,
        "status_main": s.status.main if s.status else None,
        "status_sub": s.status.sub if s.status else None,
        "last_event_at": s.last_event_at,
        "shipped_at": s.shipped_at,
        "status_at": s.status_at,
        "dest_latitude": s.destination[0] if s.destination else None,
        "dest_longitude": s.destination[1] if s.destination else None,
        "arrival_radius_m": s.arrival_radius_m,
        "created_at": s.created_at,
        "updated_at": now,
        "version": s.version,
    }


_IN_CHUNK = 500  # numbers per IN list (well under SQLite's variable limit with the times added)
_MUTABLE = tuple(c.name for c in shipments.columns if c.name not in ("id", "tenant_id", "created_at"))
_UPDATE = (
    shipments.update()
    .where(
        shipments.c.tenant_id == sa.bindparam("b_tenant_id"),
        shipments.c.id == sa.bindparam("b_id"),
        shipments.c.version == sa.bindparam("b_read_at"),
    )
    .values({c: sa.bindparam(c) for c in _MUTABLE})
)


def _update_params(s: Shipment, read_at: int, now: datetime) -> dict[str, Any]:
    row = _shipment_row(s, now)
    return {"b_tenant_id": s.tenant_id, "b_id": s.id, "b_read_at": read_at} | {c: row[c] for c in _MUTABLE}


def _shipment(row: Any) -> Shipment:
    return Shipment(
        id=row.id,
        tenant_id=row.tenant_id,
        order_id=row.order_id,
        carrier=row.carrier,
        tracking_numbers=tuple(_decode(row.tracking_numbers)),
        created_at=row.created_at,
        service=row.service,
        origin_location_id=row.origin_location_id,
        promised_date=row.promised_date,
        eta=row.eta,
        status=ShipmentStatus(row.status_main, row.status_sub) if row.status_main else None,
        last_event_at=row.last_event_at,
        shipped_at=row.shipped_at,
        status_at=row.status_at,
        destination=(row.dest_latitude, row.dest_longitude) if row.dest_latitude is not None else None,
        arrival_radius_m=row.arrival_radius_m,
        version=row.version,
    )


def scan_to_row(tenant_id: str, shipment_id: str, scan: RecordedScan, now: datetime) -> dict[str, Any]:
    """A scan as a shipment_events row."""
    e = scan.event
    doc = {
        "location": e.location.as_dict() if e.location else None,
        "signatory": e.signatory,
        "delivery_attempt": e.delivery_attempt,
        "exception_reason": e.exception_reason,
        "raw_category": e.raw_category,
        "local_time": e.local_time,
        "time_basis": e.time_basis,
        "raw_code": e.raw_code,
    }
    return {
        "tenant_id": tenant_id,
        "shipment_id": shipment_id,
        "carrier": scan.carrier,
        "tracking_number": scan.tracking_number,
        "occurred_at": e.occurred_at,
        "code_key": e.code_key,
        "raw_code": (e.raw_code or "")[:80] or None,
        "raw_description": e.raw_description,
        "status_main": e.status.main if e.status else None,
        "status_sub": e.status.sub if e.status else None,
        "mapping": e.mapping,
        "unmapped": e.mapping == "unmapped",
        "flag": scan.flag,
        "doc": _encode(doc).decode(),
        "received_at": now,
    }


def scan_from_row(row: Any) -> RecordedScan:
    """A shipment_events row as a scan."""
    doc = _decode(row.doc)
    loc = doc.get("location")
    event = TrackingEvent(
        occurred_at=row.occurred_at,
        raw_code=doc.get("raw_code"),
        raw_description=row.raw_description,
        location=Location(**loc) if loc else None,
        signatory=doc.get("signatory"),
        delivery_attempt=bool(doc.get("delivery_attempt")),
        exception_reason=doc.get("exception_reason"),
        raw_category=doc.get("raw_category"),
        local_time=doc.get("local_time"),
        time_basis=doc.get("time_basis") or "utc",
        status=ShipmentStatus(row.status_main, row.status_sub) if row.status_main else None,
        mapping=row.mapping,
    )
    return RecordedScan(row.carrier, row.tracking_number, event, row.flag)


class SqlShipmentRepository:
    """Shipments on one connection."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, shipment: Shipment) -> None:
        """Insert the shipment and claim its numbers (TrackingNumberTaken if one is claimed already)."""
        for number in shipment.tracking_numbers:
            owner = self._owner(shipment.tenant_id, shipment.carrier, number)
            if owner is not None:
                raise TrackingNumberTaken(shipment.carrier, number)
        self._conn.execute(shipments.insert().values(_shipment_row(shipment, shipment.created_at)))
        if shipment.tracking_numbers:
            self._conn.execute(
                shipment_numbers.insert(),
                [
                    {
                        "tenant_id": shipment.tenant_id,
                        "carrier": shipment.carrier,
                        "tracking_number": n,
                        "shipment_id": shipment.id,
                    }
                    for n in shipment.tracking_numbers
                ],
            )

    def add_many(self, many: Sequence[Shipment]) -> None:
        """Insert shipments and claim their numbers with one executemany each (TrackingNumberTaken if one is
        claimed already)."""
        if not many:
            return
        pairs = [(s.carrier, n) for s in many for n in s.tracking_numbers]
        taken = self.taken(many[0].tenant_id, pairs)
        if taken or len(set(pairs)) != len(pairs):
            carrier, number = sorted(taken)[0] if taken else next(p for p in pairs if pairs.count(p) > 1)
            raise TrackingNumberTaken(carrier, number)
        self._conn.execute(shipments.insert(), [_shipment_row(s, s.created_at) for s in many])
        numbers = [
            {"tenant_id": s.tenant_id, "carrier": s.carrier, "tracking_number": n, "shipment_id": s.id}
            for s in many
            for n in s.tracking_numbers
        ]
        if numbers:
            self._conn.execute(shipment_numbers.insert(), numbers)

    def taken(self, tenant_id: str, numbers: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (carrier, number) pairs already belong to a shipment, one query per 500 numbers."""
        wanted = set(numbers)
        found: set[tuple[str, str]] = set()
        plain = sorted({n for _, n in wanted})
        c = shipment_numbers.c
        for i in range(0, len(plain), 500):
            rows = self._conn.execute(
                sa.select(c.carrier, c.tracking_number).where(
                    c.tenant_id == tenant_id, c.tracking_number.in_(plain[i : i + 500])
                )
            )
            found |= {(r.carrier, r.tracking_number) for r in rows} & wanted
        return found

    def _owner(self, tenant_id: str, carrier: str, number: str) -> str | None:
        return self._conn.execute(
            sa.select(shipment_numbers.c.shipment_id).where(
                shipment_numbers.c.tenant_id == tenant_id,
                shipment_numbers.c.carrier == carrier,
                shipment_numbers.c.tracking_number == number,
            )
        ).scalar_one_or_none()

    def get(self, tenant_id: str, shipment_id: str) -> Shipment:
        q = sa.select(shipments).where(shipments.c.tenant_id == tenant_id, shipments.c.id == shipment_id)
        if self._conn.dialect.name == "postgresql":
            q = q.with_for_update()
        row = self._conn.execute(q).first()
        if row is None:
            raise ShipmentNotFound(shipment_id)
        return _shipment(row)

    def save(self, shipment: Shipment) -> None:
        row = _shipment_row(shipment, datetime.now(UTC))
        result = self._conn.execute(
            shipments.update()
            .where(shipments.c.tenant_id == shipment.tenant_id, shipments.c.id == shipment.id)
            .where(shipments.c.version == shipment.version - 1)
            .values({k: v for k, v in row.items() if k not in ("id", "tenant_id", "created_at")})
        )
        if result.rowcount != 1:
            raise ConcurrencyConflict(shipment.id)

    def for_order(self, tenant_id: str, order_id: str) -> list[Shipment]:
        rows = self._conn.execute(
            sa.select(shipments)
            .where(shipments.c.tenant_id == tenant_id, shipments.c.order_id == order_id)
            .order_by(shipments.c.created_at, shipments.c.id)
        )
        return [_shipment(r) for r in rows]

    def for_orders(self, tenant_id: str, order_ids: Sequence[str]) -> dict[str, list[Shipment]]:
        """``for_order`` for many orders: one query per 500 orders."""
        out: dict[str, list[Shipment]] = {o: [] for o in order_ids}
        unique = list(out)
        for start in range(0, len(unique), _IN_CHUNK):
            rows = self._conn.execute(
                sa.select(shipments)
                .where(shipments.c.tenant_id == tenant_id, shipments.c.order_id.in_(unique[start : start + _IN_CHUNK]))
                .order_by(shipments.c.created_at, shipments.c.id)
            )
            for r in rows:
                out[r.order_id].append(_shipment(r))
        return out

    def find_by_number(self, tenant_id: str, carrier: str, tracking_number: str) -> Shipment | None:
        owner = self._owner(tenant_id, carrier, tracking_number)
        return None if owner is None else self.get(tenant_id, owner)

    def find_by_numbers(self, tenant_id: str, carrier: str, numbers: Sequence[str]) -> dict[str, Shipment]:
        """One query for many numbers (rows locked on PostgreSQL, as ``get`` does)."""
        out: dict[str, Shipment] = {}
        unique = list(dict.fromkeys(numbers))
        loaded: dict[str, Shipment] = {}
        for start in range(0, len(unique), _IN_CHUNK):
            q = (
                sa.select(shipment_numbers.c.tracking_number, shipments)
                .join(shipments, shipments.c.id == shipment_numbers.c.shipment_id)
                .where(
                    shipment_numbers.c.tenant_id == tenant_id,
                    shipment_numbers.c.carrier == carrier,
                    shipment_numbers.c.tracking_number.in_(unique[start : start + _IN_CHUNK]),
                    shipments.c.tenant_id == tenant_id,
                )
            )
            if self._conn.dialect.name == "postgresql":
                q = q.with_for_update(of=shipments)
            for row in self._conn.execute(q):
                out[row.tracking_number] = loaded.get(row.id) or loaded.setdefault(row.id, _shipment(row))
        return out

    def save_many(self, changed: Sequence[tuple[Shipment, int]]) -> None:
        """One executemany UPDATE guarded by each shipment's read version."""
        if not changed:
            return
        if len(changed) == 1 or not self._conn.dialect.supports_sane_multi_rowcount:
            for shipment, read_at in changed:
                self._update(shipment, read_at)
            return
        now = datetime.now(UTC)
        rows = [_update_params(s, read_at, now) for s, read_at in changed]
        result = self._conn.execute(_UPDATE, rows)
        if result.rowcount != len(rows):
            raise ConcurrencyConflict(", ".join(s.id for s, _ in changed))

    def _update(self, shipment: Shipment, read_at: int) -> None:
        result = self._conn.execute(_UPDATE, _update_params(shipment, read_at, datetime.now(UTC)))
        if result.rowcount != 1:
            raise ConcurrencyConflict(shipment.id)

    def known_keys_for(
        self, tenant_id: str, carrier: str, wanted: Mapping[str, Sequence[datetime]]
    ) -> set[tuple[str, str, datetime, str]]:
        """One query for many numbers: rows at any of the times, then only the wanted (number, time) pairs."""
        pairs = {(n, t) for n, times in wanted.items() for t in times}
        if not pairs:
            return set()
        numbers = sorted({n for n, _ in pairs})
        first, last = min(t for _, t in pairs), max(t for _, t in pairs)
        found: set[tuple[str, str, datetime, str]] = set()
        e = shipment_events.c
        for start in range(0, len(numbers), _IN_CHUNK):
            q = sa.select(e.tracking_number, e.occurred_at, e.code_key).where(
                e.tenant_id == tenant_id,
                e.carrier == carrier,
                e.tracking_number.in_(numbers[start : start + _IN_CHUNK]),
                e.occurred_at.between(first, last),
            )
            for r in self._conn.execute(q):
                if (r.tracking_number, r.occurred_at) in pairs:
                    found.add((carrier, r.tracking_number, r.occurred_at, r.code_key))
        return found

    def scans(self, tenant_id: str, shipment_id: str) -> list[RecordedScan]:
        rows = self._conn.execute(
            sa.select(shipment_events)
            .where(shipment_events.c.tenant_id == tenant_id, shipment_events.c.shipment_id == shipment_id)
            .order_by(shipment_events.c.occurred_at, shipment_events.c.id)
        )
        return [scan_from_row(r) for r in rows]

    def known_keys(
        self, tenant_id: str, carrier: str, tracking_number: str, times: Sequence[datetime]
    ) -> set[tuple[str, str, datetime, str]]:
        """The dedupe keys already stored for this number at these times."""
        if not times:
            return set()
        rows = self._conn.execute(
            sa.select(shipment_events.c.occurred_at, shipment_events.c.code_key).where(
                shipment_events.c.tenant_id == tenant_id,
                shipment_events.c.carrier == carrier,
                shipment_events.c.tracking_number == tracking_number,
                shipment_events.c.occurred_at.in_(sorted(set(times))),
            )
        )
        return {(carrier, tracking_number, r.occurred_at, r.code_key) for r in rows}

    def add_scans(self, tenant_id: str, shipment_id: str, scans: Sequence[RecordedScan], now: datetime) -> None:
        insert_rows(self._conn, shipment_events, [scan_to_row(tenant_id, shipment_id, s, now) for s in scans])

    def add_scans_many(self, tenant_id: str, scans: Sequence[tuple[str, RecordedScan]], now: datetime) -> None:
        """``add_scans`` for many shipments: one executemany."""
        insert_rows(self._conn, shipment_events, [scan_to_row(tenant_id, sid, s, now) for sid, s in scans])

    def count_unmapped(self, tenant_id: str, carrier: str, scans: Sequence[RecordedScan], now: datetime) -> None:
        counts: dict[str, tuple[int, RecordedScan]] = {}
        for scan in scans:
            if scan.event.mapping == "unmapped":
                n, _ = counts.get(scan.event.code_key, (0, scan))
                counts[scan.event.code_key] = (n + 1, scan)
        for key, (n, scan) in counts.items():
            where = (
                (unmapped_codes.c.tenant_id == tenant_id)
                & (unmapped_codes.c.carrier == carrier)
                & (unmapped_codes.c.code_key == key)
            )
            done = self._conn.execute(
                unmapped_codes.update().where(where).values(count=unmapped_codes.c.count + n, last_seen=now)
            )
            if done.rowcount == 0:
                self._conn.execute(
                    unmapped_codes.insert().values(
                        tenant_id=tenant_id,
                        carrier=carrier,
                        code_key=key,
                        raw_code=(scan.event.raw_code or "")[:80] or None,
                        sample_description=scan.event.raw_description,
                        count=n,
                        first_seen=now,
                        last_seen=now,
                    )
                )

    def telemetry_state(self, tenant_id: str, shipment_id: str) -> TelemetryState:
        t = shipment_telemetry_state
        row = self._conn.execute(sa.select(t).where(t.c.tenant_id == tenant_id, t.c.shipment_id == shipment_id)).first()
        if row is None:
            return TelemetryState()
        return TelemetryState(row.excursion_since, row.excursion_max_c, row.alerted, row.arriving_sent, row.last_at)

    def save_telemetry(
        self,
        tenant_id: str,
        shipment_id: str,
        state: TelemetryState,
        readings: Sequence[tuple[Reading, bool]],
        now: datetime,
    ) -> None:
        if readings:
            self._conn.execute(
                shipment_telemetry.insert(),
                [
                    {
                        "tenant_id": tenant_id,
                        "shipment_id": shipment_id,
                        "at": r.at,
                        "temperature_c": r.temperature_c,
                        "latitude": r.latitude,
                        "longitude": r.longitude,
                        "ignored": ignored,
                        "received_at": now,
                    }
                    for r, ignored in readings
                ],
            )
        t = shipment_telemetry_state
        values = {
            "excursion_since": state.excursion_since,
            "excursion_max_c": state.excursion_max_c,
            "alerted": state.alerted,
            "arriving_sent": state.arriving_sent,
            "last_at": state.last_at,
        }
        done = self._conn.execute(
            t.update().where(t.c.tenant_id == tenant_id, t.c.shipment_id == shipment_id).values(values)
        )
        if done.rowcount == 0:
            self._conn.execute(t.insert().values(tenant_id=tenant_id, shipment_id=shipment_id, **values))

    def delay_alert(self, tenant_id: str, shipment_id: str) -> dict[str, Any] | None:
        """The data of the shipment's delay_predicted event in the outbox (index ix_outbox_aggregate), if any."""
        row = self._conn.execute(
            sa.select(outbox.c.payload)
            .where(
                outbox.c.tenant_id == tenant_id,
                outbox.c.aggregate_id == shipment_id,
                outbox.c.type == "orderloom.shipment.delay_predicted",
            )
            .order_by(outbox.c.seq)
            .limit(1)
        ).first()
        if row is None:
            return None
        data: dict[str, Any] = msgspec.json.decode(row.payload)["data"]
        return data

    def open_numbers(self, limit: int) -> list[tuple[str, str, str]]:
        done = ("delivered", "returning", "closed")
        q = (
            sa.select(shipment_numbers.c.tenant_id, shipment_numbers.c.carrier, shipment_numbers.c.tracking_number)
            .join(shipments, shipments.c.id == shipment_numbers.c.shipment_id)
            .where(sa.or_(shipments.c.status_main.is_(None), shipments.c.status_main.not_in(done)))
            .order_by(shipments.c.last_event_at.is_not(None), shipments.c.last_event_at, shipments.c.id)
            .limit(limit)
        )
        return [(r.tenant_id, r.carrier, r.tracking_number) for r in self._conn.execute(q)]

    def unmapped(self, tenant_id: str, carrier: str | None = None) -> list[UnmappedCode]:
        q = sa.select(unmapped_codes).where(unmapped_codes.c.tenant_id == tenant_id)
        if carrier:
            q = q.where(unmapped_codes.c.carrier == carrier)
        rows = self._conn.execute(q.order_by(unmapped_codes.c.count.desc(), unmapped_codes.c.code_key))
        return [
            UnmappedCode(
                r.carrier, r.code_key, r.raw_code, r.sample_description, r._mapping["count"], r.first_seen, r.last_seen
            )
            for r in rows
        ]
