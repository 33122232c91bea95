"""Escalation events and commands: one function each, one transaction each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.escalation import repository
from services.escalation.domain import (
    CaseTrigger,
    add_evidence,
    correction_for,
    open_case,
    triggers_for,
)
from services.escalation.metrics import CASES_CHANGED, CORRECTIONS_ISSUED
from services.escalation.tables import outbox
from shared.db.outbox import OutboxMessage, enqueue
from shared.events import Escalation, Verdict, encode
from shared.topics import Topics


async def handle_verdicts(
    *,
    sessions: async_sessionmaker[AsyncSession],
    topics: Topics,
    batch: Sequence[Verdict],
    now: dt.datetime,
) -> None:
    """Open or extend cases and issue corrections for a batch of verdicts, idempotently."""
    async with sessions.begin() as session:
        messages: list[OutboxMessage] = []
        for verdict in batch:
            for trigger in triggers_for(verdict):
                case = await _apply_trigger(session, trigger, now)
                if case is not None:
                    messages.append(_case_message(topics, case))
            correction = correction_for(verdict, now=now)
            if correction is not None and await repository.insert_correction(session, correction):
                CORRECTIONS_ISSUED.inc()
                messages.append(
                    OutboxMessage(
                        topics.corrections, encode(correction), key=correction.content_id.encode()
                    )
                )
        await enqueue(session, outbox, messages)


async def _apply_trigger(
    session: AsyncSession, trigger: CaseTrigger, now: dt.datetime
) -> Escalation | None:
    existing = await repository.open_case_for(
        session, kind=trigger.kind.value, subject=trigger.subject
    )
    if existing is None:
        case = open_case(trigger, now=now)
        if not await repository.insert_case(session, case):
            return None
        CASES_CHANGED.labels(case.kind.value, "opened").inc()
        return case
    updated = add_evidence(existing, trigger, now=now)
    if updated is None:
        return None
    await repository.save_case(session, updated)
    CASES_CHANGED.labels(updated.kind.value, "updated").inc()
    return updated


def _case_message(topics: Topics, case: Escalation) -> OutboxMessage:
    return OutboxMessage(topics.escalations, encode(case), key=case.escalation_id.encode())
