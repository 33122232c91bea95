"""Webhook routes: subscriptions, the deliveries log, and manual replay of parked deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from services.escalation import webhook_handlers
from services.escalation.deps import Now, Sessions, WebhookAdmin
from services.escalation.domain.webhooks import DeliveryStatus, InvalidSubscription
from services.escalation.repository.webhooks import Subscription
from services.escalation.schemas import (
    AttemptOut,
    DeliveryDetailOut,
    DeliveryOut,
    DeliveryPage,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)
from shared.http import INT8_MAX

router = APIRouter(tags=["webhooks"])

DeliveryId = Annotated[int, Path(ge=1, le=INT8_MAX)]


def _out(subscription: Subscription) -> SubscriptionOut:
    fields = {k: v for k, v in subscription.__dict__.items() if k != "secret"}
    return SubscriptionOut(**fields)


def _invalid(error: InvalidSubscription) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error))


def _missing(error: LookupError) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(error))


@router.get("/webhooks/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    _: WebhookAdmin,
    sessions: Sessions,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    subscription_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[
        int | None, Query(ge=1, le=INT8_MAX, description="next_cursor of the last page")
    ] = None,
) -> DeliveryPage:
    """Deliveries newest first; `status=parked` lists those waiting for a manual replay."""
    rows = await webhook_handlers.list_deliveries(
        sessions=sessions,
        status=status_.value if status_ else None,
        subscription_id=subscription_id,
        before=cursor,
        limit=limit + 1,
    )
    page = rows[:limit]
    more = len(rows) > limit
    return DeliveryPage(
        items=[DeliveryOut(**row.__dict__) for row in page],
        next_cursor=str(page[-1].delivery_id) if more else None,
    )


@router.get("/webhooks/deliveries/{delivery_id}", response_model=DeliveryDetailOut)
async def show_delivery(
    delivery_id: DeliveryId, _: WebhookAdmin, sessions: Sessions
) -> DeliveryDetailOut:
    """One delivery with every attempt (time, status code, error, duration)."""
    try:
        delivery, attempts = await webhook_handlers.delivery_detail(
            sessions=sessions, delivery_id=delivery_id
        )
    except webhook_handlers.DeliveryNotFound as error:
        raise _missing(error) from error
    return DeliveryDetailOut(
        delivery=DeliveryOut(**delivery.__dict__),
        attempts=[AttemptOut(**attempt.__dict__) for attempt in attempts],
    )


@router.post("/webhooks/deliveries/{delivery_id}/replay", response_model=DeliveryOut)
async def replay_delivery(
    delivery_id: DeliveryId, _: WebhookAdmin, sessions: Sessions, clock: Now
) -> DeliveryOut:
    """Send a parked (or delivered) delivery again, with a fresh count of attempts."""
    try:
        row = await webhook_handlers.replay(
            sessions=sessions, delivery_id=delivery_id, now=clock.now()
        )
    except webhook_handlers.DeliveryNotFound as error:
        raise _missing(error) from error
    except webhook_handlers.NotReplayable as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    return DeliveryOut(**row.__dict__)


@router.post("/webhooks", response_model=SubscriptionCreated, status_code=status.HTTP_201_CREATED)
async def subscribe(
    body: SubscriptionIn, admin: WebhookAdmin, sessions: Sessions, clock: Now
) -> SubscriptionCreated:
    """Subscribe a URL to event types; the response carries the signing secret once."""
    try:
        created = await webhook_handlers.subscribe(
            sessions=sessions,
            url=body.url,
            events=body.events,
            secret=body.secret,
            description=body.description,
            actor=admin.subject,
            now=clock.now(),
        )
    except InvalidSubscription as error:
        raise _invalid(error) from error
    return SubscriptionCreated(**created.__dict__)


@router.get("/webhooks", response_model=list[SubscriptionOut])
async def list_subscriptions(_: WebhookAdmin, sessions: Sessions) -> list[SubscriptionOut]:
    """Every subscription (secrets are never shown again)."""
    return [_out(s) for s in await webhook_handlers.list_subscriptions(sessions=sessions)]


@router.get("/webhooks/{subscription_id}", response_model=SubscriptionOut)
async def show_subscription(
    subscription_id: str, _: WebhookAdmin, sessions: Sessions
) -> SubscriptionOut:
    """One subscription (without its secret)."""
    try:
        found = await webhook_handlers.get_subscription(
            sessions=sessions, subscription_id=subscription_id
        )
    except webhook_handlers.SubscriptionNotFound as error:
        raise _missing(error) from error
    return _out(found)


@router.patch("/webhooks/{subscription_id}", response_model=SubscriptionOut)
async def change_subscription(
    subscription_id: str, body: SubscriptionPatch, _: WebhookAdmin, sessions: Sessions, clock: Now
) -> SubscriptionOut:
    """Change URL, events, secret, description or `active` (deactivating parks what is pending)."""
    try:
        changed = await webhook_handlers.change_subscription(
            sessions=sessions,
            subscription_id=subscription_id,
            change=webhook_handlers.SubscriptionChange(**body.model_dump()),
            now=clock.now(),
        )
    except webhook_handlers.SubscriptionNotFound as error:
        raise _missing(error) from error
    except InvalidSubscription as error:
        raise _invalid(error) from error
    return _out(changed)


@router.delete(
    "/webhooks/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def unsubscribe(
    subscription_id: str, _: WebhookAdmin, sessions: Sessions, clock: Now
) -> Response:
    """Remove a subscription; its pending deliveries are parked."""
    try:
        await webhook_handlers.unsubscribe(
            sessions=sessions, subscription_id=subscription_id, now=clock.now()
        )
    except webhook_handlers.SubscriptionNotFound as error:
        raise _missing(error) from error
    return Response(status_code=status.HTTP_204_NO_CONTENT)
