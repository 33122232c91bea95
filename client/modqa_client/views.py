"""How the CLI shows tasks, verdicts, disputes and cases to people (Rich renderables)."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from modqa_client.judgement import InvalidChoice, Taxonomy
from modqa_client.models import Case, Dispute, Task, Verdict
from modqa_client.output import new_table, when


def _grid() -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def policy_name(taxonomy: Taxonomy | None, policy_id: str | None) -> str:
    if policy_id is None:
        return "-"
    if taxonomy is None:
        return policy_id
    try:
        return f"{policy_id} ({taxonomy.policy(policy_id).name})"
    except InvalidChoice:
        return policy_id


def task_panel(task: Task, taxonomy: Taxonomy | None = None) -> Panel:
    """The task as an auditor judges it: the content reference first, then its context, then
    (unless blind) what the moderator did."""
    d = task.decision
    grid = _grid()
    grid.add_row("Content", Text(str(d.get("content_ref", "-")), style="bold underline cyan"))
    grid.add_row("", f"{d.get('content_type', '?')} · content id {d.get('content_id', '?')}")
    grid.add_row(
        "Context",
        f"queue {d.get('queue', '?')} · market {d.get('market', '?')} · "
        f"language {d.get('language', '?')} · source {d.get('source', '?')}",
    )
    if d.get("territorial_scope"):
        grid.add_row("Scope", ", ".join(d["territorial_scope"]))
    grid.add_row("Decided", str(d.get("decided_at", "-")))
    header: list[RenderableType] = []
    if task.blind:
        header.append(
            Text(
                "BLIND REVIEW: label the content yourself; the moderator's decision is hidden.",
                style="bold magenta",
            )
        )
    else:
        moderator = d.get("moderator_id", "?")
        kind = d.get("moderator_kind", "?")
        grid.add_row("Moderator", f"{moderator} ({kind}, team {d.get('moderator_team', '?')})")
        version = d.get("policy_version")
        action = Text(str(d.get("action", "?")).upper(), style="bold yellow")
        action.append(
            f"  under {policy_name(taxonomy, d.get('policy_id'))}"
            + (f" v{version}" if version else ""),
            style="default",
        )
        grid.add_row("Decision", action)
        if d.get("confidence") is not None:
            grid.add_row("Confidence", f"{float(d['confidence']):.2f}")
        extra = [
            f"{name.replace('_', ' ')} {d[name]}"
            for name in ("automated_decision", "decision_ground", "category")
            if d.get(name)
        ]
        if extra:
            grid.add_row("DSA", " · ".join(extra))
    if task.scorecard:
        grid.add_row(
            "Scorecard",
            f"{task.scorecard.name} v{task.scorecard.version}: "
            + ", ".join(c.id for c in task.scorecard.criteria),
        )
    reviews = f" · one of {task.required_reviews} reviews" if task.required_reviews > 1 else ""
    grid.add_row("Task", f"priority {task.priority}{reviews} · due {when(task.due_at)}")
    grid.add_row("Lease", f"yours until {when(task.lease_expires_at)}")
    return Panel(Group(*header, grid), title=f"[bold]{task.task_id}[/]", title_align="left")


def verdict_line(verdict: Verdict, *, blind: bool = False) -> str:
    """One line: what was recorded. After a blind review only the auditor's own label is
    shown: the derived outcome would tell what the moderator had done."""
    if blind:
        if verdict.outcome == "unsure":
            return f"{verdict.verdict_id}: unsure"
        label = f"labelled {verdict.expected_action}"
        if verdict.expected_policy_id and verdict.expected_action != "approve":
            label += f" under {verdict.expected_policy_id}"
        return f"{verdict.verdict_id}: {label}"
    parts = [verdict.outcome]
    if verdict.expected_action:
        parts.append(f"expected {verdict.expected_action}")
    if verdict.expected_policy_id:
        parts.append(f"under {verdict.expected_policy_id}")
    if verdict.error_type:
        parts.append(verdict.error_type.replace("_", " "))
    if verdict.severity:
        parts.append(verdict.severity)
    if verdict.qa_score is not None:
        parts.append(f"QA score {verdict.qa_score:.0f}")
    return f"{verdict.verdict_id}: " + ", ".join(parts)


def verdicts_table(title: str, verdicts: list[Verdict]) -> Table:
    view = new_table(
        title, ("verdict", "auditor", "round", "outcome", "expected", "error", "final")
    )
    for v in verdicts:
        expected = " / ".join(x for x in (v.expected_action, v.expected_policy_id) if x)
        view.add_row(
            v.verdict_id,
            v.auditor_id,
            "" if v.round is None else str(v.round),
            v.outcome,
            expected or "-",
            (v.error_type or "-").replace("_", " "),
            "" if v.final is None else ("yes" if v.final else "no"),
        )
    return view


def disputes_table(disputes: list[Dispute]) -> Table:
    columns = ("dispute", "verdict", "moderator", "market/policy", "raised by", "status", "due")
    view = new_table("Disputes", columns)
    for d in disputes:
        view.add_row(
            d.dispute_id,
            d.verdict_id,
            d.moderator_id,
            f"{d.market}/{d.policy_id}",
            d.raised_by,
            d.status,
            when(d.due_at, compact=True),
        )
    return view


def dispute_panel(dispute: Dispute) -> Panel:
    grid = _grid()
    for label, value in (
        ("Verdict", dispute.verdict_id),
        ("Decision", dispute.decision_id),
        ("Moderator", f"{dispute.moderator_id} ({dispute.market}, {dispute.policy_id})"),
        ("Raised by", dispute.raised_by),
        ("Reason", dispute.reason),
        ("Status", dispute.status),
        ("Due", when(dispute.due_at)),
        ("Ruled by", dispute.resolved_by),
        ("Note", dispute.resolution_note),
        ("Amendment", dispute.amended_verdict_id),
    ):
        if value:
            grid.add_row(label, value)
    return Panel(grid, title=f"[bold]{dispute.dispute_id}[/]", title_align="left")


def cases_table(cases: list[Case]) -> Table:
    view = new_table(
        "Escalations", ("case", "severity", "kind", "status", "subject", "owner", "due", "n")
    )
    for c in cases:
        view.add_row(
            c.escalation_id,
            c.severity,
            c.kind,
            c.status,
            c.subject,
            c.owner or "-",
            when(c.due_at, compact=True),
            str(c.trigger_count),
        )
    return view


def case_panel(case: Case, history: list[Any]) -> Group:
    grid = _grid()
    for label, value in (
        ("Kind", f"{case.kind} · severity {case.severity}"),
        ("Status", f"{case.status} (revision {case.revision})"),
        ("Subject", case.subject),
        ("Evidence", ", ".join(case.evidence)),
        ("Owner", case.owner),
        ("Opened", when(case.opened_at) if case.opened_at else None),
        ("Due", when(case.due_at) if case.due_at else None),
        ("Root cause", " - ".join(x for x in (case.root_cause, case.root_cause_note) if x)),
        ("Resolution", case.resolution),
    ):
        if value:
            grid.add_row(label, value)
    log = new_table("History", ("rev", "at", "actor", "change", "status", "note"))
    for entry in history:
        log.add_row(
            str(entry.revision),
            f"{entry.at:%Y-%m-%d %H:%M}",
            entry.actor,
            entry.change,
            f"{entry.from_status or ''} -> {entry.to_status}",
            entry.note or "",
        )
    return Group(Panel(grid, title=f"[bold]{case.escalation_id}[/]", title_align="left"), log)
