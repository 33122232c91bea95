"""Verdict commands: an auditor's verdict (primary, calibration, gold), the closing of a
calibration round, and the SME's adjudication when the round disagreed.

One transaction each; every verdict event goes to the outbox in the transaction that stores
the verdict, and every change is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit import repository as repo
from services.audit import repository_admin as admin_repo
from services.audit.domain.scoring import CriterionAnswer, Scorecard, qa_score
from services.audit.domain.verdicts import (
    InvalidVerdict,
    LeaseStatus,
    Submission,
    TaskStatus,
    answer_of,
    closing_stamp,
    judge,
    pool_status,
    reference_label,
    review_stamp,
    round_agrees,
    same_judgement,
    to_event,
    with_notes,
)
from services.audit.errors import Conflict, NotFound, Refused
from services.audit.handlers import SYSTEM_ACTOR, active_lease
from services.audit.tables import outbox
from shared.db.outbox import OutboxMessage, enqueue
from shared.events import Action, Decision, Verdict, VerdictPurpose, encode
from shared.ids import new_id
from shared.taxonomy import Taxonomy
from shared.topics import Topics

CONSENSUS_AUDITOR = "calibration-consensus"
"""The auditor id of the closing verdict of a calibration round whose reviewers agreed."""

ScorecardAnswers = Mapping[str, CriterionAnswer]


async def taxonomy_of(session: AsyncSession) -> Taxonomy:
    taxonomy = await admin_repo.load_taxonomy(session)
    if taxonomy is None:
        raise Conflict("no policy taxonomy is stored yet; the service seeds it at start")
    return taxonomy


def _score(
    scorecard: Scorecard | None, answers: ScorecardAnswers | None
) -> tuple[float | None, ScorecardAnswers | None]:
    if scorecard is None:
        if answers:
            raise InvalidVerdict("scorecard: this task's queue had no scorecard when you claimed")
        return None, None
    if answers is None:
        raise InvalidVerdict(
            f"scorecard: answer scorecard '{scorecard.scorecard_id}' v{scorecard.version} "
            "(every criterion: pass, fail or na)"
        )
    return qa_score(scorecard, answers), answers


def verdict_message(topics: Topics, verdict: Verdict) -> OutboxMessage:
    return OutboxMessage(topics.verdicts, encode(verdict), key=verdict.task_id.encode())


async def submit_verdict(
    *,
    sessions: async_sessionmaker[AsyncSession],
    topics: Topics,
    task_id: str,
    auditor_id: str,
    submission: Submission,
    scorecard_answers: ScorecardAnswers | None,
    idempotency_key: str | None,
    now: dt.datetime,
) -> Verdict:
    """Record the auditor's verdict once and queue its event (and, when it closes an agreeing
    calibration round, the closing verdict's) in the same transaction."""
    async with sessions.begin() as session:
        task = await repo.lock_task(session, task_id)
        if task is None:
            raise NotFound(f"no task {task_id}")
        if idempotency_key:
            earlier = await repo.verdict_by_key(session, auditor_id=auditor_id, key=idempotency_key)
            if earlier is not None:
                if earlier.task_id != task_id:
                    raise Conflict(
                        "Idempotency-Key: already used for a verdict on another task; "
                        "use one key per verdict"
                    )
                return Verdict.model_validate(earlier.event)
        held = await active_lease(session, task_id, auditor_id)
        taxonomy = await taxonomy_of(session)
        decision = Decision.model_validate(task.decision)
        judgement = judge(submission, decision, taxonomy, blind=task.blind, on=now.date())
        scorecard = (
            await admin_repo.get_scorecard(session, held.scorecard_id, held.scorecard_version)
            if held.scorecard_id
            else None
        )
        score, answers = _score(scorecard, scorecard_answers)
        purpose = VerdictPurpose(task.purpose)
        gold_correct = (
            same_judgement(judgement.answer, _gold_reference(task, decision, taxonomy, now))
            if purpose is VerdictPurpose.GOLD
            else None
        )
        stamp = review_stamp(
            purpose=purpose,
            reviews_before=task.reviews_done,
            blind=task.blind,
            policy_version=judgement.policy_version,
            gold_correct=gold_correct,
        )
        if scorecard is not None:
            stamp = replace(
                stamp,
                scorecard_id=scorecard.scorecard_id,
                scorecard_version=scorecard.version,
                qa_score=score,
            )
        verdict = to_event(
            verdict_id=new_id(),
            task_id=task_id,
            decision=decision,
            auditor_id=auditor_id,
            answer=judgement.answer,
            submitted_at=now,
            stamp=stamp,
        )
        await repo.insert_verdict(
            session,
            verdict,
            idempotency_key=idempotency_key,
            scorecard_answers={k: v.value for k, v in answers.items()} if answers else None,
            reference_match=gold_correct,
        )
        await repo.set_lease(
            session, task_id, auditor_id, status=LeaseStatus.COMPLETED.value, ended_at=now
        )
        messages = [verdict]
        done = task.reviews_done + 1
        active = task.active_leases - 1
        status = pool_status(
            required=task.required_reviews,
            active=active,
            done=done,
            lapsed=task.status == TaskStatus.EXPIRED,
        )
        if done >= task.required_reviews:
            status = TaskStatus.COMPLETED
            if purpose is VerdictPurpose.CALIBRATION:
                closing = await _close_agreeing_round(session, task, decision, now)
                if closing is None:
                    status = TaskStatus.ADJUDICATING
                else:
                    messages.append(closing)
        await repo.set_task(
            session,
            task_id,
            active_leases=active,
            reviews_done=done,
            status=status.value,
            completed_at=now if status is TaskStatus.COMPLETED else None,
        )
        await repo.append_log(
            session,
            at=now,
            actor=auditor_id,
            action="verdict.recorded",
            subject_type="task",
            subject_id=task_id,
            details={
                "verdict_id": verdict.verdict_id,
                "outcome": verdict.outcome.value,
                "purpose": purpose.value,
                "round": verdict.round,
                "task_status": status.value,
            },
        )
        await enqueue(session, outbox, [verdict_message(topics, v) for v in messages])
        return verdict


