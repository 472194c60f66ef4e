"""NATS JetStream as the event backbone: the relay publishes outbox rows, durable pull consumers feed the handlers.

Publishing sets ``Nats-Msg-Id`` to the outbox event id, so a row the relay publishes twice (it crashed between the
ack and marking the row sent) is stored once by the server. Consumers ack explicitly after every handler has run;
a failed delivery is nak'ed with backoff, and after ``max_deliver`` attempts the message is copied to a dead-letter
stream and terminated (the handler ledger shows it dead in the exception inbox).

nats-py is asyncio; the rest of OrderLoom here is threads. ``NatsLink`` owns one event loop in a daemon thread and
runs coroutines on it for callers in any thread.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
import nats
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from orderloom.adapters.observability.metrics import CONSUMED, DEAD_LETTERS, REDELIVERIES
from orderloom.application.messagebus import MessageBus, backoff_seconds
from orderloom.application.ports import OutboxMessage

__all__ = ["DEAD_LETTER_PREFIX", "JetStreamConsumer", "JetStreamPublisher", "NatsLink", "subject_for"]

T = TypeVar("T")
log = structlog.get_logger(__name__)
DEAD_LETTER_PREFIX = "orderloom_dead"
_TOKEN = re.compile(r"[^A-Za-z0-9_-]")


def subject_for(message: OutboxMessage) -> str:
    """``orderloom.<tenant>.<aggregate>.<event>`` from a CloudEvent type such as ``orderloom.order.placed``."""
    parts = message.type.split(".")
    aggregate = parts[1] if len(parts) > 2 else "event"
    event = "_".join(parts[2:]) if len(parts) > 2 else parts[-1]
    tokens = [message.tenant_id or "_", aggregate, event]
    return "orderloom." + ".".join(_TOKEN.sub("_", t) or "_" for t in tokens)


def _tenant_of(event: dict[str, Any]) -> str:
    source = str(event.get("source", ""))
    prefix = "/orderloom/tenants/"
    return source[len(prefix) :] if source.startswith(prefix) else ""


class NatsLink:
    """One NATS connection and its JetStream context, driven from a private event-loop thread."""

    def __init__(
        self,
        servers: Sequence[str],
        *,
        timeout: float = 5.0,
        name: str = "orderloom",
        stream: str = "ORDERLOOM",
        replicas: int = 1,
        duplicate_window: float = 600.0,
    ) -> None:
        self._servers = list(servers)
        self.stream = stream
        self._replicas = replicas
        self._duplicate_window = duplicate_window
        self._streams_ready = False
        self._timeout = timeout
        self._name = name
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="orderloom-nats", daemon=True)
        self._lock = threading.Lock()
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None

    @property
    def timeout(self) -> float:
        """Seconds a publish or fetch may take before it counts as failed."""
        return self._timeout

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        """Schedule a coroutine on the link's loop (the loop thread starts on first use)."""
        with self._lock:
            if not self._thread.is_alive():
                self._thread.start()
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the link's loop and wait for its result."""
        return self.submit(coro).result(timeout if timeout is not None else self._timeout * 3)

    async def _connect(self) -> JetStreamContext:
        if self._js is None or self._nc is None or self._nc.is_closed:
            self._nc = await nats.connect(
                servers=self._servers,
                name=self._name,
                connect_timeout=self._timeout,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
            )
            self._js = self._nc.jetstream(timeout=self._timeout)
        return self._js

    async def jetstream(self) -> JetStreamContext:
        """The JetStream context, connecting first if needed (call on the link's loop)."""
        return await self._connect()

    def ensure_streams(self) -> None:
        """Create (or update) the event stream and the dead-letter stream, file-backed (waits for the answer)."""
        self._streams_ready = False
        self.call(self.ready())

    async def ready(self) -> JetStreamContext:
        """The JetStream context once the streams exist (created on first use; retried after a failure)."""
        js = await self._connect()
        if not self._streams_ready:
            await self._ensure(self.stream, self._replicas, self._duplicate_window)
            self._streams_ready = True
        return js

    async def _ensure(self, stream: str, replicas: int, duplicate_window: float) -> None:
        js = await self._connect()
        for name, subjects in ((stream, ["orderloom.>"]), (f"{stream}_DEAD", [f"{DEAD_LETTER_PREFIX}.>"])):
            config = StreamConfig(
                name=name,
                subjects=subjects,
                storage=StorageType.FILE,
                num_replicas=replicas,
                duplicate_window=duplicate_window,
            )
            try:
                await js.stream_info(name)
                await js.update_stream(config)
            except NotFoundError:
                await js.add_stream(config)

    def close(self) -> None:
        """Drain the connection and stop the loop thread."""
        if self._nc is not None and not self._nc.is_closed:
            try:
                self.call(self._nc.drain(), timeout=self._timeout)
            except Exception as exc:  # closing must not raise; the server may already be gone
                log.warning("nats_close_failed", error=str(exc))
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        if not self._loop.is_running():
            self._loop.close()


