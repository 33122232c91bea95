"""Who may call what: one row per endpoint of every service, with the roles it admits.

This table is the specification the access-control tests hold the services to. It is written
out by hand (first read from each route's `require(...)`, then checked against
docs/contracts.md); the tests never derive it from the code, so a route whose roles change, or
a new route without a row, fails the suite until someone decides and writes the row.
"""

from __future__ import annotations

from shared.auth import Role

SY, A, L, S, P, OP = Role.SYSTEM, Role.AUDITOR, Role.LEAD, Role.SME, Role.POLICY, Role.OPS
EVERY_ROLE = frozenset(Role)

Row = tuple[str, str]
"""(method, path template), as the service's OpenAPI document names the operation."""

SAMPLER: dict[Row, frozenset[Role]] = {
    ("POST", "/v1/decisions"): frozenset({SY}),
    ("GET", "/v1/sampling-plans"): frozenset({L, S, OP, SY}),
    ("GET", "/v1/sampling-plans/current"): frozenset({L, S, OP, SY}),
    ("PUT", "/v1/sampling-plans/current"): frozenset({L}),
    ("GET", "/v1/sampling-plans/revisions"): frozenset({L, S, OP, SY}),
    ("POST", "/v1/sampling-plans/dry-run"): frozenset({L, S, OP, SY}),
    ("POST", "/v1/sampling-plans/replan"): frozenset({L}),
    ("GET", "/v1/sampling-plans/{plan_id}"): frozenset({L, S, OP, SY}),
    ("PUT", "/v1/sampling-plans/{plan_id}"): frozenset({L}),
    ("GET", "/v1/sampling-plans/{plan_id}/versions/{version}"): frozenset({L, S, OP, SY}),
}

AUDIT: dict[Row, frozenset[Role]] = {
    ("POST", "/v1/tasks/claim"): frozenset({A}),
    ("GET", "/v1/tasks/mine"): frozenset({A}),
    ("GET", "/v1/tasks"): frozenset({L, S}),
    ("GET", "/v1/tasks/{task_id}"): frozenset({A, L, S}),
    ("PATCH", "/v1/tasks/{task_id}"): frozenset({L}),
    ("POST", "/v1/tasks/{task_id}/lease/extend"): frozenset({A}),
    ("POST", "/v1/tasks/{task_id}/release"): frozenset({A}),
    ("POST", "/v1/tasks/{task_id}/verdict"): frozenset({A}),
    ("GET", "/v1/tasks/{task_id}/verdicts"): frozenset({A, L, S}),
    ("POST", "/v1/tasks/{task_id}/adjudication"): frozenset({S}),
    ("POST", "/v1/tasks/{task_id}/cancel"): frozenset({L}),
    ("PUT", "/v1/auditors/{auditor_id}"): frozenset({L}),
    ("GET", "/v1/auditors"): frozenset({L, S}),
    ("GET", "/v1/auditors/{auditor_id}"): frozenset({L, S}),
    ("GET", "/v1/auditors/{auditor_id}/stats"): frozenset({L, S}),
    ("GET", "/v1/me"): frozenset({A}),
    ("GET", "/v1/me/stats"): frozenset({A}),
    ("GET", "/v1/policies"): EVERY_ROLE,
    ("PUT", "/v1/policies/{policy_id}"): frozenset({P, L}),
    ("GET", "/v1/scorecards"): frozenset({A, L, S}),
    ("GET", "/v1/scorecards/{scorecard_id}"): frozenset({A, L, S}),
    ("PUT", "/v1/scorecards/{scorecard_id}"): frozenset({L}),
    ("POST", "/v1/gold"): frozenset({L}),
    ("GET", "/v1/gold"): frozenset({L}),
    ("GET", "/v1/verdicts"): frozenset({L, S}),
    ("GET", "/v1/verdicts/export.csv"): frozenset({L}),
    ("GET", "/v1/verdicts/{verdict_id}"): frozenset({SY, L, S}),
    ("POST", "/v1/verdicts/{verdict_id}/disputes"): frozenset({SY, L}),
    ("GET", "/v1/disputes"): frozenset({SY, L, S}),
    ("GET", "/v1/disputes/{dispute_id}"): frozenset({SY, L, S}),
    ("POST", "/v1/disputes/{dispute_id}/arbitration"): frozenset({S}),
    ("GET", "/v1/audit-log"): frozenset({L}),
}

ESCALATION: dict[Row, frozenset[Role]] = {
    ("GET", "/v1/escalations"): frozenset({L, S, OP, P}),
    ("GET", "/v1/escalations/{escalation_id}"): frozenset({L, S, OP, P}),
    ("POST", "/v1/escalations/{escalation_id}/actions"): frozenset({L, S}),
    ("POST", "/v1/rules"): frozenset({L}),
    ("GET", "/v1/rules"): frozenset({L, S, OP, P}),
    ("POST", "/v1/rules/validate"): frozenset({L}),
    ("GET", "/v1/rules/active"): frozenset({L, S, OP, P}),
    ("GET", "/v1/rules/{version}"): frozenset({L, S, OP, P}),
    ("POST", "/v1/rules/{version}/apply"): frozenset({L}),
    ("GET", "/v1/webhooks/deliveries"): frozenset({L, OP}),
    ("GET", "/v1/webhooks/deliveries/{delivery_id}"): frozenset({L, OP}),
    ("POST", "/v1/webhooks/deliveries/{delivery_id}/replay"): frozenset({L, OP}),
    ("GET", "/v1/webhooks"): frozenset({L, OP}),
    ("POST", "/v1/webhooks"): frozenset({L, OP}),
    ("GET", "/v1/webhooks/{subscription_id}"): frozenset({L, OP}),
    ("PATCH", "/v1/webhooks/{subscription_id}"): frozenset({L, OP}),
    ("DELETE", "/v1/webhooks/{subscription_id}"): frozenset({L, OP}),
}

METRICS: dict[Row, frozenset[Role]] = {
    ("GET", "/v1/quality"): frozenset({L, S, P, OP}),
    ("GET", "/v1/agreement"): frozenset({L, S, P, OP}),
    ("GET", "/v1/drift"): frozenset({L, S, P, OP}),
    ("GET", "/v1/policy-impact"): frozenset({L, S, P, OP}),
    ("GET", "/v1/strata/error-rates"): frozenset({SY, L, OP}),
    ("GET", "/v1/reports/daily"): frozenset({L, S, P, OP}),
    ("GET", "/v1/reports/weekly"): frozenset({L, S, P, OP}),
    ("GET", "/v1/reports/dsa"): frozenset({L, S, P, OP}),
}

ACCESS: dict[str, dict[Row, frozenset[Role]]] = {
    "sampler": SAMPLER,
    "audit": AUDIT,
    "escalation": ESCALATION,
    "metrics": METRICS,
}
"""Per service, every authenticated operation and the roles it admits."""

PUBLIC: frozenset[Row] = frozenset({("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics")})
"""The only operations every service answers without a token."""
