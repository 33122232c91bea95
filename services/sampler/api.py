"""The sampler's HTTP routes: thin edges that decode, call a handler and encode."""

from __future__ import annotations

from aiokafka.errors import KafkaError
from fastapi import APIRouter, HTTPException, status
from fastapi.responses import JSONResponse

from services.sampler import handlers
from services.sampler.deps import (
    CurrentPlan,
    DeployedTopics,
    IngestProducer,
    PlanReader,
    SystemCaller,
)
from services.sampler.schemas import DecisionBatch, IngestResult, PlanView

router = APIRouter(prefix="/v1")


@router.post(
    "/decisions",
    response_model=IngestResult,
    responses={422: {"model": IngestResult, "description": "some decisions were refused"}},
)
async def post_decisions(
    batch: DecisionBatch, _: SystemCaller, producer: IngestProducer, topics: DeployedTopics
) -> JSONResponse:
    """Accept up to 1,000 decisions; answer once the valid ones are acknowledged by Kafka."""
    try:
        result = await handlers.ingest_decisions(
            items=batch.decisions, producer=producer, topics=topics
        )
    except KafkaError as error:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"Kafka did not acknowledge the batch ({type(error).__name__}); resend it, "
            "duplicates are harmless",
        ) from error
    code = status.HTTP_422_UNPROCESSABLE_CONTENT if result.rejected else status.HTTP_200_OK
    return JSONResponse(result.model_dump(), status_code=code)


@router.get("/sampling-plans/current", response_model=PlanView)
async def current_plan(plan: CurrentPlan, _: PlanReader) -> PlanView:
    """The plan in force."""
    return PlanView(plan_id=plan.plan_id, version=plan.version, rate=plan.rate)
