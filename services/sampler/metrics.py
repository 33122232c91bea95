"""The sampler's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter

DECISIONS_SEEN = Counter(
    "modqa_sampler_decisions_seen_total", "Decisions consumed and sampled", ["market"]
)
TASKS_EMITTED = Counter(
    "modqa_sampler_tasks_emitted_total", "Audit tasks emitted", ["reason", "stratum"]
)
DECISIONS_INGESTED = Counter(
    "modqa_sampler_decisions_ingested_total", "Decisions accepted over HTTP", ["outcome"]
)
