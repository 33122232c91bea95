"""CSV and Markdown renderings of the metrics service's figures and reports."""

from __future__ import annotations

import csv
import io

from services.metrics.reports import DsaReport, QualityReportDoc
from services.metrics.schemas import Figure, QualityReport


def pct(figure: Figure) -> str:
    """`93.1% (91.0-94.8%, n=812)`, or why there is no figure; small samples are marked."""
    if figure.rate is None or figure.low is None or figure.high is None:
        return f"no data (n={figure.n})"
    text = f"{figure.rate:.1%} ({figure.low:.1%}-{figure.high:.1%}, n={figure.n})"
    return text if figure.firm else f"{text} [sample too small]"


def _figure_columns(prefix: str, figure: Figure) -> dict[str, object]:
    return {
        f"{prefix}": figure.rate,
        f"{prefix}_low": figure.low,
        f"{prefix}_high": figure.high,
        f"{prefix}_n": figure.n,
        f"{prefix}_firm": figure.firm,
    }


def _csv(rows: list[dict[str, object]]) -> str:
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def quality_csv(report: QualityReport) -> str:
    """One line per group and period."""
    rows = []
    for row in report.rows:
        line: dict[str, object] = {
            **row.group,
            "period": row.period,
            "method": row.method,
            "judged": row.judged,
            "unsure": row.unsure,
        }
        for name in (
            "accuracy",
            "error_rate",
            "over_enforcement",
            "under_enforcement",
            "wrong_policy",
            "wrong_action",
        ):
            line.update(_figure_columns(name, getattr(row, name)))
        rows.append(line)
    return _csv(rows)


def quality_markdown(report: QualityReport) -> str:
    """A table of accuracy and enforcement errors per group."""
    head = [
        *report.group_by,
        *(["period"] if report.period else []),
        "accuracy",
        "over-enforcement",
        "under-enforcement",
        "unsure",
    ]
    lines = [
        f"# Quality {report.date_from} to {report.date_to}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for row in report.rows:
        cells = [row.group[g] for g in report.group_by]
        if report.period:
            cells.append(str(row.period))
        cells += [
            pct(row.accuracy),
            pct(row.over_enforcement),
            pct(row.under_enforcement),
            str(row.unsure),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def report_csv(report: QualityReportDoc) -> str:
    """The report's tables as sections of one CSV (section, name, figure...)."""
    rows: list[dict[str, object]] = [
        {
            "section": "headline",
            "name": report.market or "all",
            **_figure_columns("accuracy", report.headline),
        }
    ]
    for section, items in (("queue", report.by_queue), ("policy", report.by_policy)):
        rows += [
            {"section": section, "name": r.name, **_figure_columns("accuracy", r.accuracy)}
            for r in items
        ]
    rows += [
        {"section": "error_type", "name": e.error_type, **_figure_columns("accuracy", e.rate)}
        for e in report.error_types
    ]
    rows += [
        {"section": "coaching", "name": c.moderator_id, **_figure_columns("accuracy", c.accuracy)}
        for c in report.coaching
    ]
    return _csv(rows)


def report_markdown(report: QualityReportDoc) -> str:
    """The report as a QA lead would send it."""
    scope = report.market or "all markets"
    title = "Weekly" if report.kind == "weekly" else "Daily"
    lines = [
        f"# {title} quality report: {scope}, {report.period_start} to {report.period_end}",
        "",
        f"**Accuracy: {pct(report.headline)}** over {report.judged} judged decisions"
        f" ({report.unsure} unsure).",
    ]
    if report.trend is not None and report.trend.change is not None:
        direction = "up" if report.trend.change > 0 else "down"
        note = "a real change" if report.trend.significant else "within noise"
        lines.append(
            f"Trend: {direction} {abs(report.trend.change):.1%} on the previous period "
            f"({pct(report.trend.previous)}), {note}."
        )
    lines += ["", "## Worst queues and policies"]
    worst = [
        *(("queue", r) for r in report.worst_queues),
        *(("policy", r) for r in report.worst_policies),
    ]
    lines += [f"- {kind} **{r.name}**: {pct(r.accuracy)}" for kind, r in worst] or [
        "- none with enough audits to rank"
    ]
    lines += ["", "## Top error types"]
    lines += [f"- {e.error_type.replace('_', ' ')}: {pct(e.rate)}" for e in report.error_types]
    lines += ["", "## Moderators needing coaching"]
    lines += [
        f"- {c.moderator_id} ({c.moderator_team}): {pct(c.accuracy)}; {c.reason}"
        for c in report.coaching
    ] or ["- none"]
    lines += ["", "## Open escalations"]
    lines += [
        f"- {c.severity} {c.kind.replace('_', ' ')}: {c.open}" for c in report.open_escalations
    ] or ["- none"]
    lines += ["", "## Policy updates"]
    lines += [
        f"- {c.policy_id} in {c.market}, v{c.from_version} -> v{c.to_version} ({c.changed_on}): "
        f"error rate {pct(c.error_rate.before)} -> {pct(c.error_rate.after)}"
        f"{' (significant)' if c.error_rate.significant else ''}; unsure "
        f"{pct(c.unsure_rate.before)} -> {pct(c.unsure_rate.after)}"
        for c in report.policy_changes
    ] or ["- no version change in the period"]
    return "\n".join(lines) + "\n"


def dsa_csv(report: DsaReport) -> str:
    return _csv(
        [
            {
                "dimension": r.dimension,
                "value": r.value,
                "moderator_kind": r.moderator_kind,
                **_figure_columns("accuracy", r.accuracy),
                **_figure_columns("error_rate", r.error_rate),
                **_figure_columns("missed_violations", r.missed_violations),
            }
            for r in report.rows
        ]
    )


def dsa_markdown(report: DsaReport) -> str:
    lines = [
        f"# Accuracy of automated and human moderation, {report.period_start} to "
        f"{report.period_end}",
        "",
        "| by | value | moderator | accuracy | error rate | missed violations |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.dimension} | {r.value} | {r.moderator_kind} | {pct(r.accuracy)} | "
        f"{pct(r.error_rate)} | {pct(r.missed_violations)} |"
        for r in report.rows
    ]
    return "\n".join(lines) + "\n"
