"""The sampler's Prometheus metrics (consumer lag, dead letters and batch time come from the
shared consumer runtime as `modqa_sampler_consumer_lag_messages`, `modqa_sampler_dlq_messages_total`
and `modqa_sampler_batch_processing_seconds`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

DECISIONS_SEEN = Counter("modqa_sampler_decisions_seen_total", "Decisions consumed and sampled")
TASKS_EMITTED = Counter(
    "modqa_sampler_tasks_emitted_total", "Audit tasks emitted", ["reason", "stratum"]
)
DUPLICATES = Counter(
    "modqa_sampler_duplicate_decisions_total", "Repeated decision ids that gave no second task"
)
DECISIONS_INGESTED = Counter(
    "modqa_sampler_decisions_ingested_total", "Decisions accepted over HTTP", ["outcome"]
)
POOL_BUDGET = Gauge(
    "modqa_sampler_pool_budget_tasks", "Daily task budget of an auditor pool", ["pool"]
)
POOL_BUDGET_USE = Gauge(
    "modqa_sampler_pool_budget_use_ratio",
    "Tasks emitted today over the budget share of the day elapsed (1 = on pace)",
    ["pool"],
)
POOL_SCALE = Gauge(
    "modqa_sampler_pool_scale_ratio", "Factor the budget applies to a pool's design rates", ["pool"]
)
PLAN_IN_FORCE = Gauge(
    "modqa_sampler_plan_version_info", "The plan version in force (value 1)", ["plan_id", "version"]
)
SCHEDULE_AGE = Gauge(
    "modqa_sampler_schedule_age_seconds", "Seconds since plans and targeting were last reloaded"
)
STATE_MODERATORS = Gauge(
    "modqa_sampler_state_moderators", "Moderator entries held in the sampler's state"
)
REVISIONS = Counter("modqa_sampler_plan_revisions_total", "Plan revisions stored", ["reason"])
ERROR_RATE_FETCHES = Counter(
    "modqa_sampler_error_rate_fetches_total", "Error-rate requests to metrics", ["outcome"]
)
TARGETING_RULES = Counter(
    "modqa_sampler_targeting_states_total", "Targeting rule states received and stored"
)
