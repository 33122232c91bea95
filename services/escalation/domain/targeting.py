"""Targeting, pure: while a case is open the sampler looks harder at its subject.

Critical-miss and moderator-performance cases target the moderator; policy-gap cases target
the market and policy. Each rule expires on its own (so a forgotten one lapses), is renewed
while its case stays open, and is lifted (`active=false`) when the case closes.
"""

from __future__ import annotations

import datetime as dt

from services.escalation.domain.rules import Target
from shared.events import Escalation, EscalationKind, TargetingRule

TARGETED_KINDS = frozenset(
    {
        EscalationKind.CRITICAL_MISS,
        EscalationKind.MODERATOR_PERFORMANCE,
        EscalationKind.POLICY_GAP,
    }
)


def rule_id_for(case: Escalation) -> str:
    """One targeting rule per case."""
    return f"case:{case.escalation_id}"


def targeting_for(
    case: Escalation, target: Target | None, *, now: dt.datetime
) -> TargetingRule | None:
    """The rule raising the sampling rate for the case's subject, if the case calls for one."""
    if target is None or case.kind not in TARGETED_KINDS:
        return None
    reason = f"{case.kind.value} case open: {case.subject}"[:500]
    common = {
        "rule_id": rule_id_for(case),
        "rate": target.rate,
        "reason": reason,
        "case_id": case.escalation_id,
        "active": True,
        "expires_at": now + target.expires_after,
        "updated_at": now,
    }
    if case.kind is EscalationKind.POLICY_GAP:
        if case.market is None or case.policy_id is None:
            return None
        return TargetingRule.model_validate(
            {**common, "market": case.market, "policy_id": case.policy_id}
        )
    if case.moderator_id is None:
        return None
    return TargetingRule.model_validate({**common, "moderator_id": case.moderator_id})


def lifted(rule: TargetingRule, *, now: dt.datetime) -> TargetingRule:
    """The rule switched off before it expires (its case closed)."""
    return rule.model_copy(update={"active": False, "updated_at": now})


def renewed(
    rule: TargetingRule, lifetime: dt.timedelta, *, now: dt.datetime
) -> TargetingRule | None:
    """The rule with a new expiry once half its lifetime has passed; None while it is fresh."""
    if not rule.active or rule.expires_at - now > lifetime / 2:
        return None
    return rule.model_copy(update={"expires_at": now + lifetime, "updated_at": now})
