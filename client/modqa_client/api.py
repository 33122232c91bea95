"""The calls of the modqa HTTP APIs, as data: which service, which path, how to read the answer.

Each builder returns a `Call`; `ModqaClient.call` (sync) or `AsyncModqaClient.call` (async)
performs it. Answers are parsed into the typed models of `modqa_client.models`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter

from modqa_client import models
from modqa_client.transport import Call

M = TypeVar("M", bound=BaseModel)
YAML = "application/yaml"


def _json(response: httpx.Response) -> Any:
    return response.json()


def _text(response: httpx.Response) -> str:
    return response.text


def _none(response: httpx.Response) -> None:
    return None


def _one(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: model.model_validate(response.json())


def _optional(model: type[M]) -> Callable[[httpx.Response], M | None]:
    return lambda response: (
        None if response.status_code == 204 else model.model_validate(response.json())
    )


def _many(model: type[M]) -> Callable[[httpx.Response], list[M]]:
    adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
    return lambda response: list(adapter.validate_python(response.json()))


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _id(value: str) -> str:
    return quote(value, safe="")


# --- sampler ------------------------------------------------------------------------------


def ingest_decisions(decisions: list[dict[str, Any]], key: str | None = None) -> Call[Any]:
    """Send up to 1,000 decisions; the answer lists the refused ones (HTTP 422 when any)."""
    return Call(
        "POST",
        "sampler",
        "/v1/decisions",
        _json,
        json={"decisions": decisions},
        write=True,
        idempotency_key=key,
        answers=frozenset({422}),
    )


def current_plan() -> Call[models.Plan]:
    """The sampling plan revision in force."""
    return Call("GET", "sampler", "/v1/sampling-plans/current", _one(models.Plan))


def plan_revisions(limit: int = 20) -> Call[list[models.Plan]]:
    """The newest plan revisions (applications, budget re-pacing, re-allocation)."""
    return Call(
        "GET",
        "sampler",
        "/v1/sampling-plans/revisions",
        _many(models.Plan),
        params={"limit": limit},
    )


def plans() -> Call[list[models.PlanSummary]]:
    """Every stored plan with its newest version."""
    return Call("GET", "sampler", "/v1/sampling-plans", _many(models.PlanSummary))


def plan_versions(plan_id: str) -> Call[list[models.PlanVersionSummary]]:
    """A plan's versions, newest first."""
    return Call(
        "GET", "sampler", f"/v1/sampling-plans/{_id(plan_id)}", _many(models.PlanVersionSummary)
    )


def plan_version(plan_id: str, version: int) -> Call[models.PlanVersion]:
    """One stored version of a plan, with its document."""
    return Call(
        "GET",
        "sampler",
        f"/v1/sampling-plans/{_id(plan_id)}/versions/{version}",
        _one(models.PlanVersion),
    )


def _document(document: bytes, yaml: bool) -> dict[str, str]:
    return {"Content-Type": YAML if yaml else "application/json"}


def dry_run(
    document: bytes, *, yaml: bool, plan_id: str, days: int = 7, horizon_days: int = 28
) -> Call[models.DryRun]:
    """The forecast of a proposed plan (JSON or YAML text) against the plan in force."""
    return Call(
        "POST",
        "sampler",
        "/v1/sampling-plans/dry-run",
        _one(models.DryRun),
        params={"plan_id": plan_id, "days": days, "horizon_days": horizon_days},
        content=document,
        headers=_document(document, yaml),
    )


def store_plan(document: bytes, *, yaml: bool, plan_id: str) -> Call[models.StoredPlan]:
    """Store a plan document as the plan's next version (an unchanged one keeps its version)."""
    return Call(
        "PUT",
        "sampler",
        f"/v1/sampling-plans/{_id(plan_id)}",
        _one(models.StoredPlan),
        content=document,
        headers=_document(document, yaml),
        write=True,
    )


