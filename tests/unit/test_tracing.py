"""Trace context: one trace id from ingest to the last hop, and in every log line on the way."""

from __future__ import annotations

import json
import logging

from shared.observability.logging import JsonFormatter
from shared.observability.tracing import (
    configure_tracing,
    kafka_headers,
    new_traceparent,
    span,
    trace_id_of,
    traceparent_of,
)


def test_each_hop_keeps_the_trace_and_gets_a_new_span() -> None:
    configure_tracing("test")
    root = new_traceparent()
    with span("sample", root) as task_context, span("store", task_context) as verdict_context:
        pass
    assert trace_id_of(root) == trace_id_of(task_context) == trace_id_of(verdict_context)
    assert len({root, task_context, verdict_context}) == 3


def test_headers_round_trip_and_missing_context_starts_a_trace() -> None:
    root = new_traceparent()
    assert traceparent_of(kafka_headers(root)) == root
    assert traceparent_of([("other", b"x")]) is None
    with span("orphan", None) as started:
        assert trace_id_of(started) is not None


def test_log_lines_inside_a_span_carry_its_ids() -> None:
    configure_tracing("test")
    root = new_traceparent()
    record = logging.makeLogRecord({"msg": "verdict recorded", "levelname": "INFO"})
    with span("verdict", root):
        line = json.loads(JsonFormatter("audit").format(record))
    assert line["trace_id"] == trace_id_of(root)
    assert line["service"] == "audit"
