"""The audit service's rules, pure (no I/O, no clock): verdicts, scorecards, disputes, figures."""

from services.audit.domain.stamps import Stamp, to_event
from services.audit.domain.verdicts import (
    CLAIMABLE,
    InvalidVerdict,
    Judgement,
    LeaseStatus,
    Submission,
    TaskStatus,
    derive_error_type,
    judge,
    resolve,
    resolve_blind,
    same_judgement,
)

__all__ = [
    "CLAIMABLE",
    "InvalidVerdict",
    "Judgement",
    "LeaseStatus",
    "Stamp",
    "Submission",
    "TaskStatus",
    "derive_error_type",
    "judge",
    "resolve",
    "resolve_blind",
    "same_judgement",
    "to_event",
]
