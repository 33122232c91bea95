"""Verdict commands: an auditor's verdict (primary, calibration, gold), the closing of a
calibration round, and the SME's adjudication when the round disagreed.

One transaction each; every verdict event goes to the outbox in the transaction that stores
the verdict, and every change is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import Insert, Update

from services.audit import driver, metrics
from services.audit import repository as repo
from services.audit import repository_verdicts as verdicts_repo
from services.audit.catalog import Catalog
from services.audit.domain.scoring import CriterionAnswer, Scorecard, qa_score
from services.audit.domain.stamps import closing_stamp, review_stamp, to_event
from services.audit.domain.verdicts import (
    InvalidVerdict,
    LeaseStatus,
    Submission,
    TaskStatus,
    answer_of,
    judge,
    pool_status,
    reference_label,
    round_agrees,
    same_judgement,
    with_notes,
)
from services.audit.driver import Columns, JsonText
from services.audit.errors import Conflict, NotFound, Refused
from services.audit.handlers import SYSTEM_ACTOR
from services.audit.tables import outbox
from shared.db.outbox import OutboxMessage, enqueue, enqueue_statement
from shared.events import Action, Decision, Verdict, VerdictPurpose, encode
from shared.ids import new_id
from shared.observability.tracing import TRACEPARENT, child_of
from shared.taxonomy import Taxonomy
from shared.topics import Topics

CONSENSUS_AUDITOR = "calibration-consensus"
"""The auditor id of the closing verdict of a calibration round whose reviewers agreed."""

ScorecardAnswers = Mapping[str, CriterionAnswer]


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


def verdict_message(
    topics: Topics,
    verdict: Verdict,
    task_traceparent: str | None = None,
    encoded: bytes | None = None,
) -> OutboxMessage:
    """The verdict event (`encoded`: its wire form, when the caller has it), in a new span of
    its task's trace (a new trace for a task that arrived without one)."""
    return OutboxMessage(
        topics.verdicts,
        encoded if encoded is not None else encode(verdict),
        key=verdict.task_id.encode(),
        headers=[(TRACEPARENT, child_of(task_traceparent))],
    )


async def submit_verdict(
    *,
    sessions: async_sessionmaker[AsyncSession],
    catalog: Catalog,
    topics: Topics,
    task_id: str,
    auditor_id: str,
    submission: Submission,
    scorecard_answers: ScorecardAnswers | None,
    idempotency_key: str | None,
    now: dt.datetime,
) -> Verdict:
    """Record the auditor's verdict once and queue its event (and, when it closes an agreeing
    calibration round, the closing verdict's) in the same transaction. The writes go to the
    database as one statement. A new verdict is counted in the pool's metrics once committed
    (a retry that returns the first result is not)."""
    verdict, lease = await _record_verdict(
        sessions=sessions,
        catalog=catalog,
        topics=topics,
        task_id=task_id,
        auditor_id=auditor_id,
        submission=submission,
        scorecard_answers=scorecard_answers,
        idempotency_key=idempotency_key,
        now=now,
    )
    if lease is not None:
        pool, leased_at = lease
        metrics.verdict_recorded(
            pool=pool, outcome=verdict.outcome.value, handle_s=(now - leased_at).total_seconds()
        )
    return verdict


