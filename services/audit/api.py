"""The audit service's HTTP routes: thin edges that decode, call a handler and encode."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Response, status

from services.audit import handlers
from services.audit.deps import AppSettings, Auditor, DeployedTopics, Now, PolicyTaxonomy, Sessions
from services.audit.domain import InvalidVerdict, Submission
from services.audit.metrics import TASKS_CLAIMED, VERDICTS_RECORDED
from services.audit.schemas import ClaimedTask, VerdictIn, VerdictOut
from services.audit.views import claimed_task

router = APIRouter(prefix="/v1")


@router.post(
    "/tasks/claim",
    response_model=ClaimedTask,
    responses={204: {"description": "no task for you right now"}},
)
async def claim(
    auditor: Auditor, sessions: Sessions, clock: Now, settings: AppSettings
) -> ClaimedTask | Response:
    """Lease the caller's best next task (204 when there is none)."""
    row = await handlers.claim_next_task(
        sessions=sessions,
        auditor_id=auditor.subject,
        now=clock.now(),
        lease=dt.timedelta(seconds=settings.lease_seconds),
    )
    if row is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    TASKS_CLAIMED.inc()
    return claimed_task(row)


@router.post("/tasks/{task_id}/verdict", response_model=VerdictOut)
async def submit_verdict(
    task_id: str,
    body: VerdictIn,
    auditor: Auditor,
    sessions: Sessions,
    taxonomy: PolicyTaxonomy,
    topics: DeployedTopics,
    clock: Now,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> VerdictOut:
    """Record a verdict once; a retry with the same Idempotency-Key returns the first result."""
    try:
        verdict = await handlers.submit_verdict(
            sessions=sessions,
            taxonomy=taxonomy,
            topics=topics,
            task_id=task_id,
            auditor_id=auditor.subject,
            submission=Submission(**body.model_dump()),
            idempotency_key=idempotency_key,
            now=clock.now(),
        )
    except handlers.TaskNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    except handlers.NotLeasedToCaller as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except InvalidVerdict as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
    VERDICTS_RECORDED.labels(verdict.outcome.value).inc()
    return VerdictOut.model_validate(verdict.model_dump())
