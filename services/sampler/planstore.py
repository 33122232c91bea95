"""The plan schedule as the hot path reads it: revisions and targeting states loaded from
PostgreSQL and reloaded incrementally, so a newly applied plan or targeting rule takes effect
without a restart.

Anything stored takes effect `delay` after it was stored (and its transaction must commit
within a quarter of that). A reload that starts at L therefore sees everything that takes
effect before L + delay * 3/4; the schedule's horizon is set to L + delay / 2, and the hot
path waits rather than sample a decision seen after the horizon.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.sampler import repository
from services.sampler.domain.plan import Allocated, PlanDocument, Revision
from services.sampler.domain.selection import (
    PolicyFacts,
    Schedule,
    TargetingEntry,
    TargetingIndex,
)
from services.sampler.metrics import PLAN_IN_FORCE, SCHEDULE_AGE
from shared.clock import Clock
from shared.events import TargetingRule

log = logging.getLogger(__name__)

HISTORY = dt.timedelta(days=35)
"""How far back revisions and targeting states are kept loaded (replays older than this use
the oldest loaded revision)."""


def allocation_to_json(allocation: Allocated | None) -> dict[str, Any] | None:
    if allocation is None:
        return None
    return {
        "rates": dict(allocation.rates),
        "error_rates": dict(allocation.error_rates),
        "computed_at": allocation.computed_at.isoformat(),
        "source": allocation.source,
    }


def allocation_from_json(data: Mapping[str, Any] | None) -> Allocated | None:
    if data is None:
        return None
    return Allocated(
        rates={str(k): float(v) for k, v in dict(data["rates"]).items()},
        error_rates={str(k): float(v) for k, v in dict(data.get("error_rates", {})).items()},
        computed_at=dt.datetime.fromisoformat(str(data["computed_at"])),
        source=str(data.get("source", "metrics")),
    )


def revision_from_row(row: Row[Any], documents: dict[tuple[str, int], PlanDocument]) -> Revision:
    """A stored revision (documents are parsed once per plan version)."""
    key = (row.plan_id, row.version)
    document = documents.get(key)
    if document is None:
        document = documents[key] = PlanDocument.model_validate(row.document)
    return Revision(
        seq=row.seq,
        plan_id=row.plan_id,
        version=row.version,
        effective_from=row.effective_from,
        plan=document,
        scales={str(k): float(v) for k, v in dict(row.scales).items()},
        allocation=allocation_from_json(row.allocation),
    )


def targeting_from_row(row: Row[Any]) -> TargetingEntry:
    rule = TargetingRule.model_validate(row.rule)
    return TargetingEntry(
        rule_id=rule.rule_id,
        effective_from=row.effective_from.timestamp(),
        updated_at=rule.updated_at.timestamp(),
        moderator_id=rule.moderator_id,
        market=rule.market,
        policy_id=rule.policy_id,
        rate=rule.rate,
        active=rule.active,
        expires_at=rule.expires_at.timestamp(),
    )


class ScheduleKeeper:
    """Holds the current `Schedule` and reloads it from the database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        default: Revision,
        facts: PolicyFacts,
        delay: dt.timedelta,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._default = default
        self._facts = facts
        self._delay = delay
        self._clock = clock
        self._revisions: dict[int, Revision] = {}
        self._targeting: dict[tuple[str, float], TargetingEntry] = {}
        self._documents: dict[tuple[str, int], PlanDocument] = {}
        self._index = TargetingIndex()
        self._last_started: dt.datetime | None = None
        self.loaded_at: dt.datetime | None = None
        self.schedule = Schedule(
            [], default=default, facts=facts, targeting=self._index, horizon=float("-inf")
        )

    @property
    def facts(self) -> PolicyFacts:
        return self._facts

    @property
    def default(self) -> Revision:
        return self._default

    async def reload(self) -> Schedule:
        """Load what changed since the last reload (everything the first time)."""
        started = self._clock.now()
        since = None if self._last_started is None else self._last_started - self._delay
        async with self._sessions() as session:
            if since is None:
                revision_rows = await repository.revisions_window(session, started - HISTORY)
            else:
                revision_rows = await repository.revisions_created_since(session, since)
            targeting_rows = await repository.targeting_window(
                session, expiring_after=started - HISTORY, received_since=since
            )
            await session.rollback()
        for row in revision_rows:
            self._revisions[row.seq] = revision_from_row(row, self._documents)
        new_targeting = False
        for row in targeting_rows:
            entry = targeting_from_row(row)
            key = (entry.rule_id, entry.updated_at)
            if key not in self._targeting:
                self._targeting[key] = entry
                new_targeting = True
        if new_targeting:
            self._index = TargetingIndex(self._targeting.values())
        schedule = Schedule(
            list(self._revisions.values()),
            default=self._default,
            facts=self._facts,
            targeting=self._index,
            horizon=(started + self._delay / 2).timestamp(),
        )
        schedule.reuse(self.schedule)
        previous = self.schedule.current(started.timestamp())
        self.schedule = schedule
        self._last_started = started
        self.loaded_at = started
        current = schedule.current(started.timestamp())
        if (current.plan_id, current.version) != (previous.plan_id, previous.version):
            PLAN_IN_FORCE.clear()
            log.info(
                "plan in force",
                extra={"plan_id": current.plan_id, "version": current.version},
            )
        PLAN_IN_FORCE.labels(current.plan_id, str(current.version)).set(1)
        SCHEDULE_AGE.set(0)
        return schedule

    def age(self) -> float:
        """Seconds since the last successful reload started."""
        if self.loaded_at is None:
            return float("inf")
        seconds = (self._clock.now() - self.loaded_at).total_seconds()
        SCHEDULE_AGE.set(seconds)
        return seconds
