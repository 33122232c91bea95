"""Builders for sampler tests: plan revisions, schedules and consumed decisions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from services.sampler.domain.core import SamplerCore, Seen
from services.sampler.domain.plan import Allocated, Revision, validate_plan
from services.sampler.domain.selection import (
    PolicyFacts,
    Schedule,
    Selector,
    TargetingEntry,
    TargetingIndex,
)
from services.sampler.wire import DecisionRecord, from_event
from shared.taxonomy import load_taxonomy
from tests.support.builders import NOW, a_decision

EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
FACTS = PolicyFacts.from_taxonomy(load_taxonomy())


def a_revision(
    document: Mapping[str, Any] | None = None,
    *,
    plan_id: str = "plan-a",
    version: int = 1,
    seq: int = 1,
    effective_from: dt.datetime = EPOCH,
    scales: Mapping[str, float] | None = None,
    allocation: Allocated | None = None,
) -> Revision:
    return Revision(
        seq=seq,
        plan_id=plan_id,
        version=version,
        effective_from=effective_from,
        plan=validate_plan(dict(document or {}), plan_id=plan_id),
        scales=dict(scales or {}),
        allocation=allocation,
    )


def a_schedule(
    *revisions: Revision,
    targeting: Iterable[TargetingEntry] = (),
    horizon: dt.datetime | None = None,
    default: Revision | None = None,
) -> Schedule:
    return Schedule(
        list(revisions),
        default=default or a_revision({"base_rate": 0.05, "salt": "default-salt"}, seq=0),
        facts=FACTS,
        targeting=TargetingIndex(targeting),
        horizon=(horizon or NOW + dt.timedelta(days=3650)).timestamp(),
    )


def a_selector(document: Mapping[str, Any] | None = None, **kwargs: Any) -> Selector:
    return a_schedule(a_revision(document, **kwargs)).at(NOW.timestamp())


def a_record(**overrides: Any) -> DecisionRecord:
    return from_event(a_decision(**overrides))


def seen(decision: DecisionRecord, *, partition: int = 0, at: dt.datetime | None = None) -> Seen:
    """A consumed decision whose record timestamp is `at` (default: a minute after it)."""
    stamp = at or decision.decided_at + dt.timedelta(minutes=1)
    return (partition, decision, int(stamp.timestamp() * 1000))


def a_core(*partitions: int, dedupe_days: int = 2) -> SamplerCore:
    core = SamplerCore(dedupe_days=dedupe_days)
    for partition in partitions or (0,):
        core.load(partition, {})
    return core
