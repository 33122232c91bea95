"""How stored rows are shown to callers (blind tasks hide the original action and moderator)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from services.audit.schemas import ClaimedTask

BLIND_HIDDEN = ("action", "moderator_id", "moderator_team", "moderator_kind", "confidence")


def claimed_task(row: Row[Any]) -> ClaimedTask:
    """The auditor's view of a leased task."""
    decision = dict(row.decision)
    if row.blind:
        for field in BLIND_HIDDEN:
            decision.pop(field, None)
    return ClaimedTask(
        task_id=row.task_id,
        decision=decision,
        blind=row.blind,
        required_reviews=row.required_reviews,
        priority=row.priority,
        due_at=row.due_at,
        lease_expires_at=row.lease_expires_at,
    )
