"""Timer handlers, run every tick: SLA breaches, overdue disputes, targeting renewal, gauges.

The due times live in PostgreSQL (cases.due_at, disputes.due_at, targeting_rules.expires_at),
so a restarted service finds what fell due while it was down on its first tick. Rows are
locked with SKIP LOCKED: replicas share the work instead of doing it twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.escalation.changes import ChangeSet
from services.escalation.domain.cases import OPEN_STATES, breach, sla_phase
from services.escalation.domain.targeting import lifted, renewed
from services.escalation.domain.triggers import overdue_dispute_trigger
from services.escalation.metrics import (
    RULES_VERSION,
    SLA_BREACHES,
    WEBHOOK_DELIVERIES,
    set_open_cases,
    set_unacknowledged_ages,
)
from services.escalation.repository import cases as case_repo
from services.escalation.repository import events as event_repo
from services.escalation.repository import targeting as targeting_repo
from services.escalation.repository import webhooks as webhook_repo
from services.escalation.rule_handlers import rules_in_force
from shared.topics import Topics

BATCH = 100


async def detect_breaches(
    *, sessions: async_sessionmaker[AsyncSession], topics: Topics, now: dt.datetime
) -> int:
    """Raise and re-notify every open case past its due time; returns how many breached."""
    async with sessions.begin() as session:
        _, rules = await rules_in_force(session)
        rule = rules.sla_breach()
        if rule is None:
            return 0
        changes = ChangeSet(session, topics=topics, rules=rules, now=now)
        overdue = await case_repo.lock_overdue(session, now=now, limit=BATCH)
        for case in overdue:
            breached = breach(case, sla=rules.sla, raise_by=rule.raise_by, now=now)
            phase = sla_phase(case)
            await changes.save(
                breached,
                previous=case,
                details={
                    "phase": phase,
                    "missed_due_at": case.due_at.isoformat() if case.due_at else None,
                    "severity_before": case.severity.value,
                },
            )
            changes.after_commit(SLA_BREACHES.labels(case.kind.value, phase).inc)
        await changes.flush()
    changes.committed()
    return len(overdue)


async def open_overdue_dispute_cases(
    *, sessions: async_sessionmaker[AsyncSession], topics: Topics, now: dt.datetime
) -> int:
    """A case for every open dispute past its arbitration due time; returns how many."""
    async with sessions.begin() as session:
        _, rules = await rules_in_force(session)
        rule = rules.dispute()
        if rule is None:
            return 0
        changes = ChangeSet(session, topics=topics, rules=rules, now=now)
        overdue = await event_repo.lock_overdue_disputes(session, now=now, limit=BATCH)
        for dispute in overdue:
            trigger = overdue_dispute_trigger(rule, dispute, now=now)
            case = await changes.apply_trigger(trigger) if trigger else None
            await event_repo.mark_dispute_case(
                session, dispute.dispute_id, case.escalation_id if case else "handled-earlier"
            )
        await changes.flush()
    changes.committed()
    return len(overdue)


async def renew_targeting(
    *, sessions: async_sessionmaker[AsyncSession], topics: Topics, now: dt.datetime
) -> int:
    """Extend the targeting of cases still open past half its lifetime; lift orphans."""
    async with sessions.begin() as session:
        _, rules = await rules_in_force(session)
        changes = ChangeSet(session, topics=topics, rules=rules, now=now)
        due = await targeting_repo.lock_targeting_due(session, now=now, limit=BATCH)
        for rule, lifetime in due:
            case = await case_repo.get_case(session, rule.case_id) if rule.case_id else None
            if case is None or case.status not in OPEN_STATES:
                await changes.targeting(lifted(rule, now=now), lifetime=lifetime)
                continue
            fresh = renewed(rule, lifetime, now=now)
            if fresh is not None:
                await changes.targeting(fresh, lifetime=lifetime)
        await changes.flush()
    changes.committed()
    return len(due)


async def refresh_gauges(*, sessions: async_sessionmaker[AsyncSession], now: dt.datetime) -> None:
    """Open cases by kind and severity, the oldest case nobody acknowledged, webhook backlog,
    rule version: from the database."""
    async with sessions() as session:
        counts = await case_repo.open_counts(session)
        waiting = await case_repo.oldest_unacknowledged(session)
        deliveries = await webhook_repo.status_counts(session)
        version, _ = await rules_in_force(session)
    set_open_cases(counts)
    set_unacknowledged_ages(
        {severity: (now - opened).total_seconds() for severity, opened in waiting}
    )
    for status, count in deliveries.items():
        WEBHOOK_DELIVERIES.labels(status).set(count)
    RULES_VERSION.set(version)
