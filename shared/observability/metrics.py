"""Prometheus helpers: metric names follow `modqa_<service>_<thing>_<unit>`."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.registry import REGISTRY

disable_created_metrics()  # type: ignore[no-untyped-call]  # `_created` series double the exposition and nobody graphs them


def metric_name(service: str, thing: str) -> str:
    """The full metric name for a service's measurement, e.g. `modqa_audit_tasks_total`."""
    return f"modqa_{service}_{thing}"


@dataclass(frozen=True)
class ConsumerMetrics:
    consumed: Counter
    dead_lettered: Counter
    batch_seconds: Histogram
    lag: Gauge


@functools.cache
def consumer_metrics(service: str) -> ConsumerMetrics:
    """The consumer metrics of a service (registered once per process)."""
    return ConsumerMetrics(
        consumed=Counter(
            metric_name(service, "consumed_messages_total"), "Records consumed", ["topic"]
        ),
        dead_lettered=Counter(
            metric_name(service, "dlq_messages_total"),
            "Records sent to a dead-letter topic",
            ["topic"],
        ),
        batch_seconds=Histogram(
            metric_name(service, "batch_processing_seconds"),
            "Time to process and commit one consumed batch",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        ),
        lag=Gauge(
            metric_name(service, "consumer_lag_messages"),
            "Records behind the high watermark, per partition",
            ["topic", "partition"],
        ),
    )


@dataclass(frozen=True)
class HttpMetrics:
    requests: Counter
    latency: Histogram


@functools.cache
def http_metrics(service: str) -> HttpMetrics:
    """HTTP request counters and latency histogram of a service, labelled by route template."""
    return HttpMetrics(
        requests=Counter(
            metric_name(service, "http_requests_total"),
            "HTTP requests served",
            ["method", "route", "status"],
        ),
        latency=Histogram(
            metric_name(service, "http_request_duration_seconds"),
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        ),
    )


@dataclass(frozen=True)
class OutboxMetrics:
    published: Counter
    backlog: Gauge


@functools.cache
def outbox_metrics(service: str) -> OutboxMetrics:
    """Outbox relay metrics of a service."""
    return OutboxMetrics(
        published=Counter(
            metric_name(service, "outbox_published_total"), "Outbox rows published", ["topic"]
        ),
        backlog=Gauge(
            metric_name(service, "outbox_backlog_messages"), "Outbox rows not yet published"
        ),
    )


def render_latest() -> tuple[bytes, str]:
    """The exposition text of every metric in this process, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
