"""Long-running loops (consumers, relays, timers) owned by a service's lifespan.

A loop that dies of an unexpected error takes the process down (SIGTERM to itself), so the
supervisor restarts a clean process instead of leaving a service that answers HTTP but no
longer consumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class _Loop:
    name: str
    stop: Callable[[], None]
    task: asyncio.Task[None]


class BackgroundLoops:
    """Starts named loops and stops them in reverse order on shutdown."""

    def __init__(self) -> None:
        self._loops: list[_Loop] = []
        self._shutting_down = False

    def start(
        self, name: str, run: Callable[[], Coroutine[Any, Any, None]], stop: Callable[[], None]
    ) -> None:
        """Run `run()` as a task; `stop()` must make it return soon."""
        task = asyncio.create_task(run(), name=name)
        task.add_done_callback(self._on_done)
        self._loops.append(_Loop(name, stop, task))

    def _on_done(self, task: asyncio.Task[None]) -> None:
        if self._shutting_down or task.cancelled():
            return
        error = task.exception()
        log.error(
            "background loop ended unexpectedly; stopping the process",
            extra={"loop": task.get_name(), "error": repr(error)},
            exc_info=error,
        )
        os.kill(os.getpid(), signal.SIGTERM)

    async def stop_all(self, timeout_s: float = 15.0) -> None:
        """Ask every loop to stop, wait for them, cancel the stragglers."""
        self._shutting_down = True
        for loop in reversed(self._loops):
            loop.stop()
        tasks = [loop.task for loop in self._loops]
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=timeout_s)
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.warning("loop failed during shutdown", extra={"loop": task.get_name()})

    def all_running(self) -> bool:
        """True while no loop has ended."""
        return all(not loop.task.done() for loop in self._loops)


async def pause(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep for `seconds`, or less if `stopping` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=seconds)
