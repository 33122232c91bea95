"""Keep a task leased while its auditor is judging it, so a long look at a hard case does not
hand the task back (and refuse the verdict) behind their back; up to a limit, so a task left
open on a screen goes back to the pool in the end."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from types import TracebackType

from modqa_client.transport import ModqaError

HOLD_AT_MOST = dt.timedelta(hours=1)
RETRY_S = 5.0
GONE = frozenset({404, 409})
"""The task is no longer leased to the auditor (lapsed and taken back, cancelled)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LeaseKeeper:
    """Extends a lease when a third of it is left, from a background thread, until closed."""

    def __init__(
        self,
        extend: Callable[[], dt.datetime],
        expires_at: dt.datetime,
        *,
        hold_at_most: dt.timedelta = HOLD_AT_MOST,
        now: Callable[[], dt.datetime] = _now,
    ) -> None:
        self.extend = extend
        self.expires_at = expires_at
        self.now = now
        self.until = now() + hold_at_most
        self.extensions = 0
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        length = max((self.expires_at - self.now()).total_seconds(), 1.0)
        while True:
            left = (self.expires_at - self.now()).total_seconds()
            if self._stop.wait(max(left - length / 3, 0.0)):
                return
            if self.now() >= self.until:
                return
            try:
                self.expires_at = self.extend()
                self.extensions += 1
                self.error = None
            except ModqaError as error:
                self.error = str(error)
                if error.status in GONE:
                    return
                # away for now: try again while the lease may still hold
                if self._stop.wait(min(RETRY_S, max(left / 2, 0.1))):
                    return
