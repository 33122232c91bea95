"""`modqa report daily|weekly|dsa`: the quality reports, as tables, Markdown, CSV or JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import typer

from modqa_client import api, session
from modqa_client.commands.shared import Json
from modqa_client.output import console, emit_json, figure, section

Shape = Literal["table", "md", "csv", "json"]
Format = Annotated[Shape, typer.Option("--format", help="table, md (Markdown), csv or json")]
Market = Annotated[str | None, typer.Option(help="market, e.g. KR (default: all)")]


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
        market: Market = None,
        fmt: Format = "table",
        as_json: Json = False,
    ) -> None:
        """One day's quality."""
        shape = "json" if as_json else fmt
        show(fetch("daily", shape, date=date, market=market), shape)

    @reports.command("weekly")
    @friendly
    def weekly(
        week: Annotated[
            str | None, typer.Option(help="ISO week, e.g. 2026-W47 (default: the last one)")
        ] = None,
        market: Market = None,
        fmt: Format = "table",
        as_json: Json = False,
    ) -> None:
        """The weekly quality report a QA lead sends to management."""
        shape = "json" if as_json else fmt
        show(fetch("weekly", shape, week=week, market=market), shape)

    @reports.command("dsa")
    @friendly
    def dsa(
        date_from: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
        date_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
        fmt: Format = "table",
        as_json: Json = False,
    ) -> None:
        """Accuracy of automated against human decisions per DSA category and language."""
        shape = "json" if as_json else fmt
        body = fetch("dsa", shape, **{"from": date_from, "to": date_to})
        if shape != "table":
            show(body, shape)
            return
        console.print(
            f"[bold]Automated and human moderation, {body['period_start']} to "
            f"{body['period_end']}[/]"
        )
        section(
            "By DSA category and language",
            ["by", "value", "moderator", "accuracy", "error rate", "missed violations"],
            [
                [
                    r["dimension"],
                    r["value"],
                    r["moderator_kind"],
                    figure(r["accuracy"]),
                    figure(r["error_rate"]),
                    figure(r["missed_violations"]),
                ]
                for r in body["rows"]
            ],
        )


def show(body: Any, shape: Shape) -> None:
    """A quality report as text (Markdown, CSV), JSON or tables."""
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
    section(
        "Accuracy by queue and policy",
        ["kind", "name", "accuracy"],
        [["queue", r["name"], figure(r["accuracy"])] for r in body["by_queue"]]
        + [["policy", r["name"], figure(r["accuracy"])] for r in body["by_policy"]],
    )
    section(
        "Worst queues and policies",
        ["kind", "name", "accuracy"],
        [["queue", r["name"], figure(r["accuracy"])] for r in body["worst_queues"]]
        + [["policy", r["name"], figure(r["accuracy"])] for r in body["worst_policies"]],
    )
    section(
        "Error types",
        ["type", "rate"],
        [[e["error_type"].replace("_", " "), figure(e["rate"])] for e in body["error_types"]],
    )
    section(
        "Moderators needing coaching",
        ["moderator", "team", "accuracy", "why"],
        [
            [c["moderator_id"], c["moderator_team"], figure(c["accuracy"]), c["reason"]]
            for c in body["coaching"]
        ],
    )
    section(
        "Open escalations",
        ["severity", "kind", "open"],
        [[c["severity"], c["kind"], c["open"]] for c in body["open_escalations"]],
    )
    section(
        "Policy updates",
        ["policy", "market", "versions", "error rate before -> after"],
        [
            [
                c["policy_id"],
                c["market"],
                f"v{c['from_version']} -> v{c['to_version']} ({c['changed_on']})",
                f"{figure(c['error_rate']['before'])} -> {figure(c['error_rate']['after'])}"
                + (" (significant)" if c["error_rate"]["significant"] else ""),
            ]
            for c in body.get("policy_changes", [])
        ],
    )
