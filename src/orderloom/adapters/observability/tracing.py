"""OpenTelemetry traces across API → outbox → consumer.

The API's server span (FastAPI's own instrumentation) is the parent; the unit of work that writes the outbox runs in
the request's context (the group-commit writer carries it across threads), so each CloudEvent gets the W3C
``traceparent`` (CloudEvents distributed-tracing extension); the consumer starts a CONSUMER span under it for the
handlers. Off unless ``ORDERLOOM_TRACING=true``; spans go to OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set and the
``otel`` extra is installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

__all__ = ["event_scope", "inject_trace", "make_tracer_provider", "tracing_enabled"]

_ENABLED = False
_TRACER_NAME = "orderloom"


def tracing_enabled() -> bool:
    """True once a tracer provider was installed by the composition root."""
    return _ENABLED


def make_tracer_provider(exporter: Any | None = None) -> Any:
    """Install an SDK tracer provider (with the given exporter, or OTLP when configured) and turn propagation on."""
    global _ENABLED  # noqa: PLW0603 - one process-wide switch, set once by the composition root
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise RuntimeError("ORDERLOOM_TRACING needs the OpenTelemetry SDK: pip install 'orderloom[otel]'") from exc
    provider = TracerProvider(resource=Resource.create({"service.name": "orderloom"}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _ENABLED = True
    return provider


def inject_trace(cloudevent: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Add the current span's ``traceparent`` (and ``tracestate``) to a CloudEvent, when tracing is on."""
    if _ENABLED:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        for key in ("traceparent", "tracestate"):
            if key in carrier:
                cloudevent[key] = carrier[key]
    return cloudevent


@contextmanager
def event_scope(cloudevent: Mapping[str, Any]) -> Iterator[None]:
    """Run an event's handlers in a CONSUMER span continuing the trace that produced the event."""
    if not _ENABLED:
        yield
        return
    parent = propagate.extract({k: str(cloudevent[k]) for k in ("traceparent", "tracestate") if k in cloudevent})
    tracer = trace.get_tracer(_TRACER_NAME)
    with tracer.start_as_current_span(
        f"process {cloudevent.get('type', 'event')}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.message.id": str(cloudevent.get("id", "")),
            "cloudevents.event_type": str(cloudevent.get("type", "")),
        },
    ):
        yield