@dataclass
class JetStreamPublisher:
    """The relay's publisher: waits for the stream's ack of every message (``Nats-Msg-Id`` = event id)."""

    link: NatsLink

    def publish(self, message: OutboxMessage) -> None:
        """Publish one event and wait for the ack."""
        accepted = self.publish_many([message])
        if not accepted:
            raise ConnectionError(f"JetStream did not accept event {message.event_id}")

    def publish_many(self, messages: Sequence[OutboxMessage]) -> list[str]:
        """Publish a batch concurrently; returns the ids the stream acknowledged (duplicates count as accepted)."""
        if not messages:
            return []
        return self.link.call(self._publish_all(messages))

    async def _publish_all(self, messages: Sequence[OutboxMessage]) -> list[str]:
        js = await self.link.ready()
        results = await asyncio.gather(
            *(
                js.publish(
                    subject_for(m),
                    msgspec.json.encode(m.cloudevent),
                    timeout=self.link.timeout,
                    headers={"Nats-Msg-Id": m.event_id},
                )
                for m in messages
            ),
            return_exceptions=True,
        )
        accepted = [m.event_id for m, r in zip(messages, results, strict=True) if not isinstance(r, BaseException)]
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            log.warning("nats_publish_failed", failed=len(errors), batch=len(messages), error=str(errors[0]))
        return accepted


class JetStreamConsumer:
    """A durable pull consumer that hands each event to the message bus and acks after its handlers ran."""

    def __init__(
        self,
        *,
        link: NatsLink,
        bus: MessageBus,
        durable: str,
        stream: str = "ORDERLOOM",
        filter_subject: str = "orderloom.>",
        max_deliver: int = 8,
        backoff_base: float = 1.0,
        ack_wait: float = 30.0,
    ) -> None:
        self._link = link
        self._bus = bus
        self._durable = durable
        self._stream = stream
        self._filter = filter_subject
        self._max_deliver = max_deliver
        self._backoff_base = backoff_base
        self._ack_wait = ack_wait
        self._sub: JetStreamContext.PullSubscription | None = None

    async def _subscription(self) -> JetStreamContext.PullSubscription:
        if self._sub is None:
            js = await self._link.ready()
            config = ConsumerConfig(
                durable_name=self._durable,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                max_deliver=self._max_deliver,
                ack_wait=self._ack_wait,
                filter_subject=self._filter,
            )
            self._sub = await js.pull_subscribe(self._filter, durable=self._durable, stream=self._stream, config=config)
        return self._sub

    def run_once(self, *, batch: int = 256, wait: float = 1.0) -> int:
        """Fetch up to ``batch`` messages (waiting up to ``wait`` s) and process them; returns how many were acked."""
        return self._link.call(self._fetch_and_process(batch, wait), timeout=wait + self._link.timeout * 3)

    async def _fetch_and_process(self, batch: int, wait: float) -> int:
        sub = await self._subscription()
        try:
            msgs = await sub.fetch(batch, timeout=wait)
        except nats.errors.TimeoutError:
            return 0
        decoded: list[tuple[Msg, OutboxMessage]] = []
        for msg in msgs:
            message = await self._decode(msg)
            if message is not None:
                decoded.append((msg, message))
        if not decoded:
            return 0
        # the whole fetch goes through the bus as one batch: one ledger query and one transaction per handler
        results = await asyncio.to_thread(self._bus.dispatch_many, [m for _, m in decoded])
        acked = 0
        for (msg, _), ok in zip(decoded, results, strict=True):
            acked += await self._settle(msg, ok)
        return acked

    async def _decode(self, msg: Msg) -> OutboxMessage | None:
        """The message as a CloudEvent, or None after dead-lettering what is not one."""
        try:
            event: dict[str, Any] = msgspec.json.decode(msg.data)
            return OutboxMessage(
                seq=msg.metadata.sequence.stream,
                event_id=str(event["id"]),
                tenant_id=_tenant_of(event),
                type=str(event["type"]),
                cloudevent=event,
            )
        except (msgspec.DecodeError, KeyError, TypeError) as exc:
            await self._dead_letter(msg, f"not a CloudEvent: {exc}")
            return None

    async def _settle(self, msg: Msg, ok: bool) -> int:
        """Ack a handled message; nak a failed one with backoff, or dead-letter it after its last delivery."""
        delivered = msg.metadata.num_delivered
        if delivered > 1:
            REDELIVERIES.labels(consumer=self._durable).inc()
        if ok:
            await msg.ack()
            CONSUMED.labels(consumer=self._durable).inc()
            return 1
        if delivered >= self._max_deliver:
            await self._dead_letter(msg, f"handlers failed {delivered} times")
            return 0
        await msg.nak(delay=backoff_seconds(delivered, base=self._backoff_base))
        return 0

    async def _dead_letter(self, msg: Msg, reason: str) -> None:
        js = await self._link.jetstream()
        headers = {"Orderloom-Reason": reason[:200], "Orderloom-Subject": msg.subject}
        if msg.headers and "Nats-Msg-Id" in msg.headers:
            headers["Nats-Msg-Id"] = msg.headers["Nats-Msg-Id"]
        await js.publish(f"{DEAD_LETTER_PREFIX}.{self._durable}", msg.data, headers=headers)
        await msg.term()
        DEAD_LETTERS.labels(consumer=self._durable).inc()
        log.error("event_dead_lettered", consumer=self._durable, subject=msg.subject, reason=reason)

    def pending(self) -> int:
        """Messages not yet delivered to this consumer plus those awaiting ack."""
        return self._link.call(self._pending())

    async def _pending(self) -> int:
        sub = await self._subscription()
        info = await sub.consumer_info()
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)
