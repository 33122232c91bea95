"""Daily, weekly and DSA reports: what a QA lead sends, composed from the figures."""

from __future__ import annotations

import datetime as dt
import math

from pydantic import BaseModel, Field

from services.metrics import queries
from services.metrics.domain.estimates import Estimate
from services.metrics.domain.figures import ERROR_TYPES, GroupFigures
from services.metrics.repository import FigureQuery
from services.metrics.schemas import Figure, VersionChangeOut

WORST = 3


class Ranked(BaseModel):
    name: str
    accuracy: Figure


class ErrorShare(BaseModel):
    error_type: str
    rate: Figure


class Coaching(BaseModel):
    moderator_id: str
    moderator_team: str
    accuracy: Figure
    reason: str


class OpenCases(BaseModel):
    kind: str
    severity: str
    open: int


class Trend(BaseModel):
    previous: Figure
    change: float | None = Field(description="accuracy this period minus the previous one")
    significant: bool = Field(description="the change is beyond chance (z test, 5%)")


class QualityReportDoc(BaseModel):
    """A daily or weekly quality report for one market (or all)."""

    kind: str
    period_start: dt.date
    period_end: dt.date
    market: str | None
    headline: Figure
    trend: Trend | None
    judged: int
    unsure: int
    by_queue: list[Ranked]
    by_policy: list[Ranked]
    worst_queues: list[Ranked]
    worst_policies: list[Ranked]
    error_types: list[ErrorShare]
    coaching: list[Coaching]
    open_escalations: list[OpenCases]
    policy_changes: list[VersionChangeOut]


class DsaRow(BaseModel):
    dimension: str
    value: str
    moderator_kind: str
    accuracy: Figure
    error_rate: Figure
    missed_violations: Figure = Field(
        description="share of approved decisions that should have been actioned"
    )


class DsaReport(BaseModel):
    """Accuracy and error rates of automated versus human moderation (DSA Art. 15(1)(e),
    per policy category and per language as Art. 42 asks)."""

    period_start: dt.date
    period_end: dt.date
    rows: list[DsaRow]


async def quality_report(
    *,
    sessions: queries.Sessions,
    kind: str,
    start: dt.date,
    end: dt.date,
    market: str | None,
    coaching_below: float,
) -> QualityReportDoc:
    """The report for one period: headline, trend, worst queues and policies, coaching..."""
    filters = {"market": market} if market else {}

    async def figures(
        group_by: tuple[str, ...],
        first: dt.date,
        last: dt.date,
        extra: dict[str, str] | None = None,
    ) -> list[GroupFigures]:
        query = FigureQuery(
            group_by=group_by, date_from=first, date_to=last, filters={**filters, **(extra or {})}
        )
        return await queries.quality(sessions=sessions, query=query)

    [headline] = await figures((), start, end)
    length = end - start + dt.timedelta(days=1)
    [previous] = await figures((), start - length, start - dt.timedelta(days=1))
    by_queue = _ranked(await figures(("queue",), start, end), "queue")
    by_policy = _ranked(await figures(("policy_id",), start, end), "policy_id")
    moderators = await figures(("moderator_id", "moderator_team"), start, end)
    drift = await queries.drift(
        sessions=sessions,
        scope="moderator",
        since=dt.datetime.combine(start, dt.time(), dt.UTC),
        limit=200,
    )
    changes = await queries.policy_impact(sessions=sessions, policy_id=None, market=market)
    cases = await queries.open_cases(sessions=sessions)
    return QualityReportDoc(
        kind=kind,
        period_start=start,
        period_end=end,
        market=market,
        headline=Figure.of(headline.accuracy),
        trend=_trend(headline.accuracy, previous.accuracy) if kind == "weekly" else None,
        judged=headline.judged,
        unsure=headline.unsure,
        by_queue=by_queue,
        by_policy=by_policy,
        worst_queues=_worst(by_queue),
        worst_policies=_worst(by_policy),
        error_types=sorted(
            (
                ErrorShare(error_type=name, rate=Figure.of(headline.error_types[name]))
                for name in ERROR_TYPES
            ),
            key=lambda e: -(e.rate.rate or 0.0),
        ),
        coaching=_coaching(moderators, {s["subject"] for s in drift.signals}, coaching_below),
        open_escalations=[OpenCases(**row) for row in cases],
        policy_changes=[
            VersionChangeOut.of(c) for c in changes if c.changed_on >= start - dt.timedelta(days=28)
        ],
    )


async def dsa_report(*, sessions: queries.Sessions, start: dt.date, end: dt.date) -> DsaReport:
    """Automated versus human accuracy per DSA category and per language."""
    rows: list[DsaRow] = []
    for dimension in ("category", "language"):
        query = FigureQuery(group_by=(dimension, "moderator_kind"), date_from=start, date_to=end)
        approvals = FigureQuery(
            group_by=(dimension, "moderator_kind"),
            date_from=start,
            date_to=end,
            filters={"action": "approve"},
        )
        overall = await queries.quality(sessions=sessions, query=query, method="design")
        missed = {
            (f.group[dimension], f.group["moderator_kind"]): f.error_types["under_enforcement"]
            for f in await queries.quality(sessions=sessions, query=approvals, method="design")
        }
        for figure in overall:
            key = (figure.group[dimension], figure.group["moderator_kind"])
            rows.append(
                DsaRow(
                    dimension=dimension,
                    value=key[0],
                    moderator_kind=key[1],
                    accuracy=Figure.of(figure.accuracy),
                    error_rate=Figure.of(figure.error_rate),
                    missed_violations=Figure.of(
                        missed.get(key, Estimate(None, None, None, 0, 0.0))
                    ),
                )
            )
    return DsaReport(period_start=start, period_end=end, rows=rows)


def _ranked(figures: list[GroupFigures], name: str) -> list[Ranked]:
    return [Ranked(name=f.group[name], accuracy=Figure.of(f.accuracy)) for f in figures]


def _worst(ranked: list[Ranked]) -> list[Ranked]:
    firm = [r for r in ranked if r.accuracy.firm and r.accuracy.rate is not None]
    return sorted(firm, key=lambda r: r.accuracy.rate or 0.0)[:WORST]


def _trend(now: Estimate, before: Estimate) -> Trend:
    if now.rate is None or before.rate is None:
        return Trend(previous=Figure.of(before), change=None, significant=False)
    variance = sum(
        e.rate * (1 - e.rate) / e.effective_n
        for e in (now, before)
        if e.rate is not None and e.effective_n > 0
    )
    change = now.rate - before.rate
    significant = variance > 0 and abs(change) / math.sqrt(variance) > 1.96
    return Trend(previous=Figure.of(before), change=change, significant=significant)


def _coaching(moderators: list[GroupFigures], drifting: set[str], below: float) -> list[Coaching]:
    out = []
    for figure in moderators:
        moderator = figure.group["moderator_id"]
        high = figure.accuracy.high
        if moderator in drifting:
            reason = "drift signal: error rate rose"
        elif figure.accuracy.firm and high is not None and high < below:
            reason = f"accuracy below {below:.0%} even at the top of its interval"
        else:
            continue
        out.append(
            Coaching(
                moderator_id=moderator,
                moderator_team=figure.group["moderator_team"],
                accuracy=Figure.of(figure.accuracy),
                reason=reason,
            )
        )
    return sorted(out, key=lambda c: c.accuracy.rate or 0.0)
