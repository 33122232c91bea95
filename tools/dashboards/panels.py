"""Small builders over grafanalib so every dashboard looks and queries the same way."""

from __future__ import annotations

from dataclasses import dataclass

from grafanalib.core import (
    Dashboard,
    GridPos,
    Stat,
    Target,
    Template,
    Templating,
    Time,
    TimeSeries,
)

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
WIDTH = 24


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


def _targets(queries: list[Query]) -> list[Target]:
    return [
        Target(expr=q.expr, legendFormat=q.legend, refId=chr(ord("A") + i), datasource=DATASOURCE)
        for i, q in enumerate(queries)
    ]


def series(
    title: str,
    queries: list[Query],
    *,
    unit: str = "short",
    width: int = 12,
    description: str = "",
    min_zero: bool = True,
) -> TimeSeries:
    """A time-series panel."""
    return TimeSeries(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        unit=unit,
        gridPos=GridPos(h=8, w=width, x=0, y=0),
        axisSoftMin=0 if min_zero else None,
        legendDisplayMode="table",
        legendPlacement="right" if width == WIDTH else "bottom",
    )


def stat(
    title: str, query: Query, *, unit: str = "short", width: int = 6, description: str = ""
) -> Stat:
    """A single-number panel."""
    return Stat(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=_targets([query]),
        format=unit,
        gridPos=GridPos(h=4, w=width, x=0, y=0),
        reduceCalc="lastNotNull",
    )


def layout(panels: list[TimeSeries | Stat]) -> list[TimeSeries | Stat]:
    """Place panels left to right, top to bottom, by their widths."""
    x = y = row_height = 0
    for panel in panels:
        pos = panel.gridPos
        if x + pos.w > WIDTH:
            x, y, row_height = 0, y + row_height, 0
        panel.gridPos = GridPos(h=pos.h, w=pos.w, x=x, y=y)
        x += pos.w
        row_height = max(row_height, pos.h)
    return panels


def market_variable() -> Template:
    return Template(
        name="market",
        label="market",
        dataSource=DATASOURCE,
        type="query",
        query="label_values(modqa_metrics_accuracy_ratio, market)",
        includeAll=True,
        multi=True,
        default="$__all",
        allValue=".*",
        refresh=2,
    )


def dashboard(
    uid: str,
    title: str,
    description: str,
    panels: list[TimeSeries | Stat],
    *,
    variables: list[Template] | None = None,
) -> Dashboard:
    """A dashboard with the house time range and refresh."""
    return Dashboard(
        uid=uid,
        title=title,
        description=description,
        tags=["modqa"],
        panels=layout(panels),
        time=Time("now-1h", "now"),
        refresh="10s",
        timezone="utc",
        templating=Templating(list=variables or []),
    ).auto_panel_ids()