def apply_plan(plan_id: str, version: int) -> Call[models.Plan]:
    """Put a stored plan version in force (it takes effect a few seconds later)."""
    return Call(
        "PUT",
        "sampler",
        "/v1/sampling-plans/current",
        _one(models.Plan),
        json={"plan_id": plan_id, "version": version},
        write=True,
    )


# --- audit: the auditor's work --------------------------------------------------------------


def claim_task() -> Call[models.Task | None]:
    """Lease the caller's best next task; None when there is none for them now."""
    return Call("POST", "audit", "/v1/tasks/claim", _optional(models.Task), write=True)


def my_tasks() -> Call[list[models.Task]]:
    """The tasks leased to the caller now."""
    return Call("GET", "audit", "/v1/tasks/mine", _many(models.Task))


def task(task_id: str) -> Call[models.Task]:
    """A task leased to the calling auditor."""
    return Call("GET", "audit", f"/v1/tasks/{_id(task_id)}", _one(models.Task))


def task_summary(task_id: str) -> Call[models.TaskSummary]:
    """A task as leads and SMEs see it (status, reviews done, reference label)."""
    return Call("GET", "audit", f"/v1/tasks/{_id(task_id)}", _one(models.TaskSummary))


def tasks(
    *,
    status: str | None = None,
    purpose: str | None = None,
    queue: str | None = None,
    limit: int = 100,
) -> Call[list[models.TaskSummary]]:
    """Tasks by status, purpose and queue, the most urgent first (leads, SMEs)."""
    params = _clean({"status": status, "purpose": purpose, "queue": queue, "limit": limit})
    return Call("GET", "audit", "/v1/tasks", _many(models.TaskSummary), params=params)


def release_task(task_id: str) -> Call[None]:
    """Hand a leased task back to the pool (it is not offered to the caller again)."""
    return Call("POST", "audit", f"/v1/tasks/{_id(task_id)}/release", _none, write=True)


def extend_lease(task_id: str) -> Call[models.Lease]:
    """Keep a leased task for another full lease time."""
    return Call(
        "POST", "audit", f"/v1/tasks/{_id(task_id)}/lease/extend", _one(models.Lease), write=True
    )


def submit_verdict(task_id: str, verdict: dict[str, Any], key: str) -> Call[models.Verdict]:
    """Record a verdict once: a retry with the same key returns the first result."""
    return Call(
        "POST",
        "audit",
        f"/v1/tasks/{_id(task_id)}/verdict",
        _one(models.Verdict),
        json=verdict,
        write=True,
        idempotency_key=key,
    )


def task_verdicts(task_id: str) -> Call[list[models.Verdict]]:
    """Verdicts on a task (an auditor: their own, the others' once the round closed)."""
    return Call("GET", "audit", f"/v1/tasks/{_id(task_id)}/verdicts", _many(models.Verdict))


def policies() -> Call[list[models.PolicyEntry]]:
    """The policy taxonomy: policies, versions with effective dates and allowed actions."""
    return Call("GET", "audit", "/v1/policies", _many(models.PolicyEntry))


def me() -> Call[models.Auditor]:
    """The caller's registry record (languages, markets, policy areas)."""
    return Call("GET", "audit", "/v1/me", _one(models.Auditor))


def my_stats() -> Call[models.Stats]:
    """The caller's throughput, gold accuracy, calibration agreement and disputes."""
    return Call("GET", "audit", "/v1/me/stats", _one(models.Stats))


def verdicts(
    *, limit: int = 100, cursor: str | None = None, **filters: Any
) -> Call[models.VerdictPage]:
    """Verdicts by auditor, moderator, queue, market, policy, outcome... newest first (staff)."""
    params = _clean({**filters, "limit": limit, "cursor": cursor})
    return Call("GET", "audit", "/v1/verdicts", _one(models.VerdictPage), params=params)


def verdict(verdict_id: str) -> Call[models.Verdict]:
    """One verdict (system, leads, SMEs)."""
    return Call("GET", "audit", f"/v1/verdicts/{_id(verdict_id)}", _one(models.Verdict))


