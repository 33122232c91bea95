"""The review loop keeps a task leased while the auditor judges it, up to a limit."""

from __future__ import annotations

import datetime as dt

from modqa_client.lease import LeaseKeeper
from modqa_client.transport import ModqaError
from tests.support.waiting import eventually

SHORT = dt.timedelta(milliseconds=300)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def test_the_lease_is_extended_while_the_auditor_judges() -> None:
    calls: list[dt.datetime] = []

    def extend() -> dt.datetime:
        calls.append(now())
        return now() + SHORT

    with LeaseKeeper(extend, now() + SHORT) as keeper:
        await eventually(lambda: keeper.extensions, until=lambda n: n >= 2, timeout_s=10)
    assert not keeper._thread.is_alive(), "the keeper stops with the verdict"
    assert calls == sorted(calls)


async def test_a_lease_that_is_gone_is_not_chased() -> None:
    def extend() -> dt.datetime:
        raise ModqaError(409, "task t-1 is not leased to you (expired)", service="audit")

    with LeaseKeeper(extend, now() + SHORT) as keeper:
        await eventually(lambda: keeper._thread.is_alive(), until=lambda alive: not alive)
    assert keeper.extensions == 0 and "expired" in (keeper.error or "")


async def test_a_task_left_open_is_held_no_longer_than_the_limit() -> None:
    with LeaseKeeper(lambda: now() + SHORT, now() + SHORT, hold_at_most=dt.timedelta(0)) as keeper:
        await eventually(lambda: keeper._thread.is_alive(), until=lambda alive: not alive)
    assert keeper.extensions == 0
