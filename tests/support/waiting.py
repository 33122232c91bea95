"""Polling with a deadline: tests wait for a condition, never for a fixed time."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T] | T],
    *,
    until: Callable[[T], bool],
    timeout_s: float = 30.0,
    interval_s: float = 0.2,
    what: str = "condition",
) -> T:
    """Call `probe` (sync or async) until `until(result)` holds; fail at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        last: T = await result if inspect.isawaitable(result) else result  # type: ignore[assignment]
        if until(last):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout_s}s; last value: {last!r}")
        await asyncio.sleep(interval_s)
