"""The escalation service's HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.escalation import repository
from services.escalation.deps import CaseReader, Sessions
from services.escalation.schemas import CasePage
from shared.events import CaseStatus, EscalationKind

router = APIRouter(prefix="/v1")


@router.get("/escalations", response_model=CasePage)
async def list_escalations(
    _: CaseReader,
    sessions: Sessions,
    kind: EscalationKind | None = None,
    status: CaseStatus | None = None,
    subject: Annotated[str | None, Query(max_length=256)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        str | None, Query(max_length=128, description="next_cursor of the last page")
    ] = None,
) -> CasePage:
    """Cases filtered by kind, status and subject, a page at a time."""
    async with sessions() as session:
        items = await repository.list_cases(
            session,
            kind=kind.value if kind else None,
            status=status.value if status else None,
            subject=subject,
            after=cursor,
            limit=limit + 1,
        )
    page = items[:limit]
    return CasePage(items=page, next_cursor=page[-1].escalation_id if len(items) > limit else None)