async def _record_verdict(
    *,
    sessions: async_sessionmaker[AsyncSession],
    catalog: Catalog,
    topics: Topics,
    task_id: str,
    auditor_id: str,
    submission: Submission,
    scorecard_answers: ScorecardAnswers | None,
    idempotency_key: str | None,
    now: dt.datetime,
) -> tuple[Verdict, tuple[str, dt.datetime] | None]:
    """The verdict, and (pool, leased at) of the lease it ended (None for a repeated key)."""
    async with driver.transaction(sessions) as tx:
        task = await repo.lock_task_with_lease(tx, task_id, auditor_id)
        if task is None:
            raise NotFound(f"no task {task_id}")
        if task.lease_status != LeaseStatus.ACTIVE:
            earlier = (
                await verdicts_repo.verdict_by_key(
                    tx.session, auditor_id=auditor_id, key=idempotency_key
                )
                if idempotency_key
                else None
            )
            if earlier is None:
                state = task.lease_status or "never leased to you"
                raise Conflict(f"task {task_id} is not leased to you ({state}); claim a task first")
            if earlier.task_id != task_id:
                raise _key_reused()
            return Verdict.model_validate(earlier.event), None
        # the reference data is nearly always cached: no session (a savepoint) without a miss
        taxonomy = catalog.fresh_taxonomy() or await catalog.taxonomy(tx.session)
        decision = Decision.model_validate(task.decision)
        judgement = judge(submission, decision, taxonomy, blind=task.blind, on=now.date())
        scorecard = (
            catalog.known_scorecard(task.lease_scorecard_id, task.lease_scorecard_version)
            or await catalog.scorecard(
                tx.session, task.lease_scorecard_id, task.lease_scorecard_version
            )
            if task.lease_scorecard_id
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
        done = task.reviews_done + 1
        active = task.active_leases - 1
        status = pool_status(
            required=task.required_reviews,
            active=active,
            done=done,
            lapsed=task.status == TaskStatus.EXPIRED,
        )
        closing_writes: list[Insert | Update] = []
        matched = gold_correct
        if done >= task.required_reviews:
            status = TaskStatus.COMPLETED
            if purpose is VerdictPurpose.CALIBRATION:
                reviews = [*await verdicts_repo.reviews_of(tx.session, task_id), verdict]
                closing = _agreeing_close(task, decision, reviews, now)
                if closing is None:
                    status = TaskStatus.ADJUDICATING
                else:
                    matches = _matches(reviews, answer_of(closing))
                    matched = matches.pop(verdict.verdict_id)
                    closing_writes = [
                        verdicts_repo.verdict_insert(closing),
                        repo.task_update(task_id, reference=_label_json(answer_of(closing))),
                        *(
                            verdicts_repo.verdict_update(v, reference_match=m)
                            for v, m in matches.items()
                        ),
                        repo.log_insert(
                            at=now,
                            actor=SYSTEM_ACTOR,
                            action="calibration.closed",
                            subject_type="task",
                            subject_id=task_id,
                            details={
                                "verdict_id": closing.verdict_id,
                                "agreed": True,
                                "reviews": len(reviews),
                            },
                        ),
                        enqueue_statement(
                            outbox, [verdict_message(topics, closing, task.traceparent)]
                        ),
                    ]
        event = verdict.model_dump_json()
        try:
            await verdicts_repo.record_verdict(
                tx,
                verdict=verdicts_repo.verdict_columns(
                    verdict,
                    idempotency_key=idempotency_key,
                    scorecard_answers=(
                        {k: v.value for k, v in answers.items()} if answers else None
                    ),
                    reference_match=matched,
                    event=JsonText(event),
                ),
                lease={"status": LeaseStatus.COMPLETED.value, "ended_at": now},
                task={
                    "active_leases": active,
                    "reviews_done": done,
                    "status": status.value,
                    "completed_at": now if status is TaskStatus.COMPLETED else None,
                },
                log=repo.log_entry(
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
                ),
                message=verdict_message(topics, verdict, task.traceparent, event.encode()),
            )
        except asyncpg.UniqueViolationError as error:
            if error.constraint_name == "verdicts_idempotency":
                raise _key_reused() from error
            raise
        if closing_writes:
            # after the review's own writes (the task row is updated by both; one statement
            # may change a row once): the closing verdict, the reference, the matches
            await repo.execute_together(tx.session, closing_writes)
        return verdict, (str(task.pool), task.lease_leased_at)


def _key_reused() -> Conflict:
    return Conflict(
        "Idempotency-Key: already used for a verdict on another task; use one key per verdict"
    )


def _matches(reviews: Sequence[Verdict], reference: Submission) -> dict[str, bool]:
    """Which reviews of a round match its reference label."""
    return {r.verdict_id: same_judgement(answer_of(r), reference) for r in reviews}


def _label_json(answer: Submission) -> dict[str, str | None]:
    return {
        "outcome": answer.outcome.value if answer.outcome else None,
        "expected_action": answer.expected_action.value if answer.expected_action else None,
        "expected_policy_id": answer.expected_policy_id,
    }


def _gold_reference(
    task: Columns, decision: Decision, taxonomy: Taxonomy, now: dt.datetime
) -> Submission:
    answer = task.gold_answer or {}
    return reference_label(
        decision,
        taxonomy,
        expected_action=Action(answer["expected_action"]),
        expected_policy_id=answer.get("expected_policy_id"),
        on=now.date(),
    )


def _agreeing_close(
    task: Columns, decision: Decision, reviews: Sequence[Verdict], now: dt.datetime
) -> Verdict | None:
    """The closing verdict of a round whose reviewers agree (None when they disagree)."""
    answers = [answer_of(r) for r in reviews]
    if not round_agrees(answers):
        return None
    return to_event(
        verdict_id=new_id(),
        task_id=task.task_id,
        decision=decision,
        auditor_id=CONSENSUS_AUDITOR,
        answer=with_notes(answers[0], f"consensus of {len(reviews)} calibration reviews"),
        submitted_at=now,
        stamp=closing_stamp(reviews=reviews, agreed=True, blind=task.blind),
    )


async def set_reference(
    session: AsyncSession, task_id: str, reference: Submission, reviews: Sequence[Verdict]
) -> None:
    """Make a label the task's reference and record which reviews matched it."""
    await repo.execute_together(
        session,
        [
            repo.task_update(task_id, reference=_label_json(reference)),
            *(
                verdicts_repo.verdict_update(v, reference_match=m)
                for v, m in _matches(reviews, reference).items()
            ),
        ],
    )


async def adjudicate(
    *,
    sessions: async_sessionmaker[AsyncSession],
    catalog: Catalog,
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
            earlier = await verdicts_repo.closing_verdict(session, task_id)
            if earlier is not None and earlier.auditor_id == sme_id:
                return Verdict.model_validate(earlier.event)
            raise Conflict(f"task {task_id} is not waiting for adjudication ({task.status})")
        reviews = await verdicts_repo.reviews_of(session, task_id)
        if any(r.auditor_id == sme_id for r in reviews):
            raise Refused("you reviewed this calibration round; another SME must adjudicate it")
        taxonomy = await catalog.taxonomy(session)
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
        await verdicts_repo.insert_verdict(session, closing)
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
        await enqueue(session, outbox, [verdict_message(topics, closing, task.traceparent)])
        return closing
