"""Channel intake: a signed delivery is stored raw first, then mapped and applied in one transaction with its dedupe
key: exactly one order per (tenant, channel, channel order id), redeliveries recognised, updates applied in channel
time order (an update older than the last one applied is recorded as stale), commands that arrive before their order
wait for it, and what cannot be mapped is quarantined with the reason and JSON pointer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from orderloom.application.channel_ports import ChannelStore, InboxEntry
from orderloom.application.order_checks import OrderCheck, hold_on_findings, run_checks
from orderloom.application.order_merge import merge_on_intake
from orderloom.application.orders import apply_action, place_order
from orderloom.application.ports import TransactionRunner, UnitOfWork
from orderloom.domain.errors import DomainError, DuplicateOrder, IllegalTransition
from orderloom.domain.lifecycle import Lifecycle
from orderloom.domain.values import NewOrder

__all__ = ["STATUS_ACTIONS", "ChannelMapper", "IntakeResult", "receive_delivery", "redrive_quarantined"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# an update that moves the channel's order to one of these statuses becomes this lifecycle action on ours
STATUS_ACTIONS = {
    "confirmed.paid": "mark_paid",
    "confirmed.cash_on_delivery": "accept_cod",
    "shipped.handed_to_carrier": "ship",
    "in_transit.in_transit": "mark_in_transit",
    "delivered.signed": "deliver",
    "closed.completed": "close",
    "closed.cancelled": "cancel",
    "closed.refunded": "refund",
}


class ChannelMapper(Protocol):
    """A channel's adapter as intake sees it."""

    def map(self, raw: bytes, now: datetime) -> list[dict[str, Any]]:
        """Canonical order / command documents; a DomainError (with the JSON pointer) when it cannot map."""

    def to_new_order(self, doc: dict[str, Any]) -> NewOrder:
        """The domain's NewOrder for an order document."""


@dataclass
class IntakeResult:
    """What became of one delivery."""

    inbox_id: str
    state: str
    orders: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    findings: list[dict[str, str]] = field(default_factory=list)
    quarantine_id: str | None = None
    reason: str | None = None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _order_time(doc: dict[str, Any]) -> datetime:
    return _time((doc.get("custom_fields") or {}).get("channel_updated_at")) or _time(doc["placed_at"]) or _EPOCH


@dataclass
class _Ctx:
    uow: UnitOfWork
    store: ChannelStore
    mapper: ChannelMapper
    lifecycle: Lifecycle
    tenant_id: str
    channel: str
    now: datetime
    actor: str
    result: IntakeResult
    checks: Sequence[OrderCheck] = ()


def receive_delivery(
    *,
    tx: TransactionRunner,
    store_for: Callable[[UnitOfWork], ChannelStore],
    mapper: ChannelMapper,
    lifecycle: Lifecycle,
    tenant_id: str,
    channel: str,
    body: bytes,
    headers: str,
    source_ip: str | None,
    dedupe_key: str,
    now: datetime,
    checks: Sequence[OrderCheck] = (),
) -> IntakeResult:
    """Store a verified delivery raw (committed on its own), then map and apply it with its dedupe key."""
    inbox_id = tx.run(
        lambda uow: store_for(uow).add_raw(
            tenant_id=tenant_id,
            channel=channel,
            dedupe_key=dedupe_key,
            source_ip=source_ip,
            headers=headers,
            payload=body,
            now=now,
        )
    )

    def process(uow: UnitOfWork) -> IntakeResult:
        store = store_for(uow)
        result = IntakeResult(inbox_id=inbox_id, state="applied")
        earlier = store.claim(tenant_id, channel, dedupe_key, inbox_id, now)
        if earlier is not None:
            first = store.entry(earlier)
            result.state = "duplicate"
            result.orders = [first.order_id] if first and first.order_id else []
            store.mark(inbox_id, state="duplicate", detail=f"redelivery of {earlier}")
            return result
        ctx = _Ctx(uow, store, mapper, lifecycle, tenant_id, channel, now, f"channel:{channel}", result, checks)
        _apply_payload(ctx, inbox_id, body, source=f"webhook:{channel}:{inbox_id}")
        return result

    return tx.run(process)


