"""Consumed events (verdicts, disputes, drift signals): one batch, one transaction.

Idempotent: a verdict or signal id seen before, or a dispute state already known, changes
nothing, so a batch replayed after a crash (offsets are committed after this commit) is absorbed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.escalation.changes import ChangeSet, Emitted
from services.escalation.domain.cases import close_by_system
from services.escalation.domain.corrections import DecisionCorrection, on_final_verdict
from services.escalation.domain.rules import RuleSet
from services.escalation.domain.triggers import (
    MAX_EVIDENCE_PER_TRIGGER,
    CaseTrigger,
    accuracy_trigger,
    counts_for_quality,
    critical_miss_triggers,
    drift_triggers,
    gap_figures,
    policy_gap_trigger,
)
from services.escalation.repository import cases as case_repo
from services.escalation.repository import corrections as correction_repo
from services.escalation.repository import events as event_repo
from services.escalation.repository.events import GapKey, gap_key
from services.escalation.rule_handlers import rules_in_force
from shared.events import Dispute, DisputeStatus, DriftSignal, Outcome, Verdict
from shared.topics import Topics

ConsumedEvent = Verdict | Dispute | DriftSignal


@dataclass
class _Batch:
    """What one batch touched, to evaluate the windowed rules once per subject at the end."""

    triggers: list[CaseTrigger] = field(default_factory=list)
    moderators: set[str] = field(default_factory=set)
    market_policies: set[tuple[str, str]] = field(default_factory=set)
    gaps: dict[GapKey, Counter[str]] = field(default_factory=dict)

    def count(self, market: str, policy_id: str, at: dt.datetime, **increments: int) -> None:
        """Add to a market and policy's counters for the hour of `at`."""
        counts = self.gaps.setdefault(gap_key(market, policy_id, at), Counter())
        counts.update(increments)
        self.market_policies.add((market, policy_id))


async def handle_events(
    *,
    sessions: async_sessionmaker[AsyncSession],
    topics: Topics,
    batch: Sequence[ConsumedEvent],
    now: dt.datetime,
    traces: dict[str, str] | None = None,
) -> None:
    """Apply a batch of consumed events: corrections, counters, then the rules in force.
    `traces` maps verdict ids to the trace context their records carried."""
    async with sessions.begin() as session:
        _, rules = await rules_in_force(session)
        changes = ChangeSet(session, topics=topics, rules=rules, now=now, traces=traces)
        touched = _Batch()
        verdicts = [e for e in batch if isinstance(e, Verdict) and counts_for_quality(e)]
        await _on_verdicts(session, changes, rules, touched, verdicts)
        for event in batch:
            if isinstance(event, Dispute):
                await _on_dispute(session, changes, touched, event)
            elif isinstance(event, DriftSignal):
                await _on_signal(session, rules, touched, event)
        await event_repo.count_gaps(session, {k: dict(v) for k, v in touched.gaps.items()})
        await _evaluate_windows(session, rules, touched, now)
        for trigger in touched.triggers:
            await changes.apply_trigger(trigger)
        await changes.flush()
    changes.committed()


async def handle_verdicts(
    *,
    sessions: async_sessionmaker[AsyncSession],
    topics: Topics,
    batch: Sequence[Verdict],
    now: dt.datetime,
) -> None:
    """A batch of verdicts only (see handle_events)."""
    await handle_events(sessions=sessions, topics=topics, batch=batch, now=now)


async def _on_verdicts(
    session: AsyncSession,
    changes: ChangeSet,
    rules: RuleSet,
    touched: _Batch,
    batch: list[Verdict],
) -> None:
    """Final verdicts only: calibration reviews and gold answers do not count."""
    counted = await event_repo.record_verdicts(session, batch)
    states = await correction_repo.lock_decision_corrections(
        session, [v.decision_id for v in counted]
    )
    changed: dict[str, DecisionCorrection] = {}
    emitted: list[Emitted] = []
    for verdict in counted:
        step = on_final_verdict(verdict, states.get(verdict.decision_id), now=changes.now)
        if step is not None:
            states[verdict.decision_id] = changed[verdict.decision_id] = step.state
            if step.emitted is not None and step.kind is not None:
                emitted.append((step.emitted, step.kind, verdict.submitted_at))
        touched.triggers += critical_miss_triggers(verdict, rules)
        decision = verdict.decision
        if decision is None:
            continue
        if verdict.outcome is not Outcome.UNSURE:
            touched.moderators.add(decision.moderator_id)
        if verdict.supersedes is None:
            touched.count(
                decision.market,
                decision.policy_id,
                verdict.submitted_at,
                verdicts=1,
                unsure=int(verdict.outcome is Outcome.UNSURE),
                calibrations=int(verdict.calibration_agreed is not None),
                calibration_disagreed=int(verdict.calibration_agreed is False),
            )
    await correction_repo.save_decision_corrections(
        session, list(changed.values()), now=changes.now
    )
    await changes.corrections(emitted)


async def _on_dispute(
    session: AsyncSession, changes: ChangeSet, touched: _Batch, dispute: Dispute
) -> None:
    change = await event_repo.record_dispute(session, dispute)
    if not change.newly_resolved:
        return  # an open dispute's SLA is watched by the timers
    touched.count(
        dispute.market,
        dispute.policy_id,
        dispute.updated_at,
        disputes_resolved=1,
        disputes_overturned=int(dispute.status is DisputeStatus.OVERTURNED),
    )
    if change.overdue_case_id is None:
        return
    case = await case_repo.lock_case(session, change.overdue_case_id)
    if case is None:
        return
    by = f" by {dispute.resolved_by}" if dispute.resolved_by else ""
    closed = close_by_system(
        case, resolution=f"dispute {dispute.status.value}{by}", now=changes.now
    )
    if closed is not None:
        await changes.save(closed, previous=case)


async def _on_signal(
    session: AsyncSession, rules: RuleSet, touched: _Batch, signal: DriftSignal
) -> None:
    if await event_repo.record_signal(session, signal):
        touched.triggers += drift_triggers(signal, rules)


async def _evaluate_windows(
    session: AsyncSession, rules: RuleSet, touched: _Batch, now: dt.datetime
) -> None:
    performance = rules.moderator_performance()
    if performance:
        longest = max(rule.last_n for rule in performance)
        windows = await event_repo.moderator_windows(
            session, sorted(touched.moderators), limit=longest
        )
        for window in windows:
            trigger = next(
                (t for rule in performance if (t := accuracy_trigger(rule, window))), None
            )
            if trigger is not None:  # one case per subject: the first rule that fires speaks
                touched.triggers.append(trigger)
    fired: set[tuple[str, str]] = set()
    for gap in rules.policy_gap():
        since = now - gap.window
        pairs = sorted(touched.market_policies - fired)
        for counts in await event_repo.gap_counts(session, pairs, since=since, until=now):
            figures = gap_figures(gap, counts)
            if not figures:
                continue
            evidence = await event_repo.gap_evidence(
                session,
                market=counts.market,
                policy_id=counts.policy_id,
                since=since,
                figures={figure.name for figure in figures},
                limit=MAX_EVIDENCE_PER_TRIGGER,
            )
            trigger = policy_gap_trigger(gap, counts, figures, evidence)
            if trigger is not None:
                touched.triggers.append(trigger)
                fired.add((counts.market, counts.policy_id))
