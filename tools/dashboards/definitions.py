"""The dashboards ops watch: pipeline health, auditor operations, quality, escalations."""

from __future__ import annotations

from grafanalib.core import Dashboard

from tools.dashboards.panels import Query, dashboard, market_variable, series, stat


def pipeline() -> Dashboard:
    return dashboard(
        "modqa-pipeline",
        "modqa / pipeline health",
        "Does the stream flow: intake, sampling, consumer lag, dead letters, outbox, HTTP.",
        [
            stat(
                "Decisions seen /s",
                Query("sum(rate(modqa_sampler_decisions_seen_total[1m]))"),
                unit="ops",
            ),
            stat(
                "Tasks emitted /s",
                Query("sum(rate(modqa_sampler_tasks_emitted_total[1m]))"),
                unit="ops",
            ),
            stat("Consumer lag (all)", Query("sum(modqa:consumer_lag_messages:sum)")),
            stat("Dead letters /s", Query("sum(modqa:dlq_messages:rate5m)"), unit="ops"),
            series(
                "Decisions seen by market /s",
                [
                    Query(
                        "sum by (market) (rate(modqa_sampler_decisions_seen_total[1m]))",
                        "{{market}}",
                    )
                ],
                unit="ops",
            ),
            series(
                "Tasks emitted by reason /s",
                [
                    Query(
                        "sum by (reason) (rate(modqa_sampler_tasks_emitted_total[1m]))",
                        "{{reason}}",
                    )
                ],
                unit="ops",
            ),
            series(
                "Consumed /s by service and topic",
                [Query("modqa:consumed_messages:rate1m", "{{job}} {{topic}}")],
                unit="ops",
            ),
            series(
                "Consumer lag by service and topic",
                [Query("modqa:consumer_lag_messages:sum", "{{job}} {{topic}}")],
            ),
            series(
                "Dead letters /s by service and topic",
                [Query("modqa:dlq_messages:rate5m", "{{job}} {{topic}}")],
                unit="ops",
            ),
            series(
                "Batch processing p95",
                [Query("modqa:batch_processing_seconds:p95", "{{job}}")],
                unit="s",
            ),
            series("Outbox backlog", [Query("modqa:outbox_backlog_messages:max", "{{job}}")]),
            series(
                "HTTP requests /s by service and status",
                [Query("modqa:http_requests:rate1m", "{{job}} {{status}}")],
                unit="reqps",
            ),
            series(
                "HTTP p99 latency by service",
                [Query("modqa:http_request_duration_seconds:p99", "{{job}}")],
                unit="s",
                width=24,
            ),
        ],
    )


def quality() -> Dashboard:
    band = 'market=~"$market", queue="all", policy_id="all"'
    return dashboard(
        "modqa-quality",
        "modqa / quality",
        "Design-weighted accuracy (last 7 days) with its 95% interval; over- and "
        "under-enforcement; drift signals. Per-moderator figures are in the API and reports.",
        [
            series(
                "Accuracy by market, with 95% interval",
                [
                    Query(f"modqa_metrics_accuracy_ratio{{{band}}}", "{{market}}"),
                    Query(f"modqa_metrics_accuracy_low_ratio{{{band}}}", "{{market}} low"),
                    Query(f"modqa_metrics_accuracy_high_ratio{{{band}}}", "{{market}} high"),
                ],
                unit="percentunit",
                width=24,
                min_zero=False,
            ),
            series(
                "Accuracy by queue",
                [
                    Query(
                        'modqa_metrics_accuracy_ratio{market=~"$market", queue!="all"}',
                        "{{market}} {{queue}}",
                    )
                ],
                unit="percentunit",
                min_zero=False,
            ),
            series(
                "Accuracy by policy",
                [
                    Query(
                        'modqa_metrics_accuracy_ratio{market=~"$market", policy_id!="all"}',
                        "{{market}} {{policy_id}}",
                    )
                ],
                unit="percentunit",
                min_zero=False,
            ),
            series(
                "Over-enforcement by market",
                [Query(f"modqa_metrics_over_enforcement_ratio{{{band}}}", "{{market}}")],
                unit="percentunit",
            ),
            series(
                "Under-enforcement (missed violations) by market",
                [Query(f"modqa_metrics_under_enforcement_ratio{{{band}}}", "{{market}}")],
                unit="percentunit",
            ),
            series(
                "Judged decisions, last 7 days",
                [Query(f"modqa_metrics_judged_decisions{{{band}}}", "{{market}}")],
            ),
            series(
                "Drift signals /h by scope",
                [
                    Query(
                        "sum by (scope) (increase(modqa_metrics_drift_signals_total[1h]))",
                        "{{scope}}",
                    )
                ],
            ),
        ],
        variables=[market_variable()],
    )


def all_dashboards() -> dict[str, Dashboard]:
    """File name to dashboard."""
    return {"pipeline.json": pipeline(), "quality.json": quality()}
