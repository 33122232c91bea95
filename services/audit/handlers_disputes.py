"""Disputes: a moderator (or their team lead) challenges a final verdict, an SME rules on it.

Every state change of a dispute is published as a `modqa.dispute.v1` event on
`audit.disputes` through the outbox; an overturn also publishes the amended verdict on
`audit.verdicts`, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit import repository as repo
from services.audit import repository_admin as admin_repo
from services.audit import repository_verdicts as verdicts_repo
from services.audit.catalog import Catalog
from services.audit.domain.disputes import (
    Challenger,
    NotDisputable,
    Ruling,
    check_disputable,
    check_overturn,
    due_at,
    raised_by,
    status_of,
)
from services.audit.domain.scoring import qa_score
from services.audit.domain.stamps import amendment_stamp, to_event
from services.audit.domain.verdicts import InvalidVerdict, Submission, answer_of, judge
from services.audit.errors import Conflict, NotFound, Refused
from services.audit.handlers_verdicts import (
    ScorecardAnswers,
    set_reference,
    verdict_message,
)
from services.audit.tables import outbox
from shared.db.outbox import OutboxMessage, enqueue
from shared.events import Decision, Dispute, DisputeStatus, Verdict, VerdictPurpose, encode
from shared.ids import new_id
from shared.topics import Topics


def dispute_event(row: Row[Any]) -> Dispute:
    """The event form of a stored dispute."""
    return Dispute(
        dispute_id=row.dispute_id,
        verdict_id=row.verdict_id,
        task_id=row.task_id,
        decision_id=row.decision_id,
        raised_by=row.raised_by,
        reason=row.reason,
        status=DisputeStatus(row.status),
        due_at=row.due_at,
        resolved_by=row.resolved_by,
        resolution_note=row.resolution_note,
        amended_verdict_id=row.amended_verdict_id,
        market=row.market,
        policy_id=row.policy_id,
        moderator_id=row.moderator_id,
        updated_at=row.updated_at,
    )


def _dispute_message(topics: Topics, dispute: Dispute) -> OutboxMessage:
    return OutboxMessage(topics.disputes, encode(dispute), key=dispute.dispute_id.encode())


async def _led_teams(session: AsyncSession, subject: str) -> frozenset[str]:
    """The moderator teams a registered lead leads."""
    record = await admin_repo.get_auditor(session, subject)
    if record is None or not record.active or "lead" not in record.roles:
        return frozenset()
    return frozenset(record.teams)


async def raise_dispute(
    *,
    sessions: async_sessionmaker[AsyncSession],
    topics: Topics,
    verdict_id: str,
    challenger: Challenger,
    on_behalf_of: str | None,
    reason: str,
    sla: dt.timedelta,
    now: dt.datetime,
) -> Dispute:
    """Open a dispute against a final verdict, due for arbitration within the SLA."""
    async with sessions.begin() as session:
        row = await verdicts_repo.get_verdict(session, verdict_id)
        if row is None:
            raise NotFound(f"no verdict {verdict_id}")
        verdict = Verdict.model_validate(row.event)
        decision = verdict.decision
        if decision is None:
            raise Conflict(f"verdict {verdict_id} carries no decision to dispute")
        if challenger.as_lead and on_behalf_of is None:
            challenger = Challenger(
                subject=challenger.subject,
                as_system=challenger.as_system,
                as_lead=True,
                led_teams=await _led_teams(session, challenger.subject),
            )
        by = raised_by(
            challenger,
            on_behalf_of=on_behalf_of,
            moderator_id=decision.moderator_id,
            moderator_team=decision.moderator_team,
        )
        try:
            check_disputable(
                verdict,
                superseded=await verdicts_repo.is_superseded(session, verdict_id),
                disputed_before=await admin_repo.has_dispute(session, verdict_id),
            )
        except NotDisputable as error:
            raise Conflict(str(error)) from error
        stored = await admin_repo.insert_dispute(
            session,
            {
                "dispute_id": new_id(),
                "verdict_id": verdict_id,
                "task_id": verdict.task_id,
                "decision_id": verdict.decision_id,
                "raised_by": by,
                "raised_via": challenger.subject,
                "reason": reason,
                "status": DisputeStatus.OPEN.value,
                "due_at": due_at(now, sla),
                "market": decision.market,
                "policy_id": decision.policy_id,
                "moderator_id": decision.moderator_id,
                "moderator_team": decision.moderator_team,
                "auditor_id": verdict.auditor_id,
                "created_at": now,
                "updated_at": now,
            },
        )
        if stored is None:
            raise Conflict(f"verdict {verdict_id} was disputed before; each is arbitrated once")
        await repo.append_log(
            session,
            at=now,
            actor=challenger.subject,
            action="dispute.opened",
            subject_type="dispute",
            subject_id=stored.dispute_id,
            details={
                "verdict_id": verdict_id,
                "raised_by": by,
                "due_at": stored.due_at.isoformat(),
            },
        )
        event = dispute_event(stored)
        await enqueue(session, outbox, [_dispute_message(topics, event)])
        return event


@dataclass(frozen=True)
class Arbitration:
    """The SME's ruling and, for an overturn, the amended verdict."""

    dispute: Dispute
    amended: Verdict | None


