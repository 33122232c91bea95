"""The metrics service's HTTP routes: figures, agreement, drift, policy impact, reports."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import HTTPException, Query, Response, status

from services.metrics import queries, render, reports
from services.metrics.deps import (
    AppSettings,
    DriftDesign,
    FigureReader,
    Now,
    Sessions,
    StrataReader,
)
from services.metrics.domain.figures import Method
from services.metrics.repository import FILTERABLE, GROUPABLE, FigureQuery
from services.metrics.schemas import (
    AgreementOut,
    AuditorAgreementOut,
    DetectorOut,
    DriftOut,
    Figure,
    ImpactOut,
    KappaOut,
    PairAgreement,
    QualityReport,
    QualityRow,
    RoundAgreement,
    SignalOut,
    StrataOut,
    StratumRate,
    VersionChangeOut,
)
from shared.http import TEXT_FORMATS, IsoDate, IsoDatetime, api_router

router = api_router()

Format = Literal["json", "csv", "md"]
DEFAULT_DAYS = 28
MEDIA = {"csv": "text/csv; charset=utf-8", "md": "text/markdown; charset=utf-8"}
Market = Annotated[str | None, Query(pattern=r"^[A-Z]{2}$", description="ISO country code")]
Slug = Annotated[str | None, Query(max_length=128)]
From = Annotated[IsoDate | None, Query(alias="from", description="first day (YYYY-MM-DD)")]
To = Annotated[IsoDate | None, Query(alias="to", description="last day (YYYY-MM-DD)")]


def _list_of(names: tuple[str, ...]) -> str:
    """A regex for a comma-separated list of the names."""
    one = "|".join(names)
    return rf"^(?:{one})(?:,(?:{one}))*$"


GroupBy = Annotated[
    str,
    Query(pattern=_list_of(GROUPABLE), description=f"comma-separated, of: {', '.join(GROUPABLE)}"),
]


def _fields(raw: str, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in raw.split(",") if name.strip())
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"{what}: unknown field(s) {', '.join(unknown)}; use any of {', '.join(allowed)}",
        )
    return names


def _window(
    clock: Now, date_from: dt.date | None, date_to: dt.date | None
) -> tuple[dt.date, dt.date]:
    end = date_to or clock.now().date()
    start = date_from or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "from: must not be after to")
    return start, end


def _text(body: str, fmt: Format) -> Response:
    return Response(body, media_type=MEDIA[fmt])


@router.get("/quality", response_model=QualityReport, responses=TEXT_FORMATS)
async def quality(
    _: FigureReader,
    sessions: Sessions,
    clock: Now,
    group_by: Annotated[
        str, Query(description=f"comma-separated, of: {', '.join(GROUPABLE)}")
    ] = "market",
    period: Literal["day", "week", "none"] = "none",
    date_from: From = None,
    date_to: To = None,
    method: Method | None = None,
    market: Market = None,
    queue: Slug = None,
    policy_id: Slug = None,
    moderator_id: Slug = None,
    moderator_team: Slug = None,
    moderator_kind: Literal["human", "machine"] | None = None,
    language: Slug = None,
    content_type: Slug = None,
    category: Slug = None,
    format: Format = "json",
) -> QualityReport | Response:
    """Accuracy, error rate, over/under-enforcement and error types per group and period, each
    with its 95% interval and sample size. Population figures are weighted by inclusion
    probability (design); per-moderator figures are plain shares with Wilson intervals."""
    names = _fields(group_by, GROUPABLE, "group_by")
    start, end = _window(clock, date_from, date_to)
    given = {
        "market": market,
        "queue": queue,
        "policy_id": policy_id,
        "moderator_id": moderator_id,
        "moderator_team": moderator_team,
        "moderator_kind": moderator_kind,
        "language": language,
        "content_type": content_type,
        "category": category,
    }
    filters = {k: v for k, v in given.items() if v is not None and k in FILTERABLE}
    query = FigureQuery(
        group_by=names,
        period=None if period == "none" else period,
        date_from=start,
        date_to=end,
        filters=filters,
    )
    figures = await queries.quality(sessions=sessions, query=query, method=method)
    report = QualityReport(
        group_by=list(names),
        period=query.period,
        date_from=start,
        date_to=end,
        filters=filters,
        rows=[QualityRow.of(f) for f in figures],
    )
    if format == "csv":
        return _text(render.quality_csv(report), format)
    if format == "md":
        return _text(render.quality_markdown(report), format)
    return report


@router.get("/agreement", response_model=AgreementOut)
async def agreement(
    _: FigureReader,
    sessions: Sessions,
    clock: Now,
    date_from: From = None,
    date_to: To = None,
    market: Market = None,
    policy_id: Slug = None,
    queue: Slug = None,
) -> AgreementOut:
    """Cohen's kappa per auditor pair, Fleiss' kappa per calibration round size, and per
    auditor the agreement with the adjudicated reference and the accuracy on gold items."""
    start, end = _window(clock, date_from, date_to)
    filters = {
        k: v
        for k, v in {"market": market, "policy_id": policy_id, "queue": queue}.items()
        if v is not None
    }
    result = await queries.agreement(
        sessions=sessions, query=FigureQuery(date_from=start, date_to=end, filters=filters)
    )
    return AgreementOut(
        pairs=[
            PairAgreement(auditors=pair, cohen_kappa=KappaOut(value=k.value, items=k.items))
            for pair, k in result.pairs.items()
        ],
        rounds=[
            RoundAgreement(reviewers=n, fleiss_kappa=KappaOut(value=k.value, items=k.items))
            for n, k in result.rounds.items()
        ],
        auditors=[
            AuditorAgreementOut(
                auditor_id=a.auditor_id,
                agreement_with_reference=Figure.of(a.with_reference),
                gold_accuracy=Figure.of(a.gold_accuracy),
            )
            for a in result.auditors
        ],
    )


@router.get("/drift", response_model=DriftOut)
async def drift(
    _: FigureReader,
    sessions: Sessions,
    design: DriftDesign,
    scope: Literal["moderator", "market_policy"] | None = None,
    since: IsoDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DriftOut:
    """CUSUM detectors closest to signalling, and the signals raised."""
    view = await queries.drift(sessions=sessions, scope=scope, since=since, limit=limit)
    return DriftOut(
        p0=design.p0,
        p1=design.p1,
        threshold=design.h,
        detectors=[
            DetectorOut(
                scope=d["scope"],
                subject=d["subject"],
                statistic=round(d["statistic"], 4),
                threshold=design.h,
                audits=d["audits"],
                errors=d["errors"],
                recent_error_rate=(
                    d["errors_since_reset"] / d["since_reset"] if d["since_reset"] else None
                ),
                moderator_team=d["moderator_team"],
            )
            for d in view.detectors
        ],
        signals=[SignalOut(**s) for s in view.signals],
    )


@router.get("/policy-impact", response_model=ImpactOut)
async def policy_impact(
    _: FigureReader, sessions: Sessions, policy_id: Slug = None, market: Market = None
) -> ImpactOut:
    """Error, unsure and calibration-disagreement rates before and after each policy version
    change, per market, with a two-proportion z-test."""
    changes = await queries.policy_impact(sessions=sessions, policy_id=policy_id, market=market)
    return ImpactOut(changes=[VersionChangeOut.of(c) for c in changes])


@router.get("/strata/error-rates", response_model=StrataOut)
async def strata_error_rates(
    _: StrataReader,
    sessions: Sessions,
    clock: Now,
    by: GroupBy = "queue,market",
    days: Annotated[int, Query(ge=1, le=365)] = DEFAULT_DAYS,
) -> StrataOut:
    """Design-weighted error rate per stratum over the last days (the sampler's Neyman input)."""
    names = _fields(by, GROUPABLE, "by")
    rates = await queries.strata_error_rates(
        sessions=sessions, by=names, today=clock.now().date(), days=days
    )
    return StrataOut(
        by=list(names),
        days=days,
        strata=[
            StratumRate(key=key, error_rate=e.rate, low=e.low, high=e.high, n=e.n)
            for key, e in rates
        ],
    )


@router.get("/reports/daily", response_model=reports.QualityReportDoc, responses=TEXT_FORMATS)
async def daily_report(
    _: FigureReader,
    sessions: Sessions,
    clock: Now,
    settings: AppSettings,
    date: Annotated[IsoDate | None, Query(description="the day (YYYY-MM-DD)")] = None,
    market: Market = None,
    format: Format = "json",
) -> reports.QualityReportDoc | Response:
    """One day's quality for a market (default: yesterday, all markets)."""
    day = date or clock.now().date() - dt.timedelta(days=1)
    doc = await reports.quality_report(
        sessions=sessions,
        kind="daily",
        start=day,
        end=day,
        market=market,
        coaching_below=settings.quality_target,
    )
    return _rendered(doc, format)


@router.get("/reports/weekly", response_model=reports.QualityReportDoc, responses=TEXT_FORMATS)
async def weekly_report(
    _: FigureReader,
    sessions: Sessions,
    clock: Now,
    settings: AppSettings,
    week: Annotated[
        str | None,
        Query(pattern=r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$", description="ISO week, e.g. 2026-W47"),
    ] = None,
    market: Market = None,
    format: Format = "json",
) -> reports.QualityReportDoc | Response:
    """A week's quality report as a QA lead sends it (default: the last complete week)."""
    if week is None:
        today = clock.now().date()
        start = today - dt.timedelta(days=today.weekday() + 7)
    else:
        year, number = week.split("-W")
        try:
            start = dt.date.fromisocalendar(int(year), int(number), 1)
        except ValueError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"week: {error}") from error
    doc = await reports.quality_report(
        sessions=sessions,
        kind="weekly",
        start=start,
        end=start + dt.timedelta(days=6),
        market=market,
        coaching_below=settings.quality_target,
    )
    return _rendered(doc, format)


@router.get("/reports/dsa", response_model=reports.DsaReport, responses=TEXT_FORMATS)
async def dsa_report(
    _: FigureReader,
    sessions: Sessions,
    clock: Now,
    date_from: From = None,
    date_to: To = None,
    format: Format = "json",
) -> reports.DsaReport | Response:
    """Accuracy and error rates of automated versus human decisions per DSA category and per
    language, with intervals, approvals included (missed violations)."""
    start, end = _window(clock, date_from, date_to)
    doc = await reports.dsa_report(sessions=sessions, start=start, end=end)
    if format == "csv":
        return _text(render.dsa_csv(doc), format)
    if format == "md":
        return _text(render.dsa_markdown(doc), format)
    return doc


def _rendered(doc: reports.QualityReportDoc, fmt: Format) -> reports.QualityReportDoc | Response:
    if fmt == "csv":
        return _text(render.report_csv(doc), fmt)
    if fmt == "md":
        return _text(render.report_markdown(doc), fmt)
    return doc
