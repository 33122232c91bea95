"""The sampler's HTTP routes: thin edges that decode, call a handler and encode."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import yaml
from aiokafka.errors import KafkaError
from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, status
from fastapi.responses import JSONResponse

from services.sampler import handlers, repository
from services.sampler.deps import (
    ActivationDelay,
    AppSettings,
    DeployedTopics,
    IngestProducer,
    Keeper,
    MetricsClient,
    Now,
    PlanReader,
    PlanWriter,
    Sessions,
    SystemCaller,
)
from services.sampler.domain.plan import InvalidPlan
from services.sampler.schemas import (
    YAML_TYPES,
    ApplyRequest,
    DecisionBatch,
    DryRunReport,
    FieldError,
    IngestResult,
    PlanRefused,
    PlanSummary,
    PlanVersionView,
    PlanView,
    StoredVersion,
    VersionSummary,
    read_document,
)
from services.sampler.views import dry_run_report, plan_view, revision_view, version_view
from shared.events import Label
from shared.http import INT4_MAX, ErrorOut

router = APIRouter(prefix="/v1")

PLAN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            **{kind: {"schema": {"type": "object"}} for kind in YAML_TYPES[:1]},
        },
        "description": "a sampling plan document, JSON or YAML (see docs/contracts.md)",
    }
}
REFUSED: dict[int | str, dict[str, Any]] = {
    422: {"model": PlanRefused, "description": "the plan is invalid; errors name fields"}
}


@router.post(
    "/decisions",
    response_model=IngestResult,
    responses={
        422: {
            "model": IngestResult | ErrorOut,
            "description": "some decisions were refused, or the body is not a batch",
        }
    },
)
async def post_decisions(
    batch: DecisionBatch,
    _: SystemCaller,
    producer: IngestProducer,
    topics: DeployedTopics,
    traceparent: Annotated[
        str | None, Header(description="W3C trace context the decisions continue")
    ] = None,
) -> JSONResponse:
    """Accept up to 1,000 decisions; answer once the valid ones are acknowledged by Kafka.
    Each decision gets a trace of its own unless the request carries a `traceparent`."""
    try:
        result = await handlers.ingest_decisions(
            items=batch.decisions, producer=producer, topics=topics, traceparent=traceparent
        )
    except KafkaError as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"Kafka did not acknowledge the batch ({type(error).__name__}); resend it, "
            "duplicates are harmless",
        ) from error
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if result.rejected else status.HTTP_200_OK
    return JSONResponse(result.model_dump(), status_code=code)


def _refused(error: InvalidPlan) -> JSONResponse:
    body = PlanRefused(
        detail=f"invalid plan: {error}",
        errors=[FieldError(field=where, message=what) for where, what in error.errors],
    )
    return JSONResponse(body.model_dump(), status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _document(request: Request) -> object:
    try:
        return read_document(await request.body(), request.headers.get("content-type"))
    except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"the body is not valid JSON or YAML: {error}"[:500]
        ) from error


@router.get("/sampling-plans", response_model=list[PlanSummary])
async def list_plans(_: PlanReader, sessions: Sessions) -> list[PlanSummary]:
    """Every stored plan with its newest version."""
    async with sessions() as session:
        rows = await repository.list_plans(session)
    return [PlanSummary.model_validate(row, from_attributes=True) for row in rows]


@router.get("/sampling-plans/current", response_model=PlanView)
async def current_plan(_: PlanReader, keeper: Keeper, clock: Now) -> PlanView:
    """The plan revision in force now (the settings' uniform plan until one is applied)."""
    return plan_view(keeper.schedule.current(clock.now().timestamp()))


@router.put(
    "/sampling-plans/current",
    response_model=PlanView,
    status_code=status.HTTP_202_ACCEPTED,
    responses={404: {"description": "no such plan version"}},
)
async def apply_plan(
    body: ApplyRequest,
    lead: PlanWriter,
    sessions: Sessions,
    keeper: Keeper,
    metrics: MetricsClient,
    clock: Now,
    delay: ActivationDelay,
) -> PlanView:
    """Apply a stored version: it takes effect at `effective_from` (a few seconds from now)."""
    try:
        revision = await handlers.apply_plan(
            sessions=sessions,
            keeper=keeper,
            fetch_errors=metrics.fetch_or_none,
            plan_id=body.plan_id,
            version=body.version,
            author=lead.subject,
            now=clock.now,
            delay=delay,
        )
    except handlers.PlanNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    except handlers.SlowCommit as error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error)) from error
    return plan_view(revision)


