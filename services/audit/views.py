"""How stored rows are shown to callers.

Blind tasks show the content, its context and locale, never what the moderator did or who
they are; gold tasks look like primary reviews (one review wanted) and their verdicts like
any other to auditors.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Row

from services.audit.domain.scoring import Scorecard
from services.audit.domain.stats import Proportion
from services.audit.driver import Columns
from services.audit.queries_stats import AuditorStats
from services.audit.schemas import (
    AuditorOut,
    AuditorVerdictOut,
    ClaimedTask,
    DayCount,
    DisputeOut,
    GoldItemOut,
    LogEntryOut,
    PolicyOut,
    ProportionOut,
    ScorecardOut,
    StatsOut,
    TaskOut,
    VerdictOut,
)
from shared.events import Dispute, Verdict, VerdictPurpose
from shared.taxonomy import Policy

BLIND_VISIBLE = (
    "schema",
    "decision_id",
    "content_id",
    "content_type",
    "content_ref",
    "queue",
    "market",
    "language",
    "source",
    "decided_at",
    "territorial_scope",
)
"""What a blind reviewer sees of a decision: not the action, policy, moderator or model score."""


def auditor_decision(decision: dict[str, Any], *, blind: bool) -> dict[str, Any]:
    """The decision as an auditor may see it."""
    if not blind:
        return dict(decision)
    return {key: decision[key] for key in BLIND_VISIBLE if key in decision}


def scorecard_out(scorecard: Scorecard | None) -> ScorecardOut | None:
    if scorecard is None:
        return None
    return ScorecardOut(
        scorecard_id=scorecard.scorecard_id,
        version=scorecard.version,
        queue=scorecard.rubric.queue,
        name=scorecard.rubric.name,
        criteria=scorecard.rubric.criteria,
    )


def claimed_task(
    task: Row[Any] | Columns, *, lease_expires_at: datetime, scorecard: Scorecard | None
) -> ClaimedTask:
    """The auditor's view of a task leased to them."""
    gold = task.purpose == VerdictPurpose.GOLD
    return ClaimedTask(
        task_id=task.task_id,
        decision=auditor_decision(task.decision, blind=task.blind),
        blind=task.blind,
        required_reviews=1 if gold else task.required_reviews,
        priority=task.priority,
        due_at=task.due_at,
        lease_expires_at=lease_expires_at,
        scorecard=scorecard_out(scorecard),
    )


def auditor_verdict(verdict: Verdict) -> AuditorVerdictOut:
    """A verdict as an auditor sees it."""
    return AuditorVerdictOut.model_validate(verdict.model_dump())


def event_of(row: Row[Any]) -> Verdict:
    """The event form of a stored verdict."""
    return Verdict.model_validate(row.event)


def staff_verdict(row: Row[Any]) -> VerdictOut:
    """A stored verdict as leads and SMEs see it."""
    return staff_verdict_of(event_of(row))


def staff_verdict_of(verdict: Verdict) -> VerdictOut:
    """A verdict event as leads and SMEs see it."""
    d = verdict.decision
    return VerdictOut.model_validate(
        {
            **verdict.model_dump(exclude={"decision"}),
            "moderator_id": d.moderator_id if d else None,
            "queue": d.queue if d else None,
            "market": d.market if d else None,
            "policy_id": d.policy_id if d else None,
        }
    )


def task_out(row: Row[Any]) -> TaskOut:
    """A task as leads and SMEs see it."""
    return TaskOut.model_validate(row._mapping, from_attributes=False)


def auditor_out(row: Row[Any]) -> AuditorOut:
    return AuditorOut.model_validate(dict(row._mapping))


def proportion_out(p: Proportion) -> ProportionOut:
    return ProportionOut(successes=p.successes, n=p.n, rate=p.rate, low=p.low, high=p.high)


def stats_out(stats: AuditorStats) -> StatsOut:
    return StatsOut(
        auditor_id=stats.auditor_id,
        verdicts_total=stats.verdicts_total,
        verdicts_last_24h=stats.verdicts_last_24h,
        verdicts_last_7d=stats.verdicts_last_7d,
        per_day=[DayCount(day=day, verdicts=n) for day, n in stats.per_day],
        median_handle_seconds=stats.median_handle_seconds,
        gold_accuracy=proportion_out(stats.gold_accuracy),
        calibration_agreement=proportion_out(stats.calibration_agreement),
        disputed=stats.disputed,
        overturned=stats.overturned,
    )


def policy_out(row: Row[Any]) -> PolicyOut:
    return PolicyOut(
        policy=Policy.model_validate(row.document),
        revision=row.revision,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def dispute_out(dispute: Dispute) -> DisputeOut:
    return DisputeOut.model_validate(dispute.model_dump())


def gold_item_out(row: Row[Any], accuracy: Proportion) -> GoldItemOut:
    return GoldItemOut(
        task_id=row.task_id,
        decision_id=row.decision_id,
        answer=row.gold_answer or {},
        required_reviews=row.required_reviews,
        status=row.status,
        accuracy=proportion_out(accuracy),
    )


def log_entry(row: Row[Any]) -> LogEntryOut:
    return LogEntryOut.model_validate(dict(row._mapping))


CSV_COLUMNS = (
    "verdict_id",
    "task_id",
    "decision_id",
    "auditor_id",
    "submitted_at",
    "purpose",
    "final",
    "round",
    "supersedes",
    "outcome",
    "expected_action",
    "expected_policy_id",
    "error_type",
    "severity",
    "blind",
    "policy_version",
    "moderator_id",
    "moderator_team",
    "queue",
    "market",
    "policy_id",
    "scorecard_id",
    "scorecard_version",
    "qa_score",
    "calibration_agreed",
    "gold_correct",
    "notes",
)


def csv_lines(rows: Iterable[Row[Any]], *, header: bool) -> str:
    """CSV text of verdict rows (with the header line when asked)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = row._mapping
        writer.writerow(
            [_csv_value(values[column]) if column in values else "" for column in CSV_COLUMNS]
        )
    return buffer.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # a leading =, +, - or @ makes spreadsheets run the cell as a formula
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
