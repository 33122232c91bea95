"""How plans, revisions and dry runs are shown to callers."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.engine import Row

from services.sampler.domain.dryrun import DryRun
from services.sampler.domain.plan import Revision
from services.sampler.planstore import revision_from_row
from services.sampler.schemas import (
    AllocationView,
    DryRunReport,
    PlanVersionView,
    PlanView,
    PoolForecastView,
    StratumForecastView,
)


def plan_view(revision: Revision) -> PlanView:
    """A revision as the API shows it (seq 0: the default plan from the settings)."""
    allocation = revision.allocation
    return PlanView(
        plan_id=revision.plan_id,
        version=revision.version,
        rate=revision.plan.base_rate,
        seq=revision.seq,
        effective_from=revision.effective_from if revision.seq > 0 else None,
        scales=dict(revision.scales),
        allocation=AllocationView(
            rates=dict(allocation.rates),
            error_rates=dict(allocation.error_rates),
            computed_at=allocation.computed_at,
            source=allocation.source,
        )
        if allocation is not None
        else None,
        document=revision.plan.model_dump(mode="json"),
    )


def revision_view(row: Row[Any]) -> PlanView:
    return plan_view(revision_from_row(row, {}))


def version_view(row: Row[Any]) -> PlanVersionView:
    return PlanVersionView(
        plan_id=row.plan_id,
        version=row.version,
        created_by=row.created_by,
        created_at=row.created_at,
        document=dict(row.document),
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def dry_run_report(
    report: DryRun, current: Revision, proposed: Revision, *, days: int
) -> DryRunReport:
    return DryRunReport(
        current=plan_view(current),
        proposed=plan_view(proposed),
        days=days,
        horizon_days=report.horizon_days,
        decisions_per_day=report.decisions_per_day,
        traffic_sample=report.sample_size,
        current_tasks_per_day=report.current_tasks_per_day,
        proposed_tasks_per_day=report.proposed_tasks_per_day,
        strata=[
            StratumForecastView(
                stratum=s.stratum,
                decisions_per_day=s.decisions_per_day,
                error_rate=s.error_rate,
                error_rate_source=s.error_rate_source,
                current_tasks_per_day=s.current_tasks_per_day,
                proposed_tasks_per_day=s.proposed_tasks_per_day,
                current_half_width=_finite(s.current_half_width),
                proposed_half_width=_finite(s.proposed_half_width),
            )
            for s in report.strata
        ],
        pools=[
            PoolForecastView(
                pool=p.pool,
                daily_budget=p.daily_budget,
                current_tasks_per_day=p.current_tasks_per_day,
                proposed_tasks_per_day=p.proposed_tasks_per_day,
            )
            for p in report.pools
        ],
    )
