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


def auditors() -> Dashboard:
    return dashboard(
        "modqa-auditors",
        "modqa / auditor operations",
        "Do auditors keep up: backlog, throughput, handle time and lease expiries per pool.",
        [
            series(
                "Tasks waiting per pool (pending and expired leases)",
                [Query("modqa:audit_backlog_tasks:by_pool", "{{pool}}")],
            ),
            series(
                "Audit queue by status",
                [
                    Query(
                        "sum by (status) (max by (pool, status) (modqa_audit_queue_tasks))",
                        "{{status}}",
                    )
                ],
            ),
            series(
                "Verdicts recorded per pool /min",
                [
                    Query(
                        "sum by (pool) (rate(modqa_audit_verdicts_recorded_total[5m])) * 60",
                        "{{pool}}",
                    ),
                    Query("sum(rate(modqa_audit_tasks_claimed_total[5m])) * 60", "claimed (all)"),
                ],
            ),
            series(
                "Handle time per pool (claim to verdict, median and p90)",
                [
                    Query("modqa:audit_handle_time_seconds:p50", "{{pool}} p50"),
                    Query(
                        "histogram_quantile(0.9, sum by (pool, le) "
                        "(rate(modqa_audit_handle_time_seconds_bucket[15m])))",
                        "{{pool}} p90",
                    ),
                ],
                unit="s",
            ),
            series(
                "Leases ended without a verdict per pool /h",
                [
                    Query(
                        "sum by (pool, reason) (increase(modqa_audit_leases_ended_total[1h]))",
                        "{{pool}} {{reason}}",
                    )
                ],
            ),
            series(
                "Disputes waiting for an SME",
                [Query("sum by (overdue) (modqa_audit_open_disputes)", "overdue={{overdue}}")],
            ),
        ],
    )


def escalations() -> Dashboard:
    return dashboard(
        "modqa-escalations",
        "modqa / escalations and SLAs",
        "Cases by kind and severity, time waiting for acknowledgement, SLA breaches, "
        "corrections sent upstream and webhooks.",
        [
            series(
                "Open cases by kind and severity",
                [
                    Query(
                        "sum by (kind, severity) (modqa_escalation_open_cases)",
                        "{{severity}} {{kind}}",
                    )
                ],
            ),
            series(
                "Oldest unacknowledged case by severity",
                [
                    Query(
                        "max by (severity) (modqa_escalation_unacknowledged_oldest_seconds)",
                        "{{severity}}",
                    )
                ],
                unit="s",
            ),
            series(
                "SLA breaches /h",
                [
                    Query(
                        "sum by (kind, phase) (increase(modqa_escalation_sla_breaches_total[1h]))",
                        "{{kind}} {{phase}}",
                    )
                ],
            ),
            series(
                "Time to acknowledge and resolve (p90)",
                [
                    Query(
                        "histogram_quantile(0.9, sum by (le) "
                        "(rate(modqa_escalation_time_to_acknowledge_seconds_bucket[1h])))",
                        "acknowledge",
                    ),
                    Query(
                        "histogram_quantile(0.9, sum by (le) "
                        "(rate(modqa_escalation_time_to_resolve_seconds_bucket[1h])))",
                        "resolve",
                    ),
                ],
                unit="s",
            ),
            series(
                "Corrections sent upstream /min",
                [
                    Query(
                        "sum by (kind) (rate(modqa_escalation_corrections_issued_total[5m])) * 60",
                        "{{kind}}",
                    )
                ],
            ),
            series(
                "Correction latency, verdict to correction published",
                [
                    Query(
                        "histogram_quantile(0.5, sum by (le) "
                        "(rate(modqa_escalation_correction_latency_seconds_bucket[5m])))",
                        "p50",
                    ),
                    Query(
                        "histogram_quantile(0.95, sum by (le) "
                        "(rate(modqa_escalation_correction_latency_seconds_bucket[5m])))",
                        "p95",
                    ),
                ],
                unit="s",
            ),
            series(
                "Webhook deliveries waiting or parked",
                [Query("sum by (status) (modqa_escalation_webhook_deliveries)", "{{status}}")],
            ),
            series(
                "Webhook attempts /min by result",
                [
                    Query(
                        "sum by (result) (rate(modqa_escalation_webhook_attempts_total[5m])) * 60",
                        "{{result}}",
                    )
                ],
            ),
        ],
    )


def all_dashboards() -> dict[str, Dashboard]:
    """File name to dashboard."""
    return {
        "pipeline.json": pipeline(),
        "auditors.json": auditors(),
        "quality.json": quality(),
        "escalations.json": escalations(),
    }
