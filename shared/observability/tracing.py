"""Trace context across Kafka: W3C `traceparent` headers, spans from OpenTelemetry.

One decision is one trace: the HTTP ingest (or the upstream producer) starts it, and every
hop that turns an event into another (decision -> task -> verdict -> case / correction)
opens a child span whose context travels in the next record's headers. Log lines written
inside a span carry its `trace_id` and `span_id` (see shared.observability.logging).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT = "traceparent"
_propagator = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None


def configure_tracing(service: str) -> None:
    """Install the service's tracer provider (once per process; spans are not exported unless
    an exporter is added, the ids still propagate and reach the logs)."""
    global _provider
    if _provider is None:
        _provider = TracerProvider(resource=Resource.create({"service.name": f"modqa-{service}"}))
        trace.set_tracer_provider(_provider)


def _tracer() -> trace.Tracer:
    return trace.get_tracer("modqa")


def new_traceparent() -> str:
    """A fresh trace for something that arrived without one (sampled flag set)."""
    trace_id = random.getrandbits(128) or 1
    span_id = random.getrandbits(64) or 1
    return f"00-{trace_id:032x}-{span_id:016x}-01"


def child_of(traceparent: str | None) -> str:
    """A new span id in the same trace (a fresh trace when there is none to continue)."""
    trace_id = trace_id_of(traceparent)
    if trace_id is None:
        return new_traceparent()
    return f"00-{trace_id}-{random.getrandbits(64) or 1:016x}-01"


def traceparent_of(headers: Sequence[tuple[str, bytes]] | None) -> str | None:
    """The `traceparent` value among Kafka headers, if any."""
    for key, value in headers or ():
        if key == TRACEPARENT:
            return bytes(value).decode("ascii", "replace")
    return None


def trace_id_of(traceparent: str | None) -> str | None:
    """The 32-hex-digit trace id of a traceparent value."""
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


@contextmanager
def span(name: str, parent: str | None, **attributes: str) -> Iterator[str]:
    """A child span of `parent` (a traceparent value); yields the traceparent to pass on."""
    context = _propagator.extract({TRACEPARENT: parent}) if parent else None
    with _tracer().start_as_current_span(name, context=context, attributes=attributes):
        carrier: dict[str, str] = {}
        _propagator.inject(carrier)
        yield carrier.get(TRACEPARENT) or parent or new_traceparent()


def kafka_headers(traceparent: str | None) -> list[tuple[str, bytes]]:
    """Kafka headers carrying a trace context."""
    return [(TRACEPARENT, traceparent.encode())] if traceparent else []


def current_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) of the current span, for log lines."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"
