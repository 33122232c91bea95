"""What leads and the policy team manage over HTTP: auditors, policies, scorecards, gold items;
and what auditors read about themselves."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from services.audit import handlers_admin, queries, queries_stats, views
from services.audit.deps import (
    AnyRole,
    Auditor,
    AuditorOrStaff,
    Lead,
    Now,
    PolicyEditor,
    References,
    Sessions,
    Staff,
)
from services.audit.domain.scoring import Rubric
from services.audit.errors import Conflict
from services.audit.schemas import (
    AuditorIn,
    AuditorOut,
    GoldItemOut,
    GoldUploadIn,
    GoldUploadOut,
    PolicyOut,
    ScorecardOut,
    StatsOut,
)
from shared.events import Identifier
from shared.http import INT4_MAX
from shared.taxonomy import Policy

router = APIRouter(prefix="/v1")

GOLD_DUE = dt.timedelta(days=7)


@router.put("/auditors/{auditor_id}", response_model=AuditorOut, tags=["auditors"])
async def put_auditor(
    auditor_id: Identifier, body: AuditorIn, lead: Lead, sessions: Sessions, clock: Now
) -> AuditorOut:
    """Register a person (auditor, SME, lead) with their languages, markets and policy areas,
    or replace their record; `active: false` takes them out of the queues."""
    row = await handlers_admin.upsert_auditor(
        sessions=sessions,
        auditor_id=auditor_id,
        fields=body.model_dump(),
        by=lead.subject,
        now=clock.now(),
    )
    return views.auditor_out(row)


@router.get("/auditors", response_model=list[AuditorOut], tags=["auditors"])
async def list_auditors(
    staff: Staff, sessions: Sessions, active: bool | None = None
) -> list[AuditorOut]:
    """The registry."""
    return [
        views.auditor_out(r) for r in await queries.list_auditors(sessions=sessions, active=active)
    ]


@router.get("/auditors/{auditor_id}", response_model=AuditorOut, tags=["auditors"])
async def get_auditor(auditor_id: str, staff: Staff, sessions: Sessions) -> AuditorOut:
    """One registry record."""
    return views.auditor_out(await queries.get_auditor(sessions=sessions, auditor_id=auditor_id))


@router.get("/auditors/{auditor_id}/stats", response_model=StatsOut, tags=["auditors"])
async def auditor_stats(auditor_id: str, staff: Staff, sessions: Sessions, clock: Now) -> StatsOut:
    """An auditor's throughput, gold accuracy, calibration agreement and disputes."""
    stats = await queries_stats.auditor_stats(
        sessions=sessions, auditor_id=auditor_id, now=clock.now()
    )
    return views.stats_out(stats)


@router.get("/me", response_model=AuditorOut, tags=["me"])
async def me(auditor: Auditor, sessions: Sessions) -> AuditorOut:
    """The caller's own registry record."""
    return views.auditor_out(
        await queries.get_auditor(sessions=sessions, auditor_id=auditor.subject)
    )


@router.get("/me/stats", response_model=StatsOut, tags=["me"])
async def my_stats(auditor: Auditor, sessions: Sessions, clock: Now) -> StatsOut:
    """The caller's own throughput, gold accuracy, calibration agreement and disputes."""
    stats = await queries_stats.auditor_stats(
        sessions=sessions, auditor_id=auditor.subject, now=clock.now()
    )
    return views.stats_out(stats)


@router.get("/policies", response_model=list[PolicyOut], tags=["policies"])
async def list_policies(caller: AnyRole, sessions: Sessions) -> list[PolicyOut]:
    """The policy taxonomy: policies, severities, versions with effective dates, actions."""
    return [views.policy_out(row) for row in await queries.policies(sessions=sessions)]


@router.put("/policies/{policy_id}", response_model=PolicyOut, tags=["policies"])
async def put_policy(
    policy_id: str,
    body: Policy,
    editor: PolicyEditor,
    sessions: Sessions,
    catalog: References,
    clock: Now,
) -> PolicyOut:
    """Create or edit a policy; published versions cannot change, new versions can be added."""
    if body.id != policy_id:
        raise Conflict(f"id: the body names '{body.id}' but the path '{policy_id}'")
    row = await handlers_admin.put_policy(
        sessions=sessions, catalog=catalog, policy=body, by=editor.subject, now=clock.now()
    )
    return views.policy_out(row)


@router.get("/scorecards", response_model=list[ScorecardOut], tags=["scorecards"])
async def list_scorecards(
    caller: AuditorOrStaff, sessions: Sessions, queue: str | None = None
) -> list[ScorecardOut]:
    """The newest version of every scorecard (of one queue when asked)."""
    found = await queries.scorecards(sessions=sessions, queue=queue)
    return [card for card in map(views.scorecard_out, found) if card is not None]


@router.get("/scorecards/{scorecard_id}", response_model=ScorecardOut, tags=["scorecards"])
async def get_scorecard(
    scorecard_id: str,
    caller: AuditorOrStaff,
    sessions: Sessions,
    version: Annotated[int | None, Query(ge=1, le=INT4_MAX)] = None,
) -> ScorecardOut:
    """A scorecard version (the newest by default)."""
    found = await queries.scorecard(sessions=sessions, scorecard_id=scorecard_id, version=version)
    card = views.scorecard_out(found)
    assert card is not None
    return card


@router.put("/scorecards/{scorecard_id}", response_model=ScorecardOut, tags=["scorecards"])
async def put_scorecard(
    scorecard_id: Identifier, body: Rubric, lead: Lead, sessions: Sessions, clock: Now
) -> ScorecardOut:
    """Publish a new version of a queue's scorecard; verdicts keep the version they used."""
    scorecard = await handlers_admin.put_scorecard(
        sessions=sessions, scorecard_id=scorecard_id, rubric=body, by=lead.subject, now=clock.now()
    )
    card = views.scorecard_out(scorecard)
    assert card is not None
    return card


@router.post("/gold", response_model=GoldUploadOut, tags=["gold"])
async def upload_gold(
    body: GoldUploadIn, lead: Lead, sessions: Sessions, catalog: References, clock: Now
) -> GoldUploadOut:
    """Mix gold items (decisions with a known correct label) into the queues."""
    now = clock.now()
    items = [
        handlers_admin.GoldItem(
            decision=item.decision,
            expected_action=item.expected_action,
            expected_policy_id=item.expected_policy_id,
            reviews=item.reviews,
            priority=item.priority,
            blind=item.blind,
            due_at=item.due_at or now + GOLD_DUE,
        )
        for item in body.items
    ]
    task_ids = await handlers_admin.upload_gold(
        sessions=sessions, catalog=catalog, items=items, by=lead.subject, now=now
    )
    return GoldUploadOut(task_ids=task_ids)


@router.get("/gold", response_model=list[GoldItemOut], tags=["gold"])
async def list_gold(
    lead: Lead, sessions: Sessions, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[GoldItemOut]:
    """Gold items and how often auditors matched their answer."""
    found = await queries_stats.gold_items(sessions=sessions, limit=limit)
    return [views.gold_item_out(row, accuracy) for row, accuracy in found]
