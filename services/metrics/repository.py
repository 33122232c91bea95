"""SQL of the metrics service; every function runs inside the caller's transaction.

Figures are computed from linear sums (counts, sums of 1/pi and (1-pi)/pi^2 per indicator),
so PostgreSQL does the aggregation and the estimators in `domain` do the statistics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Date, and_, cast, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from services.metrics.domain.drift import CusumState
from services.metrics.tables import cases, drift_detectors, drift_signals, tasks, verdicts
from shared.events import Escalation, Task, Verdict

GROUPABLE = (
    "queue",
    "market",
    "language",
    "policy_id",
    "moderator_id",
    "moderator_kind",
    "moderator_team",
    "content_type",
    "category",
    "automated_decision",
)
FILTERABLE = (*GROUPABLE, "action")
Period = Literal["day", "week"]

_judged = verdicts.c.outcome.in_(("correct", "incorrect"))
INDICATORS: dict[str, ColumnElement[bool]] = {
    "error": verdicts.c.outcome == "incorrect",
    "over_enforcement": verdicts.c.error_type == "over_enforcement",
    "under_enforcement": verdicts.c.error_type == "under_enforcement",
    "wrong_policy": verdicts.c.error_type == "wrong_policy",
    "wrong_action": verdicts.c.error_type == "wrong_action",
}


@dataclass(frozen=True)
class FigureQuery:
    """Which verdicts to count and how to group them."""

    group_by: tuple[str, ...] = ()
    period: Period | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    filters: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------- writes


async def insert_tasks(session: AsyncSession, batch: Sequence[Task]) -> None:
    """Store the sampling facts of tasks once."""
    rows = {
        t.task_id: {
            "task_id": t.task_id,
            "decision_id": t.decision.decision_id,
            "inclusion_probability": t.inclusion_probability,
            "reasons": [r.value for r in t.reasons],
            "stratum": t.stratum,
            "plan_id": t.plan_id,
            "plan_version": t.plan_version,
            "created_at": t.created_at,
        }
        for t in batch
    }
    if rows:
        await session.execute(
            insert(tasks)
            .values(list(rows.values()))
            .on_conflict_do_nothing(index_elements=["task_id"])
        )


def _verdict_row(v: Verdict) -> dict[str, Any]:
    d = v.decision
    assert d is not None
    return {
        "verdict_id": v.verdict_id,
        "task_id": v.task_id,
        "decision_id": v.decision_id,
        "auditor_id": v.auditor_id,
        "outcome": v.outcome.value,
        "error_type": v.error_type.value if v.error_type else None,
        "severity": v.severity.value if v.severity else None,
        "round": v.round,
        "supersedes": v.supersedes,
        "final": v.final,
        "submitted_at": v.submitted_at,
        "queue": d.queue,
        "market": d.market,
        "language": d.language,
        "policy_id": d.policy_id,
        "moderator_id": d.moderator_id,
        "moderator_kind": d.moderator_kind.value,
        "moderator_team": d.moderator_team,
        "content_type": d.content_type.value,
        "decided_at": d.decided_at,
        "decided_on": d.decided_at.date(),
        "purpose": v.purpose.value,
        "blind": v.blind,
        "policy_version": v.policy_version,
        "decision_policy_version": d.policy_version,
        "action": d.action.value,
        "expected_action": v.expected_action.value if v.expected_action else None,
        "expected_policy_id": v.expected_policy_id,
        "calibration_agreed": v.calibration_agreed,
        "gold_correct": v.gold_correct,
        "category": d.category,
        "automated_decision": d.automated_decision.value if d.automated_decision else None,
    }


async def insert_verdicts(session: AsyncSession, batch: Sequence[Verdict]) -> set[str]:
    """Store verdicts once each; an amendment retires the verdict it supersedes (whichever
    arrives first). Returns the ids that were new."""
    rows = {v.verdict_id: _verdict_row(v) for v in batch if v.decision is not None}
    if not rows:
        return set()
    result = await session.execute(
        insert(verdicts)
        .values(list(rows.values()))
        .on_conflict_do_nothing(index_elements=["verdict_id"])
        .returning(verdicts.c.verdict_id)
    )
    new = set(result.scalars().all())
    retired = [v.supersedes for v in batch if v.supersedes]
    if retired:
        await session.execute(
            update(verdicts).where(verdicts.c.verdict_id.in_(retired)).values(superseded=True)
        )
    await session.execute(
        update(verdicts)
        .where(
            verdicts.c.verdict_id.in_(list(rows)),
            verdicts.c.verdict_id.in_(
                select(verdicts.c.supersedes).where(verdicts.c.supersedes.is_not(None))
            ),
        )
        .values(superseded=True)
    )
    return new


async def upsert_cases(session: AsyncSession, batch: Sequence[Escalation]) -> None:
    """Keep the latest revision of each escalation case."""
    latest: dict[str, Escalation] = {}
    for case in batch:
        if case.escalation_id not in latest or latest[case.escalation_id].revision < case.revision:
            latest[case.escalation_id] = case
    for case in latest.values():
        values = {
            "escalation_id": case.escalation_id,
            "kind": case.kind.value,
            "severity": case.severity.value,
            "status": case.status.value,
            "subject": case.subject,
            "revision": case.revision,
            "updated_at": case.updated_at,
        }
        statement = insert(cases).values(values)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["escalation_id"],
                set_=values,
                where=cases.c.revision < statement.excluded.revision,
            )
        )


async def load_detector(
    session: AsyncSession, scope: str, subject: str
) -> tuple[CusumState, list[str]]:
    """A drift detector's state (fresh if never seen), locked, with its recent evidence."""
    row = (
        await session.execute(
            select(drift_detectors)
            .where(drift_detectors.c.scope == scope, drift_detectors.c.subject == subject)
            .with_for_update()
        )
    ).first()
    if row is None:
        return CusumState(), []
    state = CusumState(
        row.statistic, row.audits, row.errors, row.since_reset, row.errors_since_reset
    )
    return state, list(row.recent_verdicts)


