"""Verdicts, disputes and the audit log over HTTP: listing, export, disputes and arbitration."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from services.audit import handlers_disputes, queries, views
from services.audit.api import submission
from services.audit.deps import (
    AppSettings,
    Challenger,
    DeployedTopics,
    DisputeReader,
    Lead,
    Now,
    References,
    Sessions,
    Sme,
    Staff,
)
from services.audit.domain.disputes import Challenger as Caller
from services.audit.metrics import DISPUTES
from services.audit.queries import LogFilter, VerdictFilter
from services.audit.schemas import (
    ArbitrationIn,
    ArbitrationOut,
    DisputeIn,
    DisputeOut,
    LogPage,
    VerdictOut,
    VerdictPage,
)
from shared.auth import Role
from shared.events import DisputeStatus, Outcome, VerdictPurpose
from shared.http import INT8_MAX

router = APIRouter(prefix="/v1")


def verdict_filter(
    auditor_id: str | None = None,
    moderator_id: str | None = None,
    queue: str | None = None,
    market: str | None = None,
    policy_id: str | None = None,
    outcome: Outcome | None = None,
    purpose: VerdictPurpose | None = None,
    final: bool | None = None,
    task_id: str | None = None,
    decision_id: str | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> VerdictFilter:
    """The verdict filters shared by the listing and the export (query parameters)."""
    return VerdictFilter(
        auditor_id=auditor_id,
        moderator_id=moderator_id,
        queue=queue,
        market=market,
        policy_id=policy_id,
        outcome=outcome.value if outcome else None,
        purpose=purpose.value if purpose else None,
        final=final,
        task_id=task_id,
        decision_id=decision_id,
        since=since,
        until=until,
    )


Filters = Annotated[VerdictFilter, Depends(verdict_filter)]


@router.get("/verdicts", response_model=VerdictPage, tags=["verdicts"])
async def list_verdicts(
    staff: Staff,
    sessions: Sessions,
    where: Filters,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> VerdictPage:
    """Verdicts by auditor, moderator, queue, market, policy, outcome, purpose and submission
    time (`since` inclusive, `until` exclusive), newest first, a page at a time."""
    rows, next_cursor = await queries.list_verdicts(
        sessions=sessions, where=where, limit=limit, cursor=cursor
    )
    return VerdictPage(items=[views.staff_verdict(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/verdicts/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
    tags=["verdicts"],
)
async def export_verdicts(lead: Lead, sessions: Sessions, where: Filters) -> StreamingResponse:
    """Every matching verdict as CSV, oldest first (same filters as the listing)."""

    async def lines() -> AsyncIterator[str]:
        yield views.csv_lines([], header=True)
        batch = []
        async for row in queries.stream_verdicts(sessions=sessions, where=where):
            batch.append(row)
            if len(batch) >= 500:
                yield views.csv_lines(batch, header=False)
                batch = []
        if batch:
            yield views.csv_lines(batch, header=False)

    return StreamingResponse(
        lines(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="verdicts.csv"'},
    )


@router.get("/verdicts/{verdict_id}", response_model=VerdictOut, tags=["verdicts"])
async def get_verdict(verdict_id: str, caller: DisputeReader, sessions: Sessions) -> VerdictOut:
    """One verdict (the moderation tool reads it before disputing)."""
    return views.staff_verdict(await queries.get_verdict(sessions=sessions, verdict_id=verdict_id))


@router.post(
    "/verdicts/{verdict_id}/disputes",
    response_model=DisputeOut,
    status_code=status.HTTP_201_CREATED,
    tags=["disputes"],
)
async def raise_dispute(
    verdict_id: str,
    body: DisputeIn,
    challenger: Challenger,
    sessions: Sessions,
    topics: DeployedTopics,
    settings: AppSettings,
    clock: Now,
) -> DisputeOut:
    """Dispute a final verdict: the moderation tool for the moderator who took the decision
    (`on_behalf_of`), or a registered lead of the moderator's team."""
    dispute = await handlers_disputes.raise_dispute(
        sessions=sessions,
        topics=topics,
        verdict_id=verdict_id,
        challenger=Caller(
            subject=challenger.subject,
            as_system=challenger.has(Role.SYSTEM),
            as_lead=challenger.has(Role.LEAD),
            led_teams=frozenset(),
        ),
        on_behalf_of=body.on_behalf_of,
        reason=body.reason,
        sla=dt.timedelta(hours=settings.dispute_sla_hours),
        now=clock.now(),
    )
    DISPUTES.labels(dispute.status.value).inc()
    return views.dispute_out(dispute)


@router.get("/disputes", response_model=list[DisputeOut], tags=["disputes"])
async def list_disputes(
    caller: DisputeReader,
    sessions: Sessions,
    dispute_status: Annotated[list[DisputeStatus] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DisputeOut]:
    """Disputes (open ones by default), the soonest due first."""
    statuses = [s.value for s in dispute_status or [DisputeStatus.OPEN]]
    rows = await queries.list_disputes(sessions=sessions, statuses=statuses, limit=limit)
    return [views.dispute_out(handlers_disputes.dispute_event(row)) for row in rows]


@router.get("/disputes/{dispute_id}", response_model=DisputeOut, tags=["disputes"])
async def get_dispute(dispute_id: str, caller: DisputeReader, sessions: Sessions) -> DisputeOut:
    """One dispute."""
    row = await queries.get_dispute(sessions=sessions, dispute_id=dispute_id)
    return views.dispute_out(handlers_disputes.dispute_event(row))


@router.post("/disputes/{dispute_id}/arbitration", response_model=ArbitrationOut, tags=["disputes"])
async def arbitrate(
    dispute_id: str,
    body: ArbitrationIn,
    sme: Sme,
    sessions: Sessions,
    catalog: References,
    topics: DeployedTopics,
    clock: Now,
) -> ArbitrationOut:
    """The SME's final word: uphold the verdict, or overturn it with the correct label (an
    amended verdict supersedes the disputed one)."""
    result = await handlers_disputes.arbitrate(
        sessions=sessions,
        catalog=catalog,
        topics=topics,
        dispute_id=dispute_id,
        sme_id=sme.subject,
        ruling=body.ruling,
        note=body.note,
        label=submission(body.label) if body.label else None,
        scorecard_answers=body.scorecard,
        now=clock.now(),
    )
    DISPUTES.labels(result.dispute.status.value).inc()
    return ArbitrationOut(
        dispute=views.dispute_out(result.dispute),
        amended_verdict=views.staff_verdict_of(result.amended) if result.amended else None,
    )


@router.get("/audit-log", response_model=LogPage, tags=["audit log"])
async def audit_log(
    lead: Lead,
    sessions: Sessions,
    actor: str | None = None,
    action: str | None = None,
    subject_id: str | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    after_id: Annotated[int | None, Query(ge=0, le=INT8_MAX)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> LogPage:
    """The append-only record of every state change, oldest first, a page at a time."""
    rows = await queries.read_log(
        sessions=sessions,
        where=LogFilter(
            actor=actor, action=action, subject_id=subject_id, since=since, until=until
        ),
        after_id=after_id,
        limit=limit,
    )
    items = [views.log_entry(row) for row in rows]
    return LogPage(items=items, next_after_id=items[-1].id if len(items) == limit else None)
