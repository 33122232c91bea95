"""`modqa report daily|weekly|dsa`: the quality reports, as tables, Markdown, CSV or JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import typer

from modqa_client import api, session
from modqa_client.output import console, emit_json, figure, table

Shape = Literal["table", "md", "csv", "json"]


def register(app: typer.Typer, friendly: Callable[[Any], Any]) -> None:
    reports = typer.Typer(help="Quality reports from the metrics service.")
    app.add_typer(reports, name="report")

    def fetch(kind: str, shape: Shape, **params: Any) -> Any:
        with session.client() as client:
            fmt = "json" if shape in ("table", "json") else shape
            return client.call(api.report(kind, fmt, **params))

    @reports.command("daily")
    @friendly
    def daily(
        date: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: yesterday)")] = None,
        market: Annotated[str | None, typer.Option(help="market, e.g. KR")] = None,
        fmt: Annotated[Shape, typer.Option("--format")] = "table",
    ) -> None:
        """One day's quality."""
        show(fetch("daily", fmt, date=date, market=market), fmt)

    @reports.command("weekly")
    @friendly
    def weekly(
        week: Annotated[
            str | None, typer.Option(help="ISO week, e.g. 2026-W47 (default: last)")
        ] = None,
        market: Annotated[str | None, typer.Option(help="market, e.g. KR")] = None,
        fmt: Annotated[Shape, typer.Option("--format")] = "table",
    ) -> None:
        """The weekly quality report a QA lead sends to management."""
        show(fetch("weekly", fmt, week=week, market=market), fmt)


def show(body: Any, shape: Shape) -> None:
    if shape in ("md", "csv"):
        console.out(body, end="")
        return
    if shape == "json":
        emit_json(body)
        return
    scope = body.get("market") or "all markets"
    console.print(
        f"[bold]{body['kind'].title()} quality, {scope}, {body['period_start']} to "
        f"{body['period_end']}[/]"
    )
    console.print(
        f"Accuracy {figure(body['headline'])} over {body['judged']} judged "
        f"({body['unsure']} unsure)"
    )
    trend = body.get("trend")
    if trend and trend.get("change") is not None:
        console.print(
            f"Trend {trend['change']:+.1%} on {figure(trend['previous'])}"
            f"{' (significant)' if trend['significant'] else ' (within noise)'}"
        )
    table(
        "Worst queues and policies",
        ["kind", "name", "accuracy"],
        [["queue", r["name"], figure(r["accuracy"])] for r in body["worst_queues"]]
        + [["policy", r["name"], figure(r["accuracy"])] for r in body["worst_policies"]],
    )
    table(
        "Error types",
        ["type", "rate"],
        [[e["error_type"], figure(e["rate"])] for e in body["error_types"]],
    )
    table(
        "Moderators needing coaching",
        ["moderator", "team", "accuracy", "why"],
        [
            [c["moderator_id"], c["moderator_team"], figure(c["accuracy"]), c["reason"]]
            for c in body["coaching"]
        ],
    )
    table(
        "Open escalations",
        ["severity", "kind", "open"],
        [[c["severity"], c["kind"], c["open"]] for c in body["open_escalations"]],
    )