def _apply_payload(ctx: _Ctx, inbox_id: str, body: bytes, *, source: str) -> None:
    try:
        with ctx.uow.savepoint():
            docs = ctx.mapper.map(body, ctx.now)
            for doc in docs:
                if "command" in doc:
                    _command(ctx, inbox_id, doc)
                else:
                    _order(ctx, inbox_id, doc)
    except DomainError as exc:
        reason = str(exc)
        qid = ctx.uow.quarantine.put(tenant_id=ctx.tenant_id, source=source, reason=reason, payload=body)
        ctx.result.state, ctx.result.quarantine_id, ctx.result.reason = "quarantined", qid, reason
        ctx.result.orders, ctx.result.applied = [], []
        ctx.store.mark(inbox_id, state="quarantined", detail=f"{qid}: {reason}"[:4000])
        return
    order_id = ctx.result.orders[0] if ctx.result.orders else None
    if ctx.result.state == "applied" and not ctx.result.orders and not ctx.result.applied:
        ctx.result.state = "waiting" if ctx.result.notes and ctx.result.notes[-1].startswith("waiting") else "stale"
    ctx.store.mark(
        inbox_id, state=ctx.result.state, detail="; ".join(ctx.result.notes)[:4000] or None, order_id=order_id
    )


def _order(ctx: _Ctx, inbox_id: str, doc: dict[str, Any]) -> None:
    ref = str(doc["channel_order_id"])
    when = _order_time(doc)
    existing = ctx.uow.orders.find_id_by_channel_ref(ctx.tenant_id, ctx.channel, ref)
    if existing is None:
        findings = run_checks(uow=ctx.uow, checks=ctx.checks, tenant_id=ctx.tenant_id, doc=doc)
        new = ctx.mapper.to_new_order(doc)
        try:
            with ctx.uow.savepoint():
                placed = place_order(
                    uow=ctx.uow,
                    tenant_id=ctx.tenant_id,
                    new=new,
                    lifecycle=ctx.lifecycle,
                    actor=ctx.actor,
                    now=ctx.now,
                )
        except DuplicateOrder:  # a concurrent delivery placed it first: this one is an update of that order
            existing = ctx.uow.orders.find_id_by_channel_ref(ctx.tenant_id, ctx.channel, ref)
            if existing is None:
                raise
            _update(ctx, ref, existing, when, doc)
            return
        ctx.result.orders.append(placed["id"])
        ctx.store.set_sync_point(ctx.tenant_id, ctx.channel, ref, order_id=placed["id"], channel_time=when, now=ctx.now)
        _drain_waiting(ctx, ref, placed["id"], after=when)  # what the channel did first, then our checks' hold
        held = hold_on_findings(
            uow=ctx.uow,
            tenant_id=ctx.tenant_id,
            order_id=placed["id"],
            findings=findings,
            lifecycle=ctx.lifecycle,
            actor=ctx.actor,
            now=ctx.now,
        )
        if held is not None:
            ctx.result.applied.append(held)
        ctx.result.findings += [f.as_dict() for f in findings]
        group = merge_on_intake(
            uow=ctx.uow, store=ctx.store, tenant_id=ctx.tenant_id, order_id=placed["id"], actor=ctx.actor, now=ctx.now
        )
        if group is not None:
            ctx.result.notes.append(f"merged into {group}")
        return
    _update(ctx, ref, existing, when, doc)


def _update(ctx: _Ctx, ref: str, existing: str, when: datetime, doc: dict[str, Any]) -> None:
    ctx.result.orders.append(existing)
    last = ctx.store.sync_point(ctx.tenant_id, ctx.channel, ref)
    if last is not None and when <= last:
        ctx.result.notes.append(f"stale update of {ref}: channel time {when.isoformat()} <= {last.isoformat()}")
        ctx.result.state = "stale"
        return
    status = doc.get("status") or {}
    action = STATUS_ACTIONS.get(f"{status.get('main')}.{status.get('sub')}")
    if action is not None:
        _act(ctx, existing, action, {"reason": f"channel update {when.isoformat()}"})
    ctx.store.set_sync_point(ctx.tenant_id, ctx.channel, ref, order_id=existing, channel_time=when, now=ctx.now)