def _gold_reference(
    task: Row[Any], decision: Decision, taxonomy: Taxonomy, now: dt.datetime
) -> Submission:
    answer = task.gold_answer or {}
    return reference_label(
        decision,
        taxonomy,
        expected_action=Action(answer["expected_action"]),
        expected_policy_id=answer.get("expected_policy_id"),
        on=now.date(),
    )


async def _close_agreeing_round(
    session: AsyncSession, task: Row[Any], decision: Decision, now: dt.datetime
) -> Verdict | None:
    """The closing verdict of a round whose reviewers agree (None when they disagree)."""
    reviews = await repo.reviews_of(session, task.task_id)
    answers = [answer_of(r) for r in reviews]
    if not round_agrees(answers):
        return None
    reference = with_notes(answers[0], f"consensus of {len(reviews)} calibration reviews")
    closing = to_event(
        verdict_id=new_id(),
        task_id=task.task_id,
        decision=decision,
        auditor_id=CONSENSUS_AUDITOR,
        answer=reference,
        submitted_at=now,
        stamp=closing_stamp(reviews=reviews, agreed=True, blind=task.blind),
    )
    await repo.insert_verdict(session, closing)
    await set_reference(session, task.task_id, reference, reviews)
    await repo.append_log(
        session,
        at=now,
        actor=SYSTEM_ACTOR,
        action="calibration.closed",
        subject_type="task",
        subject_id=task.task_id,
        details={"verdict_id": closing.verdict_id, "agreed": True, "reviews": len(reviews)},
    )
    return closing


async def set_reference(
    session: AsyncSession, task_id: str, reference: Submission, reviews: Sequence[Verdict]
) -> None:
    """Make a label the task's reference and record which reviews matched it."""
    await repo.set_task(
        session,
        task_id,
        reference={
            "outcome": reference.outcome.value if reference.outcome else None,
            "expected_action": reference.expected_action.value
            if reference.expected_action
            else None,
            "expected_policy_id": reference.expected_policy_id,
        },
    )
    await repo.set_reference_matches(
        session, {r.verdict_id: same_judgement(answer_of(r), reference) for r in reviews}
    )


async def adjudicate(
    *,
    sessions: async_sessionmaker[AsyncSession],
    topics: Topics,
    task_id: str,
    sme_id: str,
    submission: Submission,
    now: dt.datetime,
) -> Verdict:
    """The SME's label for a calibration round that disagreed: it closes the round, becomes the
    reference, and is the verdict that counts. Repeating it returns the same verdict."""
    async with sessions.begin() as session:
        task = await repo.lock_task(session, task_id)
        if task is None:
            raise NotFound(f"no task {task_id}")
        if task.status != TaskStatus.ADJUDICATING:
            earlier = await repo.closing_verdict(session, task_id)
            if earlier is not None and earlier.auditor_id == sme_id:
                return Verdict.model_validate(earlier.event)
            raise Conflict(f"task {task_id} is not waiting for adjudication ({task.status})")
        reviews = await repo.reviews_of(session, task_id)
        if any(r.auditor_id == sme_id for r in reviews):
            raise Refused("you reviewed this calibration round; another SME must adjudicate it")
        taxonomy = await taxonomy_of(session)
        decision = Decision.model_validate(task.decision)
        judgement = judge(submission, decision, taxonomy, blind=False, on=now.date())
        stamp = replace(
            closing_stamp(reviews=reviews, agreed=False, blind=task.blind),
            policy_version=judgement.policy_version,
        )
        closing = to_event(
            verdict_id=new_id(),
            task_id=task_id,
            decision=decision,
            auditor_id=sme_id,
            answer=judgement.answer,
            submitted_at=now,
            stamp=stamp,
        )
        await repo.insert_verdict(session, closing)
        await set_reference(session, task_id, judgement.answer, reviews)
        await repo.set_task(session, task_id, status=TaskStatus.COMPLETED.value, completed_at=now)
        await repo.append_log(
            session,
            at=now,
            actor=sme_id,
            action="calibration.adjudicated",
            subject_type="task",
            subject_id=task_id,
            details={"verdict_id": closing.verdict_id, "outcome": closing.outcome.value},
        )
        await enqueue(session, outbox, [verdict_message(topics, closing)])
        return closing