async def save_detector(
    session: AsyncSession,
    *,
    scope: str,
    subject: str,
    state: CusumState,
    recent: list[str],
    team: str | None,
    now: dt.datetime,
) -> None:
    """Store a drift detector's state."""
    values = {
        "scope": scope,
        "subject": subject,
        "statistic": state.statistic,
        "audits": state.audits,
        "errors": state.errors,
        "since_reset": state.since_reset,
        "errors_since_reset": state.errors_since_reset,
        "recent_verdicts": recent,
        "moderator_team": team,
        "updated_at": now,
    }
    statement = insert(drift_detectors).values(values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["scope", "subject"], set_=values)
    )


async def insert_signal(session: AsyncSession, values: dict[str, Any]) -> None:
    """Record a drift signal."""
    await session.execute(insert(drift_signals).values(values).on_conflict_do_nothing())


# ---------------------------------------------------------------- figures


def _scope(query: FigureQuery) -> list[ColumnElement[bool]]:
    """The query's date window and equality filters."""
    conditions: list[ColumnElement[bool]] = []
    if query.date_from is not None:
        conditions.append(verdicts.c.decided_on >= query.date_from)
    if query.date_to is not None:
        conditions.append(verdicts.c.decided_on <= query.date_to)
    for name, value in query.filters.items():
        conditions.append(verdicts.c[name] == value)
    return conditions


def _counted(query: FigureQuery) -> list[ColumnElement[bool]]:
    """Verdicts that count for quality: final, not superseded, not gold, in scope."""
    return [
        verdicts.c.final,
        verdicts.c.superseded.is_(False),
        verdicts.c.purpose != "gold",
        *_scope(query),
    ]


def _period_column(period: Period) -> ColumnElement[Any]:
    return cast(func.date_trunc(period, verdicts.c.decided_on), Date).label("period")


async def figure_sums(session: AsyncSession, query: FigureQuery) -> list[dict[str, Any]]:
    """Per group (and period): audit counts and the weighted sums of every indicator."""
    pi = tasks.c.inclusion_probability
    w = 1.0 / pi
    c = (1.0 - pi) / (pi * pi)
    designed = and_(_judged, pi.is_not(None))
    keys: list[ColumnElement[Any]] = [verdicts.c[name].label(name) for name in query.group_by]
    if query.period is not None:
        keys.append(_period_column(query.period))
    measures: list[ColumnElement[Any]] = [
        func.count().filter(_judged).label("n"),
        func.count().filter(designed).label("n_design"),
        func.coalesce(func.sum(w).filter(designed), 0.0).label("w"),
        func.coalesce(func.sum(c).filter(designed), 0.0).label("c"),
        func.count().filter(verdicts.c.outcome == "unsure").label("unsure"),
    ]
    for name, condition in INDICATORS.items():
        hit = and_(designed, condition)
        measures += [
            func.count().filter(and_(_judged, condition)).label(f"k_{name}"),
            func.count().filter(hit).label(f"kd_{name}"),
            func.coalesce(func.sum(w).filter(hit), 0.0).label(f"wy_{name}"),
            func.coalesce(func.sum(c).filter(hit), 0.0).label(f"cy_{name}"),
        ]
    statement = (
        select(*keys, *measures)
        .select_from(verdicts.outerjoin(tasks, verdicts.c.task_id == tasks.c.task_id))
        .where(*_counted(query))
    )
    if keys:
        statement = statement.group_by(*keys).order_by(*keys)
    return [dict(row._mapping) for row in (await session.execute(statement)).all()]


