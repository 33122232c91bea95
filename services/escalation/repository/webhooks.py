"""SQL of webhook subscriptions, the delivery queue and the attempts log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalation.domain.webhooks import DeliveryStatus, Notification, wants
from services.escalation.repository.constants import const, consts
from services.escalation.tables import webhook_attempts, webhook_deliveries, webhook_subscriptions


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    url: str
    events: list[str]
    secret: str
    active: bool
    description: str | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


def _subscription(row: Any) -> Subscription:
    return Subscription(
        subscription_id=row.subscription_id,
        url=row.url,
        events=list(row.events),
        secret=row.secret,
        active=row.active,
        description=row.description,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def add_subscription(session: AsyncSession, subscription: Subscription) -> None:
    """Store a new subscription."""
    await session.execute(
        webhook_subscriptions.insert().values(
            subscription_id=subscription.subscription_id,
            url=subscription.url,
            events=subscription.events,
            secret=subscription.secret,
            active=subscription.active,
            description=subscription.description,
            created_by=subscription.created_by,
            created_at=subscription.created_at,
            updated_at=subscription.updated_at,
        )
    )


async def get_subscription(
    session: AsyncSession, subscription_id: str, *, lock: bool = False
) -> Subscription | None:
    """A subscription by id (locked for update if asked)."""
    query = select(webhook_subscriptions).where(
        webhook_subscriptions.c.subscription_id == subscription_id
    )
    row = (await session.execute(query.with_for_update() if lock else query)).first()
    return _subscription(row) if row else None


async def list_subscriptions(session: AsyncSession) -> list[Subscription]:
    """Every subscription, oldest first."""
    rows = (
        await session.execute(
            select(webhook_subscriptions).order_by(webhook_subscriptions.c.created_at)
        )
    ).all()
    return [_subscription(row) for row in rows]


async def save_subscription(session: AsyncSession, subscription: Subscription) -> None:
    """Overwrite a subscription with its new state."""
    await session.execute(
        update(webhook_subscriptions)
        .where(webhook_subscriptions.c.subscription_id == subscription.subscription_id)
        .values(
            url=subscription.url,
            events=subscription.events,
            secret=subscription.secret,
            active=subscription.active,
            description=subscription.description,
            updated_at=subscription.updated_at,
        )
    )


async def delete_subscription(
    session: AsyncSession, subscription_id: str, now: dt.datetime
) -> bool:
    """Remove a subscription; its pending deliveries are parked (replayable if it comes back)."""
    await park_pending(session, subscription_id, reason="subscription deleted", now=now)
    result = await session.execute(
        delete(webhook_subscriptions)
        .where(webhook_subscriptions.c.subscription_id == subscription_id)
        .returning(webhook_subscriptions.c.subscription_id)
    )
    return result.first() is not None


async def park_pending(
    session: AsyncSession, subscription_id: str, *, reason: str, now: dt.datetime
) -> None:
    """Park a subscription's pending deliveries, saying why."""
    await session.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.subscription_id == subscription_id,
            webhook_deliveries.c.status == const(DeliveryStatus.PENDING.value),
        )
        .values(
            status=DeliveryStatus.PARKED.value,
            last_error=reason,
            next_attempt_at=None,
            finished_at=now,
        )
    )


