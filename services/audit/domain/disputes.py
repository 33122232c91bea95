"""Disputes, pure: who may challenge a verdict, which verdicts can be challenged, and what an
SME's ruling does.

Moderators have no role of their own in modqa's tokens, so they come in two ways: through the
moderation tool (a `system` token) naming the moderator it acts for, who must be the one who
took the decision; or through a lead registered as leading the moderator's team.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from services.audit.domain.verdicts import InvalidVerdict, Submission, same_judgement
from shared.events import DisputeStatus, Verdict


class DisputeRefused(PermissionError):
    """The caller may not dispute this verdict; the message says who may."""


class NotDisputable(ValueError):
    """The verdict cannot be disputed (not final, an amendment, or disputed before)."""


class Ruling(StrEnum):
    UPHOLD = "uphold"
    OVERTURN = "overturn"


@dataclass(frozen=True)
class Challenger:
    """Who is asking to dispute: their id, the roles they act in, the teams they lead."""

    subject: str
    as_system: bool
    as_lead: bool
    led_teams: frozenset[str]


def raised_by(
    challenger: Challenger, *, on_behalf_of: str | None, moderator_id: str, moderator_team: str
) -> str:
    """The moderator or team lead the dispute is raised by; DisputeRefused for anyone else."""
    if on_behalf_of is not None:
        if not challenger.as_system:
            raise DisputeRefused("on_behalf_of: only the moderation tool (system role) acts for")
        if on_behalf_of != moderator_id:
            raise DisputeRefused(
                "on_behalf_of: only the moderator who took the decision can dispute its verdict"
            )
        return on_behalf_of
    if challenger.as_lead and moderator_team in challenger.led_teams:
        return challenger.subject
    if challenger.as_system:
        raise DisputeRefused("on_behalf_of: name the moderator the moderation tool acts for")
    raise DisputeRefused(
        f"only the moderator or a registered lead of team '{moderator_team}' can dispute this "
        "verdict"
    )


def check_disputable(verdict: Verdict, *, superseded: bool, disputed_before: bool) -> None:
    """NotDisputable unless the verdict is the one that counts and was never disputed."""
    if not verdict.final:
        raise NotDisputable(
            "only a final verdict can be disputed (not a calibration review or a gold answer)"
        )
    if verdict.supersedes is not None:
        raise NotDisputable("this verdict is an arbitration amendment: the SME's word is final")
    if superseded:
        raise NotDisputable("this verdict was superseded by an amendment")
    if disputed_before:
        raise NotDisputable("this verdict was disputed before; each verdict is arbitrated once")


def due_at(raised_at: dt.datetime, sla: dt.timedelta) -> dt.datetime:
    """When the SME's arbitration is due."""
    return raised_at + sla


def status_of(ruling: Ruling) -> DisputeStatus:
    """The dispute's status after a ruling."""
    return DisputeStatus.UPHELD if ruling is Ruling.UPHOLD else DisputeStatus.OVERTURNED


def check_overturn(original: Submission, amended: Submission) -> None:
    """An overturn must change the judgement (otherwise it is an uphold)."""
    if same_judgement(original, amended):
        raise InvalidVerdict(
            "label: the amended judgement equals the disputed verdict's; uphold it instead"
        )