async def calibration_reviews(session: AsyncSession, query: FigureQuery) -> list[dict[str, Any]]:
    """Calibration reviews and closing verdicts in scope, oldest first."""
    conditions = [verdicts.c.purpose == "calibration", verdicts.c.superseded.is_(False)]
    conditions += _scope(query)
    statement = (
        select(
            verdicts.c.task_id,
            verdicts.c.auditor_id,
            verdicts.c.final,
            verdicts.c.outcome,
            verdicts.c.expected_action,
            verdicts.c.expected_policy_id,
            verdicts.c.calibration_agreed,
        )
        .where(*conditions)
        .order_by(verdicts.c.submitted_at)
    )
    return [dict(row._mapping) for row in (await session.execute(statement)).all()]


async def gold_answers(session: AsyncSession, query: FigureQuery) -> list[tuple[str, int, int]]:
    """Per auditor: (auditor, gold answers matching the key, gold answers)."""
    conditions = [verdicts.c.purpose == "gold", verdicts.c.gold_correct.is_not(None)]
    conditions += _scope(query)
    statement = (
        select(verdicts.c.auditor_id, func.count().filter(verdicts.c.gold_correct), func.count())
        .where(*conditions)
        .group_by(verdicts.c.auditor_id)
        .order_by(verdicts.c.auditor_id)
    )
    return [(row[0], int(row[1]), int(row[2])) for row in (await session.execute(statement)).all()]


async def version_rates(
    session: AsyncSession, *, policy_id: str | None, market: str | None
) -> list[dict[str, Any]]:
    """Per policy, market and policy version: judged, errors, unsure, calibration closes and
    disagreements, and the first and last decision dates."""
    conditions: list[ColumnElement[bool]] = [
        verdicts.c.final,
        verdicts.c.superseded.is_(False),
        verdicts.c.purpose != "gold",
    ]
    if policy_id is not None:
        conditions.append(verdicts.c.policy_id == policy_id)
    if market is not None:
        conditions.append(verdicts.c.market == market)
    closes = and_(verdicts.c.purpose == "calibration", verdicts.c.calibration_agreed.is_not(None))
    statement = (
        select(
            verdicts.c.policy_id,
            verdicts.c.market,
            verdicts.c.decision_policy_version,
            func.count().filter(_judged).label("judged"),
            func.count().filter(verdicts.c.outcome == "incorrect").label("errors"),
            func.count().label("verdicts"),
            func.count().filter(verdicts.c.outcome == "unsure").label("unsure"),
            func.count().filter(closes).label("rounds"),
            func.count()
            .filter(and_(closes, verdicts.c.calibration_agreed.is_(False)))
            .label("disagreements"),
            func.min(verdicts.c.decided_on).label("first_day"),
            func.max(verdicts.c.decided_on).label("last_day"),
        )
        .where(*conditions)
        .group_by(verdicts.c.policy_id, verdicts.c.market, verdicts.c.decision_policy_version)
        .order_by(verdicts.c.policy_id, verdicts.c.market, verdicts.c.decision_policy_version)
    )
    return [dict(row._mapping) for row in (await session.execute(statement)).all()]


async def detectors(session: AsyncSession, scope: str | None, limit: int) -> list[dict[str, Any]]:
    """Drift detectors, the closest to signalling first."""
    statement = select(drift_detectors).order_by(drift_detectors.c.statistic.desc()).limit(limit)
    if scope is not None:
        statement = statement.where(drift_detectors.c.scope == scope)
    return [dict(row._mapping) for row in (await session.execute(statement)).all()]


async def signals(
    session: AsyncSession, *, since: dt.datetime | None, scope: str | None, limit: int
) -> list[dict[str, Any]]:
    """Drift signals, newest first."""
    statement = select(drift_signals).order_by(drift_signals.c.detected_at.desc()).limit(limit)
    if since is not None:
        statement = statement.where(drift_signals.c.detected_at >= since)
    if scope is not None:
        statement = statement.where(drift_signals.c.scope == scope)
    return [dict(row._mapping) for row in (await session.execute(statement)).all()]


async def open_cases(session: AsyncSession) -> list[dict[str, Any]]:
    """Open escalation cases by kind and severity."""
    statement = (
        select(cases.c.kind, cases.c.severity, func.count().label("open"))
        .where(cases.c.status.in_(("open", "acknowledged", "investigating")))
        .group_by(cases.c.kind, cases.c.severity)
        .order_by(cases.c.severity, cases.c.kind)
    )
    return [dict(row._mapping) for row in (await session.execute(statement)).all()]
