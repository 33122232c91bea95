"""Webhook signatures, retries and matching; targeting rules for open cases."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest

from services.escalation.domain.cases import open_case
from services.escalation.domain.rules import Target
from services.escalation.domain.targeting import lifted, renewed, targeting_for
from services.escalation.domain.triggers import CaseTrigger, Scope
from services.escalation.domain.webhooks import (
    DeliveryStatus,
    InvalidSubscription,
    RetryPolicy,
    after_attempt,
    case_notification,
    check_patterns,
    check_url,
    sign,
    verify,
    wants,
)
from services.escalation.rule_handlers import default_rules
from shared.events import CasePriority, EscalationKind
from tests.support.builders import NOW

POLICY = RetryPolicy(max_attempts=4, base=dt.timedelta(seconds=10), cap=dt.timedelta(seconds=25))


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"id":"x"}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("s3cret", 1700000000, body) == f"sha256={expected}"
    now = dt.datetime.fromtimestamp(1700000000, dt.UTC)
    assert verify(
        "s3cret", timestamp=1700000000, body=body, signature=f"sha256={expected}", now=now
    )
    assert not verify(
        "other", timestamp=1700000000, body=body, signature=f"sha256={expected}", now=now
    )
    assert not verify(
        "s3cret",
        timestamp=1700000000,
        body=body,
        signature=f"sha256={expected}",
        now=now + dt.timedelta(minutes=6),
    ), "an old signature is a replay"


def test_failures_back_off_exponentially_up_to_a_cap_then_park() -> None:
    results = []
    attempts = 0
    for _ in range(4):
        result = after_attempt(attempts, succeeded=False, policy=POLICY, now=NOW)
        results.append(result)
        attempts = result.attempts
    waits = [(r.next_attempt_at - NOW).total_seconds() for r in results[:3] if r.next_attempt_at]
    assert waits == [10, 20, 25]
    assert results[-1].status is DeliveryStatus.PARKED and results[-1].next_attempt_at is None
    assert (
        after_attempt(2, succeeded=True, policy=POLICY, now=NOW).status is DeliveryStatus.DELIVERED
    )


def test_subscriptions_choose_events_by_name_or_pattern() -> None:
    assert wants(["escalation.*"], "escalation.opened")
    assert not wants(["escalation.*"], "correction.issued")
    assert wants(["*"], "correction.retracted")
    assert check_patterns(["correction.*", "correction.*"]) == ["correction.*"]
    with pytest.raises(InvalidSubscription, match="matches no event type"):
        check_patterns(["escalations.opened"])
    with pytest.raises(InvalidSubscription, match="url"):
        check_url("ftp://x")


def a_case(kind: EscalationKind, **scope: str):  # type: ignore[no-untyped-def]
    trigger = CaseTrigger(
        kind=kind,
        subject="s",
        severity=CasePriority.P2,
        evidence=("e1",),
        rule_id="r",
        scope=Scope(**scope),
    )
    return open_case(trigger, sla=default_rules().sla, now=NOW)


def test_a_case_notification_names_the_change_and_carries_the_case() -> None:
    case = a_case(EscalationKind.POLICY_GAP, market="KR", policy_id="spam")
    note = case_notification(case)
    assert note.event_type == "escalation.opened"
    assert note.key == f"escalation:{case.escalation_id}:1"
    body = json.loads(note.body)
    assert (
        body["type"] == "escalation.opened" and body["data"]["escalation_id"] == case.escalation_id
    )


def test_targeting_follows_the_case_subject_expires_renews_and_lifts() -> None:
    target = Target(rate=0.4, expires_after=dt.timedelta(days=2))
    by_moderator = targeting_for(
        a_case(EscalationKind.MODERATOR_PERFORMANCE, moderator_id="m1"), target, now=NOW
    )
    assert by_moderator is not None
    assert (by_moderator.moderator_id, by_moderator.rate, by_moderator.expires_at) == (
        "m1",
        0.4,
        NOW + dt.timedelta(days=2),
    )
    by_policy = targeting_for(
        a_case(EscalationKind.POLICY_GAP, market="KR", policy_id="spam"), target, now=NOW
    )
    assert by_policy is not None and (by_policy.market, by_policy.policy_id) == ("KR", "spam")
    assert targeting_for(a_case(EscalationKind.DISPUTE, moderator_id="m1"), target, now=NOW) is None
    assert targeting_for(a_case(EscalationKind.CRITICAL_MISS), target, now=NOW) is None, (
        "no moderator known"
    )

    lifetime = dt.timedelta(days=2)
    assert renewed(by_moderator, lifetime, now=NOW + dt.timedelta(hours=23)) is None
    later = NOW + dt.timedelta(days=1)
    fresh = renewed(by_moderator, lifetime, now=later)
    assert fresh is not None and fresh.expires_at == later + lifetime
    off = lifted(fresh, now=later)
    assert not off.active and renewed(off, lifetime, now=later + lifetime) is None
