"""The metrics service's Prometheus gauges: quality figures by queue and market (bounded labels)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from prometheus_client import Gauge

from services.metrics.domain import Proportion
from shared.background import pause

ACCURACY = Gauge(
    "modqa_metrics_accuracy_ratio", "Share of judged decisions found correct", ["queue", "market"]
)
ACCURACY_LOW = Gauge(
    "modqa_metrics_accuracy_low_ratio",
    "Lower bound of the 95% interval of accuracy",
    ["queue", "market"],
)
ACCURACY_HIGH = Gauge(
    "modqa_metrics_accuracy_high_ratio",
    "Upper bound of the 95% interval of accuracy",
    ["queue", "market"],
)
AUDITED = Gauge(
    "modqa_metrics_judged_decisions",
    "Decisions with a final correct/incorrect verdict",
    ["queue", "market"],
)

Figures = list[tuple[dict[str, str], Proportion]]


def publish(figures: Figures) -> None:
    """Replace the exported gauges with the latest figures."""
    for gauge in (ACCURACY, ACCURACY_LOW, ACCURACY_HIGH, AUDITED):
        gauge.clear()
    for group, figure in figures:
        labels = (group["queue"], group["market"])
        AUDITED.labels(*labels).set(figure.n)
        if figure.rate is not None and figure.low is not None and figure.high is not None:
            ACCURACY.labels(*labels).set(figure.rate)
            ACCURACY_LOW.labels(*labels).set(figure.low)
            ACCURACY_HIGH.labels(*labels).set(figure.high)


class GaugeRefresher:
    """Recomputes the exported figures every few seconds until stopped."""

    def __init__(self, compute: Callable[[], Awaitable[Figures]], every_s: float) -> None:
        self._compute = compute
        self._every_s = every_s
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            # a failed round leaves the last figures; the next round retries, /readyz tells why
            with contextlib.suppress(Exception):
                publish(await self._compute())
            await pause(self._stopping, self._every_s)
