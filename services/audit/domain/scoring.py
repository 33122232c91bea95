"""Scorecards, pure: a versioned rubric per queue, and the QA score of an audit answered with it.

Each criterion has a weight; a critical criterion failed fails the whole audit (score 0).
`na` marks a criterion that does not apply to this item (never allowed on a critical one).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.audit.domain.verdicts import InvalidVerdict
from shared.events import Label


class CriterionAnswer(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NA = "na"


class Criterion(BaseModel):
    """One item of the quality inspection standard."""

    model_config = ConfigDict(frozen=True)

    id: Label
    text: str = Field(min_length=1, max_length=500)
    weight: float = Field(gt=0, le=100)
    critical: bool = False


class Rubric(BaseModel):
    """What a lead writes: the criteria of a queue's scorecard (the version is assigned)."""

    model_config = ConfigDict(frozen=True)

    queue: Label
    name: str = Field(min_length=1, max_length=200)
    criteria: list[Criterion] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _ids_unique(self) -> Rubric:
        ids = [c.id for c in self.criteria]
        if len(ids) != len(set(ids)):
            raise ValueError("criteria ids repeat")
        return self


class Scorecard(BaseModel):
    """A stored version of a queue's rubric; verdicts keep the version they were scored with."""

    model_config = ConfigDict(frozen=True)

    scorecard_id: Label
    version: int = Field(ge=1)
    rubric: Rubric


def next_version(scorecard_id: str, rubric: Rubric, latest: Scorecard | None) -> Scorecard:
    """The new version a lead's edit creates; a scorecard stays with its queue."""
    if latest is not None and latest.rubric.queue != rubric.queue:
        raise ValueError(
            f"scorecard '{scorecard_id}' belongs to queue '{latest.rubric.queue}'; "
            "create another scorecard for another queue"
        )
    version = latest.version + 1 if latest else 1
    return Scorecard(scorecard_id=scorecard_id, version=version, rubric=rubric)


def qa_score(scorecard: Scorecard, answers: Mapping[str, CriterionAnswer]) -> float:
    """The QA score (0-100) of an audit: weighted share of applicable criteria passed,
    0 when a critical criterion failed; InvalidVerdict when the answers do not fit the rubric."""
    criteria = scorecard.rubric.criteria
    known = {c.id for c in criteria}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise InvalidVerdict(
            f"scorecard: unknown criteria {', '.join(unknown)} for "
            f"'{scorecard.scorecard_id}' v{scorecard.version}"
        )
    missing = [c.id for c in criteria if c.id not in answers]
    if missing:
        raise InvalidVerdict(
            f"scorecard: answer every criterion of '{scorecard.scorecard_id}' "
            f"v{scorecard.version}; missing {', '.join(missing)}"
        )
    for criterion in criteria:
        if criterion.critical and answers[criterion.id] is CriterionAnswer.NA:
            raise InvalidVerdict(f"scorecard: critical criterion '{criterion.id}' cannot be 'na'")
    if any(c.critical and answers[c.id] is CriterionAnswer.FAIL for c in criteria):
        return 0.0
    applicable = [c for c in criteria if answers[c.id] is not CriterionAnswer.NA]
    if not applicable:
        return 100.0
    passed = sum(c.weight for c in applicable if answers[c.id] is CriterionAnswer.PASS)
    return round(100.0 * passed / sum(c.weight for c in applicable), 2)
