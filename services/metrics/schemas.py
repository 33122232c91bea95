"""HTTP response models of the metrics service (JSON; CSV and Markdown render from these)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from services.metrics.domain.estimates import Estimate
from services.metrics.domain.figures import GroupFigures
from services.metrics.domain.impact import Comparison
from services.metrics.queries import VersionChange


class Figure(BaseModel):
    """A rate with the sample it rests on: never shown without its size and interval."""

    rate: float | None
    low: float | None = Field(description="lower bound of the 95% interval")
    high: float | None = Field(description="upper bound of the 95% interval")
    n: int = Field(description="audits the figure rests on")
    effective_n: float = Field(description="design-based effective sample size")
    firm: bool = Field(description="false when the sample is too small to rely on")

    @classmethod
    def of(cls, estimate: Estimate) -> Figure:
        return cls(
            rate=estimate.rate,
            low=estimate.low,
            high=estimate.high,
            n=estimate.n,
            effective_n=round(estimate.effective_n, 2),
            firm=estimate.firm,
        )


class QualityRow(BaseModel):
    group: dict[str, str]
    period: dt.date | None
    method: str = Field(description="design (weighted by inclusion probability) or simple")
    accuracy: Figure
    error_rate: Figure
    over_enforcement: Figure
    under_enforcement: Figure
    wrong_policy: Figure
    wrong_action: Figure
    judged: int
    unsure: int

    @classmethod
    def of(cls, figures: GroupFigures) -> QualityRow:
        types = figures.error_types
        return cls(
            group=figures.group,
            period=figures.period,
            method=figures.method,
            accuracy=Figure.of(figures.accuracy),
            error_rate=Figure.of(figures.error_rate),
            over_enforcement=Figure.of(types["over_enforcement"]),
            under_enforcement=Figure.of(types["under_enforcement"]),
            wrong_policy=Figure.of(types["wrong_policy"]),
            wrong_action=Figure.of(types["wrong_action"]),
            judged=figures.judged,
            unsure=figures.unsure,
        )


class QualityReport(BaseModel):
    group_by: list[str]
    period: str | None
    date_from: dt.date
    date_to: dt.date
    filters: dict[str, str]
    rows: list[QualityRow]


class KappaOut(BaseModel):
    value: float | None
    items: int


class PairAgreement(BaseModel):
    auditors: tuple[str, str]
    cohen_kappa: KappaOut


class RoundAgreement(BaseModel):
    reviewers: int
    fleiss_kappa: KappaOut


class AuditorAgreementOut(BaseModel):
    auditor_id: str
    agreement_with_reference: Figure
    gold_accuracy: Figure


class AgreementOut(BaseModel):
    pairs: list[PairAgreement]
    rounds: list[RoundAgreement]
    auditors: list[AuditorAgreementOut]


class DetectorOut(BaseModel):
    scope: str
    subject: str
    statistic: float
    threshold: float
    audits: int
    errors: int
    recent_error_rate: float | None
    moderator_team: str | None


class SignalOut(BaseModel):
    signal_id: str
    scope: str
    subject: str
    baseline_error_rate: float
    recent_error_rate: float
    statistic: float
    threshold: float
    audits: int
    detected_at: dt.datetime


class DriftOut(BaseModel):
    p0: float
    p1: float
    threshold: float
    detectors: list[DetectorOut]
    signals: list[SignalOut]


class ComparisonOut(BaseModel):
    before: Figure
    after: Figure
    difference: float | None
    z: float | None
    p_value: float | None
    significant: bool

    @classmethod
    def of(cls, comparison: Comparison) -> ComparisonOut:
        return cls(
            before=Figure.of(comparison.before),
            after=Figure.of(comparison.after),
            difference=comparison.difference,
            z=comparison.z,
            p_value=comparison.p_value,
            significant=comparison.significant,
        )


class VersionChangeOut(BaseModel):
    policy_id: str
    market: str
    from_version: int
    to_version: int
    changed_on: dt.date
    error_rate: ComparisonOut
    unsure_rate: ComparisonOut
    disagreement_rate: ComparisonOut

    @classmethod
    def of(cls, change: VersionChange) -> VersionChangeOut:
        return cls(
            policy_id=change.policy_id,
            market=change.market,
            from_version=change.from_version,
            to_version=change.to_version,
            changed_on=change.changed_on,
            error_rate=ComparisonOut.of(change.error_rate),
            unsure_rate=ComparisonOut.of(change.unsure_rate),
            disagreement_rate=ComparisonOut.of(change.disagreement_rate),
        )


class ImpactOut(BaseModel):
    changes: list[VersionChangeOut]


class StratumRate(BaseModel):
    key: dict[str, str]
    error_rate: float | None
    low: float | None
    high: float | None
    n: int


class StrataOut(BaseModel):
    by: list[str]
    days: int
    strata: list[StratumRate]
