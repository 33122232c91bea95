"""The consequences of changes inside one transaction: history rows, outbox events (cases,
corrections, targeting), webhook deliveries, and the metrics counted once it commits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.escalation.domain.cases import (
    CLOSED_STATES,
    OPEN_STATES,
    add_evidence,
    fresh,
    open_case,
)
from services.escalation.domain.corrections import CorrectionKind
from services.escalation.domain.rules import RuleSet
from services.escalation.domain.targeting import lifted, targeting_for
from services.escalation.domain.triggers import CaseTrigger
from services.escalation.domain.webhooks import (
    Notification,
    case_notification,
    correction_notification,
)
from services.escalation.metrics import (
    CASES_CHANGED,
    CORRECTIONS_ISSUED,
    TIME_TO_ACKNOWLEDGE,
    TIME_TO_RESOLVE,
    VERDICT_SUBMITTED_HEADER,
)
from services.escalation.repository import cases as case_repo
from services.escalation.repository import corrections as correction_repo
from services.escalation.repository import targeting as targeting_repo
from services.escalation.repository import webhooks as webhook_repo
from services.escalation.tables import outbox
from shared.db.outbox import OutboxMessage, enqueue
from shared.events import CaseStatus, Correction, Escalation, TargetingRule, encode
from shared.observability.tracing import TRACEPARENT, child_of
from shared.topics import Topics

Emitted = tuple[Correction, CorrectionKind, dt.datetime]
"""A correction, its kind, and when the verdict behind it was submitted."""


class ChangeSet:
    """Collects what one transaction changed; `flush` before commit, `committed` after."""

    def __init__(
        self,
        session: AsyncSession,
        *,
        topics: Topics,
        rules: RuleSet,
        now: dt.datetime,
        traces: dict[str, str] | None = None,
    ) -> None:
        self.session = session
        self.traces = traces or {}
        self.topics = topics
        self.rules = rules
        self.now = now
        self._messages: list[OutboxMessage] = []
        self._notifications: list[Notification] = []
        self._after_commit: list[Callable[[], None]] = []

    async def apply_trigger(self, trigger: CaseTrigger) -> Escalation | None:
        """Open a case for the trigger, or grow the open one; returns the case it concerns."""
        kind, subject = trigger.kind.value, trigger.subject
        existing = await case_repo.open_case_for(self.session, kind=kind, subject=subject)
        if existing is None:
            handled = await case_repo.handled_evidence(self.session, kind=kind, subject=subject)
            new = fresh(trigger, handled)
            if new is None:
                return None
            case = open_case(new, sla=self.rules.sla, now=self.now)
            if await case_repo.insert_case(self.session, case):
                await self._record(case, previous=None)
                return case
            existing = await case_repo.open_case_for(self.session, kind=kind, subject=subject)
            if existing is None:
                return None  # that very case exists and is closed: a replay
        grown = add_evidence(existing, trigger, now=self.now)
        if grown is None:
            return existing
        await self.save(grown, previous=existing)
        return grown

    async def save(
        self,
        case: Escalation,
        *,
        previous: Escalation,
        note: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Store a changed case and everything that follows from the change."""
        acknowledged = previous.status is CaseStatus.OPEN and case.status in (
            CaseStatus.ACKNOWLEDGED,
            CaseStatus.INVESTIGATING,
        )
        closed = case.status in CLOSED_STATES and previous.status in OPEN_STATES
        await case_repo.save_case(
            self.session,
            case,
            acknowledged_at=self.now if acknowledged else None,
            closed_at=self.now if closed else None,
        )
        await self._record(case, previous=previous, note=note, details=details)
        opened = case.opened_at or previous.updated_at
        kind, severity = case.kind.value, case.severity.value
        if acknowledged:
            waited = (self.now - opened).total_seconds()
            self.after_commit(lambda: TIME_TO_ACKNOWLEDGE.labels(kind, severity).observe(waited))
        if closed:
            took = (self.now - opened).total_seconds()
            outcome = case.status.value
            self.after_commit(lambda: TIME_TO_RESOLVE.labels(kind, outcome).observe(took))
            for rule in await targeting_repo.active_targeting_of(self.session, case.escalation_id):
                await self.targeting(lifted(rule, now=self.now), lifetime=None)

    async def _record(
        self,
        case: Escalation,
        *,
        previous: Escalation | None,
        note: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        await case_repo.append_history(
            self.session,
            case,
            from_status=previous.status.value if previous else None,
            note=note,
            details=details or {},
        )
        self._messages.append(
            OutboxMessage(
                self.topics.escalations,
                encode(case),
                key=case.escalation_id.encode(),
                headers=self._trace(*reversed(case.evidence)),
            )
        )
        self._notifications.append(case_notification(case))
        kind, change = case.kind.value, case.change or "changed"
        self.after_commit(lambda: CASES_CHANGED.labels(kind, change).inc())
        if previous is None:
            target = self.rules.target_for(case.rule_id)
            rule = targeting_for(case, target, now=self.now)
            if rule is not None and target is not None:
                await self.targeting(rule, lifetime=target.expires_after)

    async def targeting(self, rule: TargetingRule, *, lifetime: dt.timedelta | None) -> None:
        """Store and publish a targeting rule's new state (lifetime None: keep the stored one)."""
        if lifetime is None:
            lifetime = rule.expires_at - rule.updated_at
        await targeting_repo.save_targeting(self.session, rule, lifetime=lifetime)
        self._messages.append(
            OutboxMessage(self.topics.targeting, encode(rule), key=rule.rule_id.encode())
        )

    async def corrections(self, emitted: Sequence[Emitted]) -> None:
        """Store and publish corrections once each, and notify their subscribers."""
        new = await correction_repo.insert_corrections(
            self.session, [(correction, kind) for correction, kind, _ in emitted]
        )
        for correction, kind, verdict_submitted_at in emitted:
            if correction.correction_id not in new:
                continue
            self._messages.append(
                OutboxMessage(
                    self.topics.corrections,
                    encode(correction),
                    key=correction.content_id.encode(),
                    headers=[
                        (VERDICT_SUBMITTED_HEADER, verdict_submitted_at.isoformat()),
                        *self._trace(correction.verdict_id),
                    ],
                )
            )
            self._notifications.append(correction_notification(correction, kind.value))
            self.after_commit(CORRECTIONS_ISSUED.labels(kind.value).inc)

    def _trace(self, *verdict_ids: str) -> list[tuple[str, str]]:
        """A trace header continuing the first of these verdicts' traces that we know."""
        for verdict_id in verdict_ids:
            parent = self.traces.get(verdict_id)
            if parent is not None:
                return [(TRACEPARENT, child_of(parent))]
        return []

    async def flush(self) -> None:
        """Write the collected events to the outbox and the webhook queue."""
        await enqueue(self.session, outbox, self._messages)
        await webhook_repo.enqueue(self.session, self._notifications, now=self.now)
        self._messages, self._notifications = [], []

    def committed(self) -> None:
        """Count what the committed transaction did."""
        for effect in self._after_commit:
            effect()
        self._after_commit = []

    def after_commit(self, effect: Callable[[], None]) -> None:
        """Run `effect` once the transaction has committed (see `committed`)."""
        self._after_commit.append(effect)