def _command(ctx: _Ctx, inbox_id: str, doc: dict[str, Any]) -> None:
    ref = str(doc["order"]["channel_order_id"])
    when = _time(doc.get("occurred_at")) or ctx.now
    existing = ctx.uow.orders.find_id_by_channel_ref(ctx.tenant_id, ctx.channel, ref)
    if existing is None:
        ctx.store.mark(inbox_id, state="waiting", channel_order_id=ref, channel_time=when)
        ctx.result.state = "waiting"
        ctx.result.notes.append(f"waiting for order {ref}")
        return
    last = ctx.store.sync_point(ctx.tenant_id, ctx.channel, ref)
    if last is not None and when < last:
        ctx.result.notes.append(f"stale {doc['command']} of {ref}: {when.isoformat()} < {last.isoformat()}")
        ctx.result.state = "stale"
        return
    _act(ctx, existing, str(doc["command"]), dict(doc.get("params") or {}))
    ctx.result.orders.append(existing)
    ctx.store.set_sync_point(ctx.tenant_id, ctx.channel, ref, order_id=existing, channel_time=when, now=ctx.now)


def _act(ctx: _Ctx, order_id: str, action: str, params: dict[str, Any]) -> None:
    try:
        with ctx.uow.savepoint():
            apply_action(
                uow=ctx.uow,
                tenant_id=ctx.tenant_id,
                order_id=order_id,
                action=action,
                params=params,
                lifecycle=ctx.lifecycle,
                actor=ctx.actor,
                now=ctx.now,
            )
        ctx.result.applied.append(action)
    except (IllegalTransition, DomainError) as exc:  # the channel moved on in a way our lifecycle does not follow
        ctx.result.notes.append(f"{action} not applied: {exc}")


def _drain_waiting(ctx: _Ctx, ref: str, order_id: str, *, after: datetime) -> None:
    pending: list[tuple[datetime, InboxEntry, dict[str, Any]]] = []
    for entry in ctx.store.waiting(ctx.tenant_id, ctx.channel, ref):
        for doc in ctx.mapper.map(entry.payload, ctx.now):
            if "command" in doc and str(doc["order"]["channel_order_id"]) == ref:
                pending.append((_time(doc.get("occurred_at")) or entry.received_at, entry, doc))
    for when, entry, doc in sorted(pending, key=lambda p: p[0]):
        if when < after:
            ctx.store.mark(entry.id, state="stale", detail="older than the order it was waiting for", order_id=order_id)
            continue
        before = len(ctx.result.applied)
        _act(ctx, order_id, str(doc["command"]), dict(doc.get("params") or {}))
        state = "applied" if len(ctx.result.applied) > before else "refused"
        ctx.store.mark(entry.id, state=state, order_id=order_id)
        ctx.store.set_sync_point(ctx.tenant_id, ctx.channel, ref, order_id=order_id, channel_time=when, now=ctx.now)


def redrive_quarantined(
    *,
    tx: TransactionRunner,
    store_for: Callable[[UnitOfWork], ChannelStore],
    mapper: ChannelMapper,
    lifecycle: Lifecycle,
    tenant_id: str,
    channel: str,
    quarantine_id: str,
    payload: bytes,
    now: datetime,
    checks: Sequence[OrderCheck] = (),
) -> IntakeResult:
    """Map a quarantined payload again (after a mapping fix); on success it is applied and marked resolved."""

    def process(uow: UnitOfWork) -> IntakeResult:
        store = store_for(uow)
        result = IntakeResult(inbox_id=quarantine_id, state="applied")
        ctx = _Ctx(uow, store, mapper, lifecycle, tenant_id, channel, now, f"retry:{quarantine_id}", result, checks)
        try:
            with uow.savepoint():
                for doc in mapper.map(payload, now):
                    if "command" in doc:
                        ref = str(doc["order"]["channel_order_id"])
                        if uow.orders.find_id_by_channel_ref(tenant_id, channel, ref) is None:
                            raise DomainError(f"/order/channel_order_id: order {ref} does not exist yet")
                        _act(ctx, uow.orders.find_id_by_channel_ref(tenant_id, channel, ref) or "", doc["command"], {})
                    else:
                        _order(ctx, quarantine_id, doc)
        except DomainError as exc:
            result.state, result.reason = "quarantined", str(exc)
            return result
        store.resolve_quarantine(quarantine_id, now)
        return result

    return tx.run(process)