# --- audit: disputes and calibration ----------------------------------------------------------


def raise_dispute(
    verdict_id: str, reason: str, on_behalf_of: str | None = None
) -> Call[models.Dispute]:
    """Dispute a final verdict: a team lead in their own name, or the moderation tool for the
    moderator who took the decision."""
    return Call(
        "POST",
        "audit",
        f"/v1/verdicts/{_id(verdict_id)}/disputes",
        _one(models.Dispute),
        json=_clean({"reason": reason, "on_behalf_of": on_behalf_of}),
        write=True,
    )


def disputes(statuses: list[str] | None = None, limit: int = 100) -> Call[list[models.Dispute]]:
    """Disputes (open ones by default), the soonest due first."""
    params: dict[str, Any] = {"limit": limit}
    if statuses:
        params["status"] = statuses
    return Call("GET", "audit", "/v1/disputes", _many(models.Dispute), params=params)


def dispute(dispute_id: str) -> Call[models.Dispute]:
    return Call("GET", "audit", f"/v1/disputes/{_id(dispute_id)}", _one(models.Dispute))


def arbitrate(
    dispute_id: str, ruling: str, note: str, label: dict[str, Any] | None = None
) -> Call[models.Arbitration]:
    """The SME's final word: uphold, or overturn with the correct label (an amended verdict)."""
    return Call(
        "POST",
        "audit",
        f"/v1/disputes/{_id(dispute_id)}/arbitration",
        _one(models.Arbitration),
        json=_clean({"ruling": ruling, "note": note, "label": label}),
        write=True,
    )


def adjudicate(task_id: str, label: dict[str, Any]) -> Call[models.Verdict]:
    """The SME's label for a calibration round that disagreed; it closes the round."""
    return Call(
        "POST",
        "audit",
        f"/v1/tasks/{_id(task_id)}/adjudication",
        _one(models.Verdict),
        json=label,
        write=True,
    )


# --- escalation -------------------------------------------------------------------------------


def escalations(
    *, limit: int = 100, cursor: str | None = None, **filters: Any
) -> Call[models.CasePage]:
    """Cases the caller may see, newest first, filtered (kind, status, severity, market...)."""
    params = _clean({**filters, "limit": limit, "cursor": cursor})
    return Call("GET", "escalation", "/v1/escalations", _one(models.CasePage), params=params)


def escalation(escalation_id: str) -> Call[models.CaseDetail]:
    """One case with its history."""
    return Call(
        "GET", "escalation", f"/v1/escalations/{_id(escalation_id)}", _one(models.CaseDetail)
    )


def act_on_escalation(escalation_id: str, action: str, **fields: Any) -> Call[models.Case]:
    """acknowledge, investigate, resolve, dismiss, assign, set_root_cause or note."""
    return Call(
        "POST",
        "escalation",
        f"/v1/escalations/{_id(escalation_id)}/actions",
        _one(models.Case),
        json=_clean({"action": action, **fields}),
        write=True,
    )


# --- metrics ----------------------------------------------------------------------------------


def quality(**params: Any) -> Call[Any]:
    """Accuracy and error rates per group, with intervals."""
    return Call("GET", "metrics", "/v1/quality", _json, params=_clean(params))


def agreement(**params: Any) -> Call[models.Agreement]:
    """Cohen's and Fleiss' kappa, and each auditor's agreement with the reference and on gold."""
    return Call("GET", "metrics", "/v1/agreement", _one(models.Agreement), params=_clean(params))


def report(kind: str, fmt: str = "json", **params: Any) -> Call[Any]:
    """A daily, weekly or DSA report as JSON, CSV or Markdown."""
    parse = _json if fmt == "json" else _text
    return Call(
        "GET", "metrics", f"/v1/reports/{kind}", parse, params=_clean({**params, "format": fmt})
    )
