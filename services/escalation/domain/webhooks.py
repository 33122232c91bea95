"""Webhooks, pure: which subscriptions an event goes to, the body, the signature, the retries.

A delivery is a POST of `{"id", "type", "occurred_at", "data"}` (data: the event as on Kafka)
with the headers below. The signature is `sha256=` + hex HMAC-SHA256 of
`"<timestamp>." + body` under the subscription's secret, so a receiver can check both the body
and its freshness. A failed attempt is retried after `base * 2^(attempt-1)` (capped); after
`max_attempts` failures the delivery is parked until someone replays it.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from shared.events import Correction, Escalation

SIGNATURE_HEADER = "X-Modqa-Signature"
TIMESTAMP_HEADER = "X-Modqa-Timestamp"
DELIVERY_HEADER = "X-Modqa-Delivery"
EVENT_HEADER = "X-Modqa-Event"

CASE_CHANGES = (
    "opened",
    "evidence_added",
    "acknowledged",
    "investigating",
    "resolved",
    "dismissed",
    "assigned",
    "root_cause_set",
    "noted",
    "sla_breached",
)
EVENT_TYPES = (
    *(f"escalation.{change}" for change in CASE_CHANGES),
    "correction.issued",
    "correction.replaced",
    "correction.retracted",
)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    PARKED = "parked"


class InvalidSubscription(ValueError):
    """A subscription that could never receive anything, or points nowhere sensible."""


def check_patterns(patterns: Sequence[str]) -> list[str]:
    """The event patterns (`escalation.*`, `correction.issued`, `*`), each matching some type."""
    if not patterns:
        raise InvalidSubscription("events: list at least one event type or pattern")
    for pattern in patterns:
        if not any(fnmatch.fnmatchcase(t, pattern) for t in EVENT_TYPES):
            raise InvalidSubscription(
                f"events: {pattern!r} matches no event type; known: {', '.join(EVENT_TYPES)}"
            )
    return list(dict.fromkeys(patterns))


def check_url(url: str) -> str:
    """An absolute http(s) URL."""
    if not (url.startswith("https://") or url.startswith("http://")) or len(url) > 2048:
        raise InvalidSubscription("url: give an absolute http:// or https:// URL")
    return url


def wants(patterns: Sequence[str], event_type: str) -> bool:
    """True when a subscription's patterns cover the event type."""
    return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in patterns)


@dataclass(frozen=True)
class Notification:
    """One event to deliver to every subscription that wants it."""

    event_type: str
    key: str
    """Unique per event; receivers can deduplicate on it (it is also the delivery's id)."""
    body: bytes


def case_notification(case: Escalation) -> Notification:
    """The notification of one case change."""
    event_type = f"escalation.{case.change or 'changed'}"
    key = f"escalation:{case.escalation_id}:{case.revision}"
    return Notification(event_type, key, _body(event_type, key, case.updated_at, case))


def correction_notification(correction: Correction, kind: str) -> Notification:
    """The notification of a correction, a replacement or a retraction."""
    event_type = f"correction.{kind}"
    key = f"correction:{correction.correction_id}"
    return Notification(event_type, key, _body(event_type, key, correction.issued_at, correction))


def _body(
    event_type: str, key: str, occurred_at: dt.datetime, event: Escalation | Correction
) -> bytes:
    envelope = {
        "id": key,
        "type": event_type,
        "occurred_at": occurred_at.isoformat().replace("+00:00", "Z"),
        "data": json.loads(event.model_dump_json()),
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value of a body sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    *,
    timestamp: int,
    body: bytes,
    signature: str,
    now: dt.datetime,
    tolerance: dt.timedelta = dt.timedelta(minutes=5),
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    if abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def headers(
    *, secret: str, timestamp: int, body: bytes, key: str, event_type: str
) -> dict[str, str]:
    """The headers of one delivery attempt (signed at send time, with the current secret)."""
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        TIMESTAMP_HEADER: str(timestamp),
        DELIVERY_HEADER: key,
        EVENT_HEADER: event_type,
        "User-Agent": "modqa-escalation-webhooks/1",
    }


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base: dt.timedelta
    cap: dt.timedelta


@dataclass(frozen=True)
class AttemptResult:
    """How a delivery stands after an attempt."""

    status: DeliveryStatus
    attempts: int
    next_attempt_at: dt.datetime | None


def after_attempt(
    attempts_before: int, *, succeeded: bool, policy: RetryPolicy, now: dt.datetime
) -> AttemptResult:
    """Delivered, retried later with exponential backoff, or parked after the last attempt."""
    attempts = attempts_before + 1
    if succeeded:
        return AttemptResult(DeliveryStatus.DELIVERED, attempts, None)
    if attempts >= policy.max_attempts:
        return AttemptResult(DeliveryStatus.PARKED, attempts, None)
    return AttemptResult(DeliveryStatus.PENDING, attempts, now + backoff(attempts, policy))


def backoff(attempts: int, policy: RetryPolicy) -> dt.timedelta:
    """The wait after the n-th failed attempt: base, 2 x base, 4 x base... up to the cap."""
    wait: dt.timedelta = policy.base * 2 ** max(0, attempts - 1)
    return min(wait, policy.cap)


def succeeded(status_code: int | None) -> bool:
    """Any 2xx answer counts as delivered; everything else (and no answer) is retried."""
    return status_code is not None and 200 <= status_code < 300
