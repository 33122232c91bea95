"""The metrics service's Prometheus metrics: quality figures with bounded label sets.

Per market, per market x queue and per market x policy (tens to a hundred series); never per
moderator (that is what the API is for).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Gauge

from services.metrics.domain.figures import GroupFigures
from shared.background import pause

DRIFT_SIGNALS = Counter("modqa_metrics_drift_signals_total", "Drift signals raised", ["scope"])
ACCURACY = Gauge(
    "modqa_metrics_accuracy_ratio",
    "Design-weighted accuracy of the last 7 days (share of decisions judged correct)",
    ["market", "queue", "policy_id"],
)
ACCURACY_LOW = Gauge(
    "modqa_metrics_accuracy_low_ratio",
    "Lower bound of the 95% interval of accuracy",
    ["market", "queue", "policy_id"],
)
ACCURACY_HIGH = Gauge(
    "modqa_metrics_accuracy_high_ratio",
    "Upper bound of the 95% interval of accuracy",
    ["market", "queue", "policy_id"],
)
OVER_ENFORCEMENT = Gauge(
    "modqa_metrics_over_enforcement_ratio",
    "Design-weighted over-enforcement rate, last 7 days",
    ["market", "queue", "policy_id"],
)
UNDER_ENFORCEMENT = Gauge(
    "modqa_metrics_under_enforcement_ratio",
    "Design-weighted under-enforcement rate, last 7 days",
    ["market", "queue", "policy_id"],
)
JUDGED = Gauge(
    "modqa_metrics_judged_decisions",
    "Decisions with a final correct/incorrect verdict, last 7 days",
    ["market", "queue", "policy_id"],
)
ALL = "all"
_GAUGES = (ACCURACY, ACCURACY_LOW, ACCURACY_HIGH, OVER_ENFORCEMENT, UNDER_ENFORCEMENT, JUDGED)


def publish(figures: list[GroupFigures]) -> None:
    """Replace the exported gauges with the latest figures (labels absent from a grouping are
    exported as `all`)."""
    for gauge in _GAUGES:
        gauge.clear()
    for figure in figures:
        labels = (
            figure.group.get("market", ALL),
            figure.group.get("queue", ALL),
            figure.group.get("policy_id", ALL),
        )
        JUDGED.labels(*labels).set(figure.judged)
        accuracy = figure.accuracy
        if accuracy.rate is None or accuracy.low is None or accuracy.high is None:
            continue
        ACCURACY.labels(*labels).set(accuracy.rate)
        ACCURACY_LOW.labels(*labels).set(accuracy.low)
        ACCURACY_HIGH.labels(*labels).set(accuracy.high)
        for gauge, name in (
            (OVER_ENFORCEMENT, "over_enforcement"),
            (UNDER_ENFORCEMENT, "under_enforcement"),
        ):
            rate = figure.error_types[name].rate
            if rate is not None:
                gauge.labels(*labels).set(rate)


class GaugeRefresher:
    """Recomputes the exported figures every few seconds until stopped."""

    def __init__(
        self, compute: Callable[[], Awaitable[list[GroupFigures]]], every_s: float
    ) -> None:
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
