"""Webhook subscriptions and the delivery queue: one function per command, one transaction each."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.escalation.domain.webhooks import (
    DeliveryStatus,
    RetryPolicy,
    after_attempt,
    check_patterns,
    check_url,
)
from services.escalation.repository import webhooks as webhook_repo
from services.escalation.repository.webhooks import (
    AttemptRow,
    DeliveryRow,
    DueDelivery,
    Subscription,
)
from shared.ids import new_id


class SubscriptionNotFound(LookupError):
    """No subscription with that id."""


class DeliveryNotFound(LookupError):
    """No delivery with that id."""


class NotReplayable(Exception):
    """The delivery is still pending; only parked or delivered ones can be sent again."""


async def subscribe(
    *,
    sessions: async_sessionmaker[AsyncSession],
    url: str,
    events: list[str],
    secret: str | None,
    description: str | None,
    actor: str,
    now: dt.datetime,
) -> Subscription:
    """Add a subscription (InvalidSubscription if it is wrong); a secret is made if none given."""
    subscription = Subscription(
        subscription_id=new_id(),
        url=check_url(url),
        events=check_patterns(events),
        secret=secret or secrets.token_urlsafe(32),
        active=True,
        description=description,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    async with sessions.begin() as session:
        await webhook_repo.add_subscription(session, subscription)
    return subscription


async def list_subscriptions(*, sessions: async_sessionmaker[AsyncSession]) -> list[Subscription]:
    """Every subscription."""
    async with sessions() as session:
        return await webhook_repo.list_subscriptions(session)


async def get_subscription(
    *, sessions: async_sessionmaker[AsyncSession], subscription_id: str
) -> Subscription:
    """A subscription by id (SubscriptionNotFound otherwise)."""
    async with sessions() as session:
        found = await webhook_repo.get_subscription(session, subscription_id)
    if found is None:
        raise SubscriptionNotFound(f"no webhook subscription {subscription_id}")
    return found


@dataclass(frozen=True)
class SubscriptionChange:
    url: str | None = None
    events: list[str] | None = None
    secret: str | None = None
    active: bool | None = None
    description: str | None = None


async def change_subscription(
    *,
    sessions: async_sessionmaker[AsyncSession],
    subscription_id: str,
    change: SubscriptionChange,
    now: dt.datetime,
) -> Subscription:
    """Change a subscription's URL, events, secret, description or active flag."""
    async with sessions.begin() as session:
        found = await webhook_repo.get_subscription(session, subscription_id, lock=True)
        if found is None:
            raise SubscriptionNotFound(f"no webhook subscription {subscription_id}")
        changed = replace(
            found,
            url=check_url(change.url) if change.url is not None else found.url,
            events=check_patterns(change.events) if change.events is not None else found.events,
            secret=change.secret if change.secret is not None else found.secret,
            active=change.active if change.active is not None else found.active,
            description=change.description if change.description is not None else found.description,
            updated_at=now,
        )
        await webhook_repo.save_subscription(session, changed)
        if found.active and not changed.active:
            await webhook_repo.park_pending(
                session, subscription_id, reason="subscription deactivated", now=now
            )
    return changed


async def unsubscribe(
    *, sessions: async_sessionmaker[AsyncSession], subscription_id: str, now: dt.datetime
) -> None:
    """Remove a subscription; its pending deliveries are parked."""
    async with sessions.begin() as session:
        if not await webhook_repo.delete_subscription(session, subscription_id, now):
            raise SubscriptionNotFound(f"no webhook subscription {subscription_id}")


async def list_deliveries(
    *,
    sessions: async_sessionmaker[AsyncSession],
    status: str | None,
    subscription_id: str | None,
    before: int | None,
    limit: int,
) -> list[DeliveryRow]:
    """A page of deliveries, newest first."""
    async with sessions() as session:
        return await webhook_repo.list_deliveries(
            session, status=status, subscription_id=subscription_id, before=before, limit=limit
        )


async def delivery_detail(
    *, sessions: async_sessionmaker[AsyncSession], delivery_id: int
) -> tuple[DeliveryRow, list[AttemptRow]]:
    """A delivery and every attempt at it."""
    async with sessions() as session:
        delivery = await webhook_repo.get_delivery(session, delivery_id)
        if delivery is None:
            raise DeliveryNotFound(f"no webhook delivery {delivery_id}")
        return delivery, await webhook_repo.attempts_of(session, delivery_id)


async def replay(
    *, sessions: async_sessionmaker[AsyncSession], delivery_id: int, now: dt.datetime
) -> DeliveryRow:
    """Send a parked (or delivered) delivery again, from a fresh attempt count."""
    async with sessions.begin() as session:
        delivery = await webhook_repo.get_delivery(session, delivery_id, lock=True)
        if delivery is None:
            raise DeliveryNotFound(f"no webhook delivery {delivery_id}")
        if delivery.status == DeliveryStatus.PENDING.value:
            raise NotReplayable(f"delivery {delivery_id} is still pending; it will be retried")
        await webhook_repo.requeue(session, delivery_id, now=now)
        replayed = await webhook_repo.get_delivery(session, delivery_id)
    assert replayed is not None
    return replayed


async def claim_delivery(
    *, sessions: async_sessionmaker[AsyncSession], now: dt.datetime, lease: dt.timedelta
) -> DueDelivery | None:
    """The next delivery due, leased to the caller for `lease`."""
    async with sessions.begin() as session:
        return await webhook_repo.claim_due(session, now=now, lease=lease)


async def record_attempt(
    *,
    sessions: async_sessionmaker[AsyncSession],
    delivery: DueDelivery,
    status_code: int | None,
    error: str | None,
    duration_ms: float,
    policy: RetryPolicy,
    succeeded: bool,
    now: dt.datetime,
) -> DeliveryStatus:
    """Log an attempt; the delivery is delivered, retried later or parked."""
    result = after_attempt(delivery.attempts, succeeded=succeeded, policy=policy, now=now)
    async with sessions.begin() as session:
        await webhook_repo.record_attempt(
            session,
            delivery_id=delivery.delivery_id,
            attempts_before=delivery.attempts,
            status=result.status,
            next_attempt_at=result.next_attempt_at,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
            now=now,
        )
    return result.status
