"""Sampler commands: one function per command, one transaction each."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.sampler import repository
from services.sampler.domain.allocation import StratumErrors
from services.sampler.domain.budget import seconds_into_day
from services.sampler.domain.core import SamplerCore
from services.sampler.domain.dryrun import DryRun, dry_run
from services.sampler.domain.plan import (
    Dimension,
    InvalidPlan,
    PlanDocument,
    Revision,
    validate_plan,
)
from services.sampler.domain.planning import Traffic, allocate, initial_scales, replan
from services.sampler.domain.selection import Selector
from services.sampler.domain.traffic import DayTraffic, merge_days
from services.sampler.metrics import (
    DECISIONS_INGESTED,
    POOL_BUDGET,
    POOL_BUDGET_USE,
    POOL_SCALE,
    REVISIONS,
    TARGETING_RULES,
)
from services.sampler.planstore import (
    ScheduleKeeper,
    allocation_to_json,
    revision_from_row,
)
from services.sampler.schemas import IngestResult, ItemError
from shared.codec import describe
from shared.events import Decision, TargetingRule, encode
from shared.observability.tracing import child_of, kafka_headers
from shared.topics import Topics

log = logging.getLogger(__name__)

FetchErrors = Callable[[Sequence[Dimension], int], Awaitable[dict[str, StratumErrors] | None]]
RESERVED_PLAN_IDS = frozenset({"current", "revisions", "dry-run", "replan"})
WINDOW_DAYS = 7
TRAFFIC_KEPT_DAYS = 35
PRIOR_RETRY = dt.timedelta(hours=1)


class PlanNotFound(LookupError):
    """No such plan or version."""


class PlanConflict(RuntimeError):
    """Another writer stored a version of the same plan at the same moment."""


class SlowCommit(TimeoutError):
    """Storing a revision took too long for every instance to load it before it applies."""


async def ingest_decisions(
    *,
    items: list[dict[str, Any]],
    producer: AIOKafkaProducer,
    topics: Topics,
    traceparent: str | None = None,
) -> IngestResult:
    """Validate each decision, produce the valid ones keyed by moderator, wait for acks=all.

    Each decision record starts a trace of its own, or continues the caller's `traceparent`
    (a new span of that trace per decision)."""
    valid: list[Decision] = []
    rejected: list[ItemError] = []
    for index, item in enumerate(items):
        try:
            valid.append(Decision.model_validate(item))
        except ValidationError as error:
            decision_id = item.get("decision_id") if isinstance(item, dict) else None
            rejected.append(
                ItemError(
                    index=index,
                    decision_id=str(decision_id) if decision_id else None,
                    error=describe(error),
                )
            )
    futures = [
        await producer.send(
            topics.decisions,
            encode(d),
            key=d.moderator_id.encode(),
            headers=kafka_headers(child_of(traceparent)),
        )
        for d in valid
    ]
    await asyncio.gather(*futures)
    DECISIONS_INGESTED.labels("accepted").inc(len(valid))
    DECISIONS_INGESTED.labels("rejected").inc(len(rejected))
    return IngestResult(accepted=len(valid), rejected=rejected)


async def store_plan(
    *,
    sessions: async_sessionmaker[AsyncSession],
    plan_id: str,
    document: object,
    author: str,
    now: dt.datetime,
) -> tuple[int, bool]:
    """Validate and store a plan as its next version; (version, created). An unchanged
    document is not stored again: its existing version is returned."""
    plan = validate_plan_id(plan_id, document)
    body = plan.model_dump(mode="json", exclude_none=False)
    try:
        async with sessions.begin() as session:
            latest = await repository.latest_version(session, plan_id)
            if latest is not None and latest.document == body:
                return int(latest.version), False
            version = 1 if latest is None else int(latest.version) + 1
            await repository.insert_version(
                session, plan_id=plan_id, version=version, document=body, author=author, now=now
            )
    except IntegrityError as error:
        raise PlanConflict(
            f"another version of plan {plan_id} was stored at the same moment; send it again"
        ) from error
    return version, True


def validate_plan_id(plan_id: str, document: object) -> PlanDocument:
    """The validated document (InvalidPlan names the fields), refusing reserved plan ids."""
    if plan_id in RESERVED_PLAN_IDS:
        raise InvalidPlan([("plan_id", f"{plan_id!r} is reserved; choose another name")])
    if not isinstance(document, Mapping):
        raise InvalidPlan([("(document)", "a plan is a JSON or YAML object")])
    return validate_plan(document, plan_id=plan_id)


async def load_traffic(
    sessions: async_sessionmaker[AsyncSession], *, now: dt.datetime, days: int
) -> Traffic:
    """Today, yesterday and the last `days` complete-or-current days of traffic."""
    today_ord = now.toordinal()
    async with sessions() as session:
        stored = await repository.traffic(session, dt.date.fromordinal(today_ord - days))
        await session.rollback()
    by_day = {d.day: d for d in stored}
    window = [d for d in stored if d.day > today_ord - days]
    return Traffic(
        today=by_day.get(today_ord),
        yesterday=by_day.get(today_ord - 1),
        window=merge_days(window),
        window_days=_window_days(window, today_ord, now),
    )


def _window_days(window: Sequence[DayTraffic], today_ord: int, now: dt.datetime) -> int:
    """Days the window covers, counting today as the fraction elapsed (at least one)."""
    if not window:
        return 0
    first = min(d.day for d in window)
    full = today_ord - first
    return max(1, round(full + seconds_into_day(now) / 86400))


async def apply_plan(
    *,
    sessions: async_sessionmaker[AsyncSession],
    keeper: ScheduleKeeper,
    fetch_errors: FetchErrors,
    plan_id: str,
    version: int,
    author: str,
    now: Callable[[], dt.datetime],
    delay: dt.timedelta,
) -> Revision:
    """Make a stored version the plan in force from `delay` from now, with its budgets spread
    over recent traffic and its allocation computed from the metrics service (or the prior)."""
    async with sessions() as session:
        row = await repository.plan_version(session, plan_id, version)
        await session.rollback()
    if row is None:
        raise PlanNotFound(f"plan {plan_id} has no version {version}")
    plan = PlanDocument.model_validate(row.document)
    started = now()
    traffic = await load_traffic(sessions, now=started, days=WINDOW_DAYS)
    allocation = None
    if plan.allocation is not None:
        errors = await fetch_errors(plan.strata, plan.allocation.days)
        allocation = allocate(
            plan,
            traffic,
            errors=errors or {},
            source="metrics" if errors is not None else "prior",
            now=started,
        )
    draft = Revision(
        seq=0,
        plan_id=plan_id,
        version=version,
        effective_from=started,
        plan=plan,
        allocation=allocation,
    )
    scales = initial_scales(
        draft,
        traffic,
        facts=keeper.facts,
        targeting=keeper.schedule.targeting,
        now=started,
    )
    return await _store_revision(
        sessions,
        dataclasses.replace(draft, scales=scales),
        reason="applied",
        author=author,
        now=now,
        delay=delay,
    )


async def _store_revision(
    sessions: async_sessionmaker[AsyncSession],
    draft: Revision,
    *,
    reason: str,
    author: str,
    now: Callable[[], dt.datetime],
    delay: dt.timedelta,
    session: AsyncSession | None = None,
) -> Revision:
    created = now()
    effective = created + delay

    async def insert(into: AsyncSession) -> int:
        seq = await repository.insert_revision(
            into,
            plan_id=draft.plan_id,
            version=draft.version,
            effective_from=effective,
            reason=reason,
            scales=draft.scales,
            allocation=allocation_to_json(draft.allocation),
            author=author,
            now=created,
        )
        if now() - created > delay / 4:
            raise SlowCommit(
                "storing the revision took too long for every sampler to load it in time; retry"
            )
        return seq

    if session is not None:
        seq = await insert(session)
    else:
        async with sessions.begin() as fresh:
            seq = await insert(fresh)
    REVISIONS.labels(reason).inc()
    log.info(
        "plan revision stored",
        extra={
            "seq": seq,
            "plan_id": draft.plan_id,
            "version": draft.version,
            "reason": reason,
            "effective_from": effective.isoformat(),
            "scales": dict(draft.scales),
        },
    )
    return dataclasses.replace(draft, seq=seq, effective_from=effective)


async def replan_now(
    *,
    sessions: async_sessionmaker[AsyncSession],
    keeper: ScheduleKeeper,
    fetch_errors: FetchErrors,
    now: Callable[[], dt.datetime],
    delay: dt.timedelta,
    allocation_every: dt.timedelta,
    author: str = "sampler",
    force_allocation: bool = False,
) -> Revision | None:
    """Re-pace pool budgets (and re-allocate when due) for the last revision; store a new
    revision when something changed. Returns it, or None."""
    async with sessions() as session:
        row = await repository.latest_revision(session)
        await session.rollback()
    if row is None:
        return None
    current = revision_from_row(row, {})
    plan = current.plan
    started = now()
    allocation = current.allocation
    traffic = await load_traffic(sessions, now=started, days=WINDOW_DAYS)
    due = force_allocation or _allocation_due(allocation, started, allocation_every)
    if plan.allocation is not None and due:
        errors = await fetch_errors(plan.strata, plan.allocation.days)
        if errors is not None or allocation is None:
            allocation = allocate(
                plan,
                traffic,
                errors=errors or {},
                source="metrics" if errors is not None else "prior",
                now=started,
            )
    outcome = replan(
        current,
        traffic,
        facts=keeper.facts,
        targeting=keeper.schedule.targeting,
        now=started,
        allocation=allocation,
    )
    _report_budgets(plan, outcome.scales, traffic, started)
    if not outcome.changed:
        return None
    async with sessions.begin() as session:
        if not await repository.try_replan_lock(session):
            return None
        latest = await repository.latest_revision(session)
        if latest is None or latest.seq != current.seq:
            return None  # someone applied or re-planned meanwhile; the next round sees it
        draft = dataclasses.replace(current, scales=outcome.scales, allocation=outcome.allocation)
        reason = "allocated" if outcome.allocation != current.allocation else "paced"
        return await _store_revision(
            sessions,
            draft,
            reason=reason,
            author=author,
            now=now,
            delay=delay,
            session=session,
        )


def _allocation_due(allocated: Any, now: dt.datetime, every: dt.timedelta) -> bool:
    if allocated is None:
        return True
    age = now - allocated.computed_at
    return bool(age >= every or (allocated.source == "prior" and age >= PRIOR_RETRY))


def _report_budgets(
    plan: PlanDocument, scales: Mapping[str, float], traffic: Traffic, now: dt.datetime
) -> None:
    elapsed = max(seconds_into_day(now) / 86400, 1 / 96)
    for pool in plan.pools:
        if not pool.daily_budget:
            continue
        POOL_BUDGET.labels(pool.name).set(pool.daily_budget)
        POOL_SCALE.labels(pool.name).set(scales.get(pool.name, 1.0))
        spent = traffic.today.tasks_of(pool.name) if traffic.today is not None else 0
        POOL_BUDGET_USE.labels(pool.name).set(spent / (pool.daily_budget * elapsed))


async def record_targeting(
    *,
    sessions: async_sessionmaker[AsyncSession],
    rules: Sequence[TargetingRule],
    now: dt.datetime,
    delay: dt.timedelta,
) -> int:
    """Store received targeting states; each applies from `delay` after its first receipt."""
    rows = [
        {
            "rule_id": rule.rule_id,
            "updated_at": rule.updated_at,
            "received_at": now,
            "effective_from": now + delay,
            "expires_at": rule.expires_at,
            "rule": rule.model_dump(mode="json"),
        }
        for rule in rules
    ]
    async with sessions.begin() as session:
        stored = await repository.insert_targeting(session, rows)
    TARGETING_RULES.inc(stored)
    return stored


async def flush_traffic(
    *, sessions: async_sessionmaker[AsyncSession], core: SamplerCore, now: dt.datetime
) -> int:
    """Merge the committed traffic seen since the last flush into the stored summary."""
    days = core.traffic.take()
    if not days:
        return 0
    try:
        async with sessions.begin() as session:
            thresholds = await repository.merge_traffic(session, days, now=now)
            await repository.prune_traffic(
                session, dt.date.fromordinal(now.toordinal() - TRAFFIC_KEPT_DAYS)
            )
    except Exception:
        for delta in days:  # keep them for the next flush
            core.traffic.day(delta.day).merge(delta)
        raise
    for ordinal, threshold in thresholds.items():
        core.lower_threshold(ordinal, threshold)
    return sum(d.count for d in days)


async def dry_run_plan(
    *,
    sessions: async_sessionmaker[AsyncSession],
    keeper: ScheduleKeeper,
    fetch_errors: FetchErrors,
    document: object,
    plan_id: str,
    now: dt.datetime,
    days: int,
    horizon_days: int,
) -> tuple[DryRun, Revision, Revision]:
    """What a proposed plan would do to the last `days` days of traffic, next to the plan in
    force: (report, current revision, proposed revision as it would be applied now)."""
    plan = validate_plan_id(plan_id, document)
    traffic = await load_traffic(sessions, now=now, days=days)
    current = keeper.schedule.at(now.timestamp())
    errors = await fetch_errors(plan.strata, plan.allocation.days if plan.allocation else 28)
    source = "metrics" if errors is not None else "prior"
    allocation = (
        allocate(plan, traffic, errors=errors or {}, source=source, now=now)
        if plan.allocation is not None
        else None
    )
    draft = Revision(
        seq=-1, plan_id=plan_id, version=0, effective_from=now, plan=plan, allocation=allocation
    )
    scales = initial_scales(
        draft, traffic, facts=keeper.facts, targeting=keeper.schedule.targeting, now=now
    )
    proposed_revision = dataclasses.replace(draft, scales=scales)
    proposed = Selector(proposed_revision, facts=keeper.facts, targeting=keeper.schedule.targeting)
    prior = plan.allocation.prior_error_rate if plan.allocation else 0.05
    min_audits = plan.allocation.min_audits if plan.allocation else 30
    report = dry_run(
        current,
        proposed,
        sample=traffic.window.sample if traffic.window is not None else [],
        decisions_per_day=traffic.daily_decisions,
        errors=errors or {},
        error_source=source,
        prior=prior,
        min_audits=min_audits,
        horizon_days=horizon_days,
        instant=now.timestamp(),
    )
    return report, current.revision, proposed_revision
