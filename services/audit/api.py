"""The work queue over HTTP: claim, lease, verdict, adjudication, and leads' task controls.

Thin edges: decode, call a handler, encode. Refusals are the handlers' exceptions, mapped to
HTTP statuses once in `app.py`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from services.audit import handlers, handlers_admin, handlers_verdicts, queries, views
from services.audit.deps import (
    Auditor,
    AuditorOrStaff,
    AuditService,
    DeployedTopics,
    Lead,
    LeaseTime,
    Now,
    References,
    Sessions,
    Sme,
    Staff,
    is_staff,
)
from services.audit.domain.verdicts import Submission
from services.audit.metrics import LEASES_ENDED, TASKS_CLAIMED
from services.audit.schemas import (
    AdjudicationIn,
    AuditorVerdictOut,
    CancelIn,
    ClaimedTask,
    LabelIn,
    LeaseOut,
    TaskOut,
    TaskPatch,
    VerdictIn,
    VerdictOut,
)

router = APIRouter(prefix="/v1", tags=["tasks"])


def submission(label: LabelIn) -> Submission:
    """The domain form of a label."""
    return Submission(**label.model_dump(exclude={"scorecard"}))


@router.post(
    "/tasks/claim",
    response_model=ClaimedTask,
    responses={204: {"description": "no task for you right now"}},
)
async def claim(auditor: Auditor, service: AuditService) -> ClaimedTask | Response:
    """Lease the caller's best next task (204 when there is none)."""
    claimed = await handlers.claim_next_task(
        sessions=service.sessions,
        catalog=service.catalog,
        auditor_id=auditor.subject,
        now=service.clock.now(),
        lease=service.lease,
    )
    if claimed is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    TASKS_CLAIMED.labels(claimed.task.pool).inc()
    return views.claimed_task(
        claimed.task, lease_expires_at=claimed.lease_expires_at, scorecard=claimed.scorecard
    )


@router.get("/tasks/mine", response_model=list[ClaimedTask])
async def my_tasks(auditor: Auditor, sessions: Sessions, catalog: References) -> list[ClaimedTask]:
    """The tasks leased to the caller now (to pick up where they left off)."""
    held = await queries.my_tasks(sessions=sessions, catalog=catalog, auditor_id=auditor.subject)
    return [
        views.claimed_task(row, lease_expires_at=row.lease_expires_at, scorecard=scorecard)
        for row, scorecard in held
    ]


@router.get("/tasks", response_model=list[TaskOut])
async def list_tasks(
    staff: Staff,
    sessions: Sessions,
    task_status: Annotated[str | None, Query(alias="status")] = None,
    purpose: str | None = None,
    queue: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[TaskOut]:
    """Tasks by status (e.g. `adjudicating`), purpose and queue, the most urgent first."""
    rows = await queries.list_tasks(
        sessions=sessions, status=task_status, purpose=purpose, queue=queue, limit=limit
    )
    return [views.task_out(row) for row in rows]


@router.get("/tasks/{task_id}", response_model=ClaimedTask | TaskOut)
async def get_task(
    task_id: str, caller: AuditorOrStaff, sessions: Sessions
) -> ClaimedTask | TaskOut:
    """A task: auditors see one leased to them (as when claimed); leads and SMEs see any."""
    view = await queries.task_for(
        sessions=sessions, task_id=task_id, caller=caller.subject, staff=is_staff(caller)
    )
    if is_staff(caller):
        return views.task_out(view.task)
    assert view.lease is not None
    return views.claimed_task(
        view.task, lease_expires_at=view.lease.expires_at, scorecard=view.scorecard
    )


@router.post("/tasks/{task_id}/lease/extend", response_model=LeaseOut)
async def extend_lease(
    task_id: str, auditor: Auditor, sessions: Sessions, clock: Now, lease: LeaseTime
) -> LeaseOut:
    """Keep a leased task for another full lease time."""
    expires_at = await handlers.extend_lease(
        sessions=sessions, task_id=task_id, auditor_id=auditor.subject, now=clock.now(), lease=lease
    )
    return LeaseOut(task_id=task_id, lease_expires_at=expires_at)


@router.post("/tasks/{task_id}/release", status_code=status.HTTP_204_NO_CONTENT)
async def release(task_id: str, auditor: Auditor, sessions: Sessions, clock: Now) -> None:
    """Hand a leased task back to the pool; it will not be offered to you again."""
    pool = await handlers.release_task(
        sessions=sessions, task_id=task_id, auditor_id=auditor.subject, now=clock.now()
    )
    LEASES_ENDED.labels(pool, "released").inc()


@router.post("/tasks/{task_id}/verdict", response_model=AuditorVerdictOut)
async def submit_verdict(
    task_id: str,
    body: VerdictIn,
    auditor: Auditor,
    service: AuditService,
    idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
) -> AuditorVerdictOut:
    """Record a verdict once; a retry with the same Idempotency-Key returns the first result."""
    verdict = await handlers_verdicts.submit_verdict(
        sessions=service.sessions,
        catalog=service.catalog,
        topics=service.topics,
        task_id=task_id,
        auditor_id=auditor.subject,
        submission=submission(body),
        scorecard_answers=body.scorecard,
        idempotency_key=idempotency_key,
        now=service.clock.now(),
    )
    return views.auditor_verdict(verdict)


@router.get("/tasks/{task_id}/verdicts", response_model=list[AuditorVerdictOut] | list[VerdictOut])
async def task_verdicts(
    task_id: str, caller: AuditorOrStaff, sessions: Sessions
) -> list[AuditorVerdictOut] | list[VerdictOut]:
    """Verdicts on a task: an auditor sees their own, and the other reviewers' only once the
    calibration round has closed; leads and SMEs see all."""
    staff = is_staff(caller)
    rows = await queries.task_verdicts(
        sessions=sessions, task_id=task_id, caller=caller.subject, staff=staff
    )
    if staff:
        return [views.staff_verdict(row) for row in rows]
    return [views.auditor_verdict(views.event_of(row)) for row in rows]


@router.post("/tasks/{task_id}/adjudication", response_model=VerdictOut)
async def adjudicate(
    task_id: str,
    body: AdjudicationIn,
    sme: Sme,
    sessions: Sessions,
    catalog: References,
    topics: DeployedTopics,
    clock: Now,
) -> VerdictOut:
    """The SME's label for a calibration round that disagreed; it closes the round."""
    verdict = await handlers_verdicts.adjudicate(
        sessions=sessions,
        catalog=catalog,
        topics=topics,
        task_id=task_id,
        sme_id=sme.subject,
        submission=submission(body),
        now=clock.now(),
    )
    return views.staff_verdict_of(verdict)


@router.patch("/tasks/{task_id}", response_model=TaskOut)
async def update_task(
    task_id: str, body: TaskPatch, lead: Lead, sessions: Sessions, clock: Now
) -> TaskOut:
    """Change an open task's priority, due time, or (before anyone saw it) blindness."""
    row = await handlers_admin.update_task(
        sessions=sessions,
        task_id=task_id,
        changes=body.model_dump(exclude_none=True),
        by=lead.subject,
        now=clock.now(),
    )
    return views.task_out(row)


@router.post("/tasks/{task_id}/cancel", status_code=status.HTTP_204_NO_CONTENT)
async def cancel_task(
    task_id: str, body: CancelIn, lead: Lead, sessions: Sessions, clock: Now
) -> None:
    """Withdraw an open task from the queues."""
    await handlers_admin.cancel_task(
        sessions=sessions, task_id=task_id, reason=body.reason, by=lead.subject, now=clock.now()
    )