async def arbitrate(
    *,
    sessions: async_sessionmaker[AsyncSession],
    catalog: Catalog,
    topics: Topics,
    dispute_id: str,
    sme_id: str,
    ruling: Ruling,
    note: str,
    label: Submission | None,
    scorecard_answers: ScorecardAnswers | None,
    now: dt.datetime,
) -> Arbitration:
    """Uphold or overturn a disputed verdict; an overturn emits exactly one amended verdict that
    supersedes it. The same ruling repeated by the same SME returns the first result."""
    async with sessions.begin() as session:
        row = await admin_repo.lock_dispute(session, dispute_id)
        if row is None:
            raise NotFound(f"no dispute {dispute_id}")
        if row.status != DisputeStatus.OPEN:
            if row.resolved_by == sme_id and row.status == status_of(ruling):
                amended_row = (
                    await verdicts_repo.get_verdict(session, row.amended_verdict_id)
                    if row.amended_verdict_id
                    else None
                )
                return Arbitration(
                    dispute_event(row),
                    Verdict.model_validate(amended_row.event) if amended_row else None,
                )
            raise Conflict(f"dispute {dispute_id} was already ruled on ({row.status})")
        original_row = await verdicts_repo.get_verdict(session, row.verdict_id)
        assert original_row is not None
        original = Verdict.model_validate(original_row.event)
        if original.auditor_id == sme_id:
            raise Refused("you wrote the disputed verdict; another SME must rule on it")
        amended = None
        if ruling is Ruling.OVERTURN:
            if label is None:
                raise InvalidVerdict("label: an overturn needs the correct judgement")
            amended = await _amend(
                session, catalog, original, sme_id, label, scorecard_answers, now
            )
        elif label is not None:
            raise InvalidVerdict("label: only an overturn carries a new judgement")
        resolved = await admin_repo.resolve_dispute(
            session,
            dispute_id,
            status=status_of(ruling).value,
            resolved_by=sme_id,
            resolution_note=note,
            amended_verdict_id=amended.verdict_id if amended else None,
            updated_at=now,
        )
        await repo.append_log(
            session,
            at=now,
            actor=sme_id,
            action=f"dispute.{resolved.status}",
            subject_type="dispute",
            subject_id=dispute_id,
            details={
                "verdict_id": original.verdict_id,
                "amended_verdict_id": resolved.amended_verdict_id,
            },
        )
        event = dispute_event(resolved)
        messages = [_dispute_message(topics, event)]
        if amended is not None:
            messages.insert(0, verdict_message(topics, amended))
        await enqueue(session, outbox, messages)
        return Arbitration(event, amended)


async def _amend(
    session: AsyncSession,
    catalog: Catalog,
    original: Verdict,
    sme_id: str,
    label: Submission,
    scorecard_answers: ScorecardAnswers | None,
    now: dt.datetime,
) -> Verdict:
    """Store the amended verdict that replaces `original` (and the round's reference with it)."""
    task = await repo.lock_task(session, original.task_id)
    assert task is not None
    decision = Decision.model_validate(task.decision)
    judgement = judge(label, decision, await catalog.taxonomy(session), blind=False, on=now.date())
    check_overturn(answer_of(original), judgement.answer)
    stamp = amendment_stamp(original, policy_version=judgement.policy_version)
    if scorecard_answers is not None:
        if original.scorecard_id is None or original.scorecard_version is None:
            raise InvalidVerdict("scorecard: the disputed verdict was not scored")
        scorecard = await catalog.scorecard(
            session, original.scorecard_id, original.scorecard_version
        )
        assert scorecard is not None
        stamp = replace(stamp, qa_score=qa_score(scorecard, scorecard_answers))
    amended = to_event(
        verdict_id=new_id(),
        task_id=original.task_id,
        decision=decision,
        auditor_id=sme_id,
        answer=judgement.answer,
        submitted_at=now,
        stamp=stamp,
    )
    await verdicts_repo.insert_verdict(
        session,
        amended,
        scorecard_answers={k: v.value for k, v in scorecard_answers.items()}
        if scorecard_answers
        else None,
    )
    if original.purpose is VerdictPurpose.CALIBRATION:
        reviews = await verdicts_repo.reviews_of(session, original.task_id)
        await set_reference(session, original.task_id, judgement.answer, reviews)
    return amended
