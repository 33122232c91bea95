"""Read-side of the metrics service: figures, agreement, drift, policy impact, strata."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics import repository
from services.metrics.domain.agreement import (
    Kappa,
    Review,
    agreement_with_reference,
    fleiss,
    label_of,
    pairwise_cohen,
)
from services.metrics.domain.estimates import Estimate, wilson
from services.metrics.domain.figures import GroupFigures, Method, group_figures, method_for
from services.metrics.domain.impact import Comparison, compare
from services.metrics.repository import FigureQuery

Sessions = async_sessionmaker[AsyncSession]


async def quality(
    *, sessions: Sessions, query: FigureQuery, method: Method | None = None
) -> list[GroupFigures]:
    """Quality figures per group (and period) with intervals and sample sizes."""
    chosen = method_for(query.group_by, method)
    async with sessions() as session:
        rows = await repository.figure_sums(session, query)
    return [group_figures(row, query.group_by, chosen) for row in rows]


@dataclass(frozen=True)
class AuditorAgreement:
    auditor_id: str
    with_reference: Estimate
    gold_accuracy: Estimate


@dataclass(frozen=True)
class AgreementReport:
    pairs: dict[tuple[str, str], Kappa]
    rounds: dict[int, Kappa]
    auditors: list[AuditorAgreement]


async def agreement(*, sessions: Sessions, query: FigureQuery) -> AgreementReport:
    """Cohen's kappa per auditor pair, Fleiss' kappa per round size, and per auditor the
    agreement with the reference label and the accuracy on gold items."""
    async with sessions() as session:
        rows = await repository.calibration_reviews(session, query)
        gold = await repository.gold_answers(session, query)
    reviews = [
        Review(
            row["task_id"],
            row["auditor_id"],
            label_of(row["outcome"], row["expected_action"], row["expected_policy_id"]),
        )
        for row in rows
        if not row["final"]
    ]
    reference = {
        row["task_id"]: label_of(row["outcome"], row["expected_action"], row["expected_policy_id"])
        for row in rows
        if row["final"]
    }
    with_reference = agreement_with_reference(reviews, reference)
    gold_accuracy = {auditor: wilson(hits, n) for auditor, hits, n in gold}
    auditors = sorted(set(with_reference) | set(gold_accuracy))
    return AgreementReport(
        pairs=pairwise_cohen(reviews),
        rounds=fleiss(reviews),
        auditors=[
            AuditorAgreement(
                a, with_reference.get(a, wilson(0, 0)), gold_accuracy.get(a, wilson(0, 0))
            )
            for a in auditors
        ],
    )


@dataclass(frozen=True)
class VersionChange:
    """How the rates of a policy in a market moved from one version to the next."""

    policy_id: str
    market: str
    from_version: int
    to_version: int
    changed_on: dt.date
    error_rate: Comparison
    unsure_rate: Comparison
    disagreement_rate: Comparison


async def policy_impact(
    *, sessions: Sessions, policy_id: str | None, market: str | None
) -> list[VersionChange]:
    """For each policy and market, compare each version with the one before it."""
    async with sessions() as session:
        rows = await repository.version_rates(session, policy_id=policy_id, market=market)
    by_subject: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_subject.setdefault((row["policy_id"], row["market"]), []).append(row)
    changes = []
    for (policy, mkt), versions in by_subject.items():
        for before, after in pairwise(versions):
            changes.append(
                VersionChange(
                    policy_id=policy,
                    market=mkt,
                    from_version=before["decision_policy_version"],
                    to_version=after["decision_policy_version"],
                    changed_on=after["first_day"],
                    error_rate=compare(
                        before["errors"], before["judged"], after["errors"], after["judged"]
                    ),
                    unsure_rate=compare(
                        before["unsure"], before["verdicts"], after["unsure"], after["verdicts"]
                    ),
                    disagreement_rate=compare(
                        before["disagreements"],
                        before["rounds"],
                        after["disagreements"],
                        after["rounds"],
                    ),
                )
            )
    return changes


@dataclass(frozen=True)
class DriftView:
    detectors: list[dict[str, Any]]
    signals: list[dict[str, Any]]


async def drift(
    *, sessions: Sessions, scope: str | None, since: dt.datetime | None, limit: int
) -> DriftView:
    """Detectors closest to signalling and the recent signals."""
    async with sessions() as session:
        return DriftView(
            detectors=await repository.detectors(session, scope, limit),
            signals=await repository.signals(session, since=since, scope=scope, limit=limit),
        )


async def strata_error_rates(
    *, sessions: Sessions, by: tuple[str, ...], today: dt.date, days: int
) -> list[tuple[dict[str, str], Estimate]]:
    """Design-weighted error rate per stratum over the last `days` days (for Neyman allocation)."""
    query = FigureQuery(group_by=by, date_from=today - dt.timedelta(days=days - 1), date_to=today)
    figures = await quality(sessions=sessions, query=query, method="design")
    return [(figure.group, figure.error_rate) for figure in figures]


async def open_cases(*, sessions: Sessions) -> list[dict[str, Any]]:
    """Open escalation cases by kind and severity."""
    async with sessions() as session:
        return await repository.open_cases(session)
