"""Metrics events and queries: one function each, one transaction each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics import repository
from services.metrics.domain.detectors import MAX_EVIDENCE, feeds_drift, signal_for, subjects_of
from services.metrics.domain.drift import CusumDesign, step
from services.metrics.metrics import DRIFT_SIGNALS
from services.metrics.tables import outbox
from shared.db.outbox import OutboxMessage, enqueue
from shared.events import DriftSignal, Escalation, Outcome, Task, Verdict, encode
from shared.topics import Topics

Event = Task | Verdict | Escalation


async def record_events(
    *,
    sessions: async_sessionmaker[AsyncSession],
    topics: Topics,
    design: CusumDesign,
    batch: Sequence[Event],
    now: dt.datetime,
) -> list[DriftSignal]:
    """Store consumed events idempotently and feed new final verdicts to the drift detectors,
    all in one transaction; return the drift signals raised."""
    verdict_batch = [e for e in batch if isinstance(e, Verdict)]
    async with sessions.begin() as session:
        await repository.insert_tasks(session, [e for e in batch if isinstance(e, Task)])
        new = await repository.insert_verdicts(session, verdict_batch)
        await repository.upsert_cases(session, [e for e in batch if isinstance(e, Escalation)])
        fresh = sorted(
            (v for v in verdict_batch if v.verdict_id in new and feeds_drift(v)),
            key=lambda v: (v.submitted_at, v.verdict_id),
        )
        raised = await _feed_detectors(session, design, fresh, now)
        await enqueue(
            session,
            outbox,
            [
                OutboxMessage(topics.signals, encode(signal), key=signal.signal_id.encode())
                for signal in raised
            ],
        )
    for signal in raised:
        DRIFT_SIGNALS.labels(signal.scope.value).inc()
    return raised


async def _feed_detectors(
    session: AsyncSession, design: CusumDesign, verdicts: list[Verdict], now: dt.datetime
) -> list[DriftSignal]:
    raised: list[DriftSignal] = []
    for verdict in verdicts:
        error = verdict.outcome is Outcome.INCORRECT
        for subject in subjects_of(verdict):
            before, recent = await repository.load_detector(
                session, subject.scope.value, subject.key
            )
            after, signalled = step(design, before, error)
            evidence = ([*recent, verdict.verdict_id] if error else recent)[-MAX_EVIDENCE:]
            if signalled:
                statistic = before.statistic + (design.up if error else design.down)
                signal = signal_for(subject, design, before, error, statistic, evidence, now)
                await repository.insert_signal(
                    session,
                    {
                        "signal_id": signal.signal_id,
                        "scope": subject.scope.value,
                        "subject": subject.key,
                        "baseline_error_rate": signal.baseline_error_rate,
                        "recent_error_rate": signal.recent_error_rate,
                        "statistic": signal.statistic,
                        "threshold": signal.threshold,
                        "audits": signal.audits,
                        "detected_at": now,
                    },
                )
                raised.append(signal)
                evidence = []
            await repository.save_detector(
                session,
                scope=subject.scope.value,
                subject=subject.key,
                state=after,
                recent=evidence,
                team=subject.moderator_team,
                now=now,
            )
    return raised
