"""The metrics service's HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from services.metrics import handlers
from services.metrics.deps import FigureReader, Sessions
from services.metrics.repository import GROUPABLE
from services.metrics.schemas import Figure, QualityReport, QualityRow

router = APIRouter(prefix="/v1")


@router.get("/quality", response_model=QualityReport)
async def quality(
    _: FigureReader,
    sessions: Sessions,
    group_by: Annotated[
        str, Query(description=f"comma-separated, of: {', '.join(GROUPABLE)}")
    ] = "queue,market",
) -> QualityReport:
    """Accuracy per group with sample size and 95% interval."""
    names = [name.strip() for name in group_by.split(",") if name.strip()]
    unknown = [name for name in names if name not in GROUPABLE]
    if unknown or not names:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"group_by: unknown field(s) {unknown or '(none given)'}; "
            f"use any of {', '.join(GROUPABLE)}",
        )
    figures = await handlers.accuracy(sessions=sessions, group_by=names)
    return QualityReport(
        group_by=names,
        rows=[
            QualityRow(
                group=group,
                accuracy=Figure(rate=p.rate, low=p.low, high=p.high, n=p.n, firm=p.firm),
            )
            for group, p in figures
        ],
    )