async def enqueue(
    session: AsyncSession, notifications: list[Notification], *, now: dt.datetime
) -> int:
    """Queue each notification for every active subscription that wants it; returns how many."""
    if not notifications:
        return 0
    subscriptions = (
        await session.execute(
            select(webhook_subscriptions.c.subscription_id, webhook_subscriptions.c.events).where(
                webhook_subscriptions.c.active
            )
        )
    ).all()
    rows = [
        {
            "subscription_id": sub.subscription_id,
            "event_type": n.event_type,
            "event_key": n.key,
            "body": n.body,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for n in notifications
        for sub in subscriptions
        if wants(sub.events, n.event_type)
    ]
    if rows:
        await session.execute(insert(webhook_deliveries).on_conflict_do_nothing(), rows)
    return len(rows)


@dataclass(frozen=True)
class DueDelivery:
    delivery_id: int
    subscription_id: str
    event_type: str
    event_key: str
    body: bytes
    attempts: int
    url: str | None
    secret: str | None
    active: bool


async def claim_due(
    session: AsyncSession, *, now: dt.datetime, lease: dt.timedelta
) -> DueDelivery | None:
    """The most overdue pending delivery, leased (its next attempt pushed out) so no other
    worker takes it while this one sends it."""
    d, s = webhook_deliveries, webhook_subscriptions
    row = (
        await session.execute(
            select(
                d.c.delivery_id,
                d.c.subscription_id,
                d.c.event_type,
                d.c.event_key,
                d.c.body,
                d.c.attempts,
            )
            .where(d.c.status == const(DeliveryStatus.PENDING.value), d.c.next_attempt_at <= now)
            .order_by(d.c.next_attempt_at, d.c.delivery_id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).first()
    if row is None:
        return None
    await session.execute(
        update(d).where(d.c.delivery_id == row.delivery_id).values(next_attempt_at=now + lease)
    )
    sub = (
        await session.execute(
            select(s.c.url, s.c.secret, s.c.active).where(
                s.c.subscription_id == row.subscription_id
            )
        )
    ).first()
    return DueDelivery(
        delivery_id=row.delivery_id,
        subscription_id=row.subscription_id,
        event_type=row.event_type,
        event_key=row.event_key,
        body=bytes(row.body),
        attempts=row.attempts,
        url=sub.url if sub else None,
        secret=sub.secret if sub else None,
        active=bool(sub and sub.active),
    )


async def record_attempt(
    session: AsyncSession,
    *,
    delivery_id: int,
    attempts_before: int,
    status: DeliveryStatus,
    next_attempt_at: dt.datetime | None,
    status_code: int | None,
    error: str | None,
    duration_ms: float,
    now: dt.datetime,
) -> bool:
    """Log an attempt and move the delivery on; False if someone else recorded it meanwhile."""
    d = webhook_deliveries
    result = await session.execute(
        update(d)
        .where(d.c.delivery_id == delivery_id, d.c.attempts == attempts_before)
        .values(
            status=status.value,
            attempts=attempts_before + 1,
            next_attempt_at=next_attempt_at,
            last_status_code=status_code,
            last_error=error,
            finished_at=None if status is DeliveryStatus.PENDING else now,
        )
        .returning(d.c.delivery_id)
    )
    if result.first() is None:
        return False
    await session.execute(
        webhook_attempts.insert().values(
            delivery_id=delivery_id,
            attempt=attempts_before + 1,
            at=now,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    return True


@dataclass(frozen=True)
class DeliveryRow:
    delivery_id: int
    subscription_id: str
    event_type: str
    event_key: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


def _delivery(row: Any) -> DeliveryRow:
    return DeliveryRow(
        delivery_id=row.delivery_id,
        subscription_id=row.subscription_id,
        event_type=row.event_type,
        event_key=row.event_key,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


_DELIVERY_COLUMNS = [c for c in webhook_deliveries.c if c.name != "body"]


async def list_deliveries(
    session: AsyncSession,
    *,
    status: str | None,
    subscription_id: str | None,
    before: int | None,
    limit: int,
) -> list[DeliveryRow]:
    """Deliveries newest first, starting before the cursor id."""
    d = webhook_deliveries
    query = select(*_DELIVERY_COLUMNS).order_by(d.c.delivery_id.desc()).limit(limit)
    if status is not None:
        query = query.where(d.c.status == status)
    if subscription_id is not None:
        query = query.where(d.c.subscription_id == subscription_id)
    if before is not None:
        query = query.where(d.c.delivery_id < before)
    return [_delivery(row) for row in (await session.execute(query)).all()]


async def get_delivery(
    session: AsyncSession, delivery_id: int, *, lock: bool = False
) -> DeliveryRow | None:
    """A delivery by id (locked for update if asked)."""
    query = select(*_DELIVERY_COLUMNS).where(webhook_deliveries.c.delivery_id == delivery_id)
    row = (await session.execute(query.with_for_update() if lock else query)).first()
    return _delivery(row) if row else None


@dataclass(frozen=True)
class AttemptRow:
    attempt: int
    at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: float


async def attempts_of(session: AsyncSession, delivery_id: int) -> list[AttemptRow]:
    """Every attempt of a delivery, in order."""
    rows = (
        await session.execute(
            select(webhook_attempts)
            .where(webhook_attempts.c.delivery_id == delivery_id)
            .order_by(webhook_attempts.c.attempt, webhook_attempts.c.id)
        )
    ).all()
    return [
        AttemptRow(row.attempt, row.at, row.status_code, row.error, row.duration_ms) for row in rows
    ]


async def requeue(session: AsyncSession, delivery_id: int, *, now: dt.datetime) -> None:
    """Send a delivery again from scratch (a manual replay)."""
    await session.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.delivery_id == delivery_id)
        .values(
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            finished_at=None,
        )
    )


async def status_counts(session: AsyncSession) -> dict[str, int]:
    """How many deliveries wait (pending) or were given up (parked)."""
    waiting = (DeliveryStatus.PENDING.value, DeliveryStatus.PARKED.value)
    rows = (
        await session.execute(
            select(webhook_deliveries.c.status, func.count())
            .where(webhook_deliveries.c.status.in_(consts("waiting", waiting)))
            .group_by(webhook_deliveries.c.status)
        )
    ).all()
    counts = dict.fromkeys(waiting, 0)
    counts.update({row[0]: int(row[1]) for row in rows})
    return counts
