"""Case routes: list with filters and pagination, show with history, act on a case."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from services.escalation import case_handlers
from services.escalation.deps import CaseActor, CaseReader, DeployedTopics, Now, Sessions
from services.escalation.domain import cases as lifecycle
from services.escalation.repository.cases import CaseFilter
from services.escalation.schemas import CaseActionIn, CaseDetailOut, CasePage, HistoryEntryOut
from shared.events import CasePriority, CaseStatus, Escalation, EscalationKind

router = APIRouter(tags=["escalations"])

Text = Annotated[str | None, Query(max_length=256)]


def _encode_cursor(case: Escalation) -> str:
    opened = (case.opened_at or case.updated_at).isoformat()
    return base64.urlsafe_b64encode(f"{opened}|{case.escalation_id}".encode()).decode()


def _decode_cursor(cursor: str | None) -> tuple[dt.datetime, str] | None:
    if cursor is None:
        return None
    try:
        opened, escalation_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return dt.datetime.fromisoformat(opened), escalation_id
    except (ValueError, binascii.Error) as error:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "cursor: pass the next_cursor of the previous page"
        ) from error


@router.get("/escalations", response_model=CasePage)
async def list_escalations(
    viewer: CaseReader,
    sessions: Sessions,
    kind: EscalationKind | None = None,
    status_: Annotated[CaseStatus | None, Query(alias="status")] = None,
    severity: CasePriority | None = None,
    subject: Text = None,
    owner: Text = None,
    moderator_id: Text = None,
    market: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    policy_id: Text = None,
    opened_after: dt.datetime | None = None,
    opened_before: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the previous page")
    ] = None,
) -> CasePage:
    """Cases the caller may see, newest first, filtered, a page at a time."""
    where = CaseFilter(
        kinds=viewer.narrowed_to(kind.value if kind else None),
        status=status_.value if status_ else None,
        severity=severity.value if severity else None,
        subject=subject,
        owner=owner,
        moderator_id=moderator_id,
        market=market,
        policy_id=policy_id,
        opened_after=opened_after,
        opened_before=opened_before,
    )
    items = await case_handlers.list_cases(
        sessions=sessions, where=where, after=_decode_cursor(cursor), limit=limit + 1
    )
    page = items[:limit]
    more = len(items) > limit
    return CasePage(items=page, next_cursor=_encode_cursor(page[-1]) if more else None)


@router.get("/escalations/{escalation_id}", response_model=CaseDetailOut)
async def show_escalation(
    escalation_id: str, viewer: CaseReader, sessions: Sessions
) -> CaseDetailOut:
    """One case with its append-only history and the targeting it set."""
    try:
        detail = await case_handlers.case_detail(
            sessions=sessions, escalation_id=escalation_id, kinds=viewer.kinds
        )
    except case_handlers.CaseNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    return CaseDetailOut(
        case=detail.case,
        history=[HistoryEntryOut.model_validate(entry.__dict__) for entry in detail.history],
        targeting=detail.targeting,
    )


@router.post("/escalations/{escalation_id}/actions", response_model=Escalation)
async def act_on_escalation(
    escalation_id: str,
    body: CaseActionIn,
    actor: CaseActor,
    sessions: Sessions,
    topics: DeployedTopics,
    clock: Now,
) -> Escalation:
    """Acknowledge, investigate, resolve, dismiss, assign, set the root cause or add a note."""
    command = lifecycle.Command(actor=actor.subject[:128], **body.model_dump())
    try:
        return await case_handlers.act_on_case(
            sessions=sessions,
            topics=topics,
            escalation_id=escalation_id,
            command=command,
            now=clock.now(),
        )
    except case_handlers.CaseNotFound as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from error
    except (lifecycle.IllegalTransition, lifecycle.StaleRevision) as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except lifecycle.InvalidCommand as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