@router.get("/sampling-plans/revisions", response_model=list[PlanView])
async def revisions(
    _: PlanReader, sessions: Sessions, limit: Annotated[int, Query(ge=1, le=1000)] = 50
) -> list[PlanView]:
    """The newest plan revisions (applications, budget re-pacing, re-allocation)."""
    async with sessions() as session:
        rows = await repository.recent_revisions(session, limit)
    return [revision_view(row) for row in rows]


@router.post(
    "/sampling-plans/dry-run",
    response_model=DryRunReport,
    openapi_extra=PLAN_BODY,
    responses=REFUSED,
)
async def dry_run(
    request: Request,
    _: PlanReader,
    sessions: Sessions,
    keeper: Keeper,
    metrics: MetricsClient,
    clock: Now,
    plan_id: Annotated[Label, Query()] = "proposed",
    days: Annotated[int, Query(ge=1, le=28, description="days of recent traffic")] = 7,
    horizon_days: Annotated[int, Query(ge=1, le=365, description="interval period")] = 28,
) -> DryRunReport | JSONResponse:
    """Expected tasks per day and interval half-widths per stratum, current vs proposed."""
    document = await _document(request)
    try:
        report, current, proposed = await handlers.dry_run_plan(
            sessions=sessions,
            keeper=keeper,
            fetch_errors=metrics.fetch_or_none,
            document=document,
            plan_id=plan_id,
            now=clock.now(),
            days=days,
            horizon_days=horizon_days,
        )
    except InvalidPlan as error:
        return _refused(error)
    return dry_run_report(report, current, proposed, days=days)


@router.post("/sampling-plans/replan", response_model=PlanView | None)
async def replan(
    _: PlanWriter,
    sessions: Sessions,
    keeper: Keeper,
    metrics: MetricsClient,
    clock: Now,
    delay: ActivationDelay,
    settings: AppSettings,
) -> PlanView | None:
    """Re-pace budgets and re-allocate now; the new revision, or null when nothing changed."""
    revision = await handlers.replan_now(
        sessions=sessions,
        keeper=keeper,
        fetch_errors=metrics.fetch_or_none,
        now=clock.now,
        delay=delay,
        allocation_every=dt.timedelta(hours=settings.sampler_allocation_hours),
        force_allocation=True,
    )
    return plan_view(revision) if revision is not None else None


@router.get("/sampling-plans/{plan_id}", response_model=list[VersionSummary])
async def plan_versions(plan_id: Label, _: PlanReader, sessions: Sessions) -> list[VersionSummary]:
    """A plan's versions, newest first."""
    async with sessions() as session:
        rows = await repository.list_versions(session, plan_id)
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no plan {plan_id}")
    return [VersionSummary.model_validate(row, from_attributes=True) for row in rows]


@router.put(
    "/sampling-plans/{plan_id}",
    response_model=StoredVersion,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=PLAN_BODY,
    responses={**REFUSED, 200: {"model": StoredVersion, "description": "unchanged"}},
)
async def put_plan(
    plan_id: Label, request: Request, lead: PlanWriter, sessions: Sessions, clock: Now
) -> JSONResponse:
    """Validate and store a plan document as the plan's next version (not yet applied)."""
    document = await _document(request)
    try:
        version, created = await handlers.store_plan(
            sessions=sessions,
            plan_id=plan_id,
            document=document,
            author=lead.subject,
            now=clock.now(),
        )
    except InvalidPlan as error:
        return _refused(error)
    except handlers.PlanConflict as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    body = StoredVersion(plan_id=plan_id, version=version, created=created)
    code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return JSONResponse(body.model_dump(), status_code=code)


@router.get("/sampling-plans/{plan_id}/versions/{version}", response_model=PlanVersionView)
async def show_version(
    plan_id: Label,
    version: Annotated[int, Path(ge=1, le=INT4_MAX)],
    _: PlanReader,
    sessions: Sessions,
) -> PlanVersionView:
    """One stored version of a plan."""
    async with sessions() as session:
        row = await repository.plan_version(session, plan_id, version)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"plan {plan_id} has no version {version}")
    return version_view(row)
