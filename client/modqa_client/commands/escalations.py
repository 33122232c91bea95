"""`modqa escalations list|show|ack|investigate|assign|note|resolve|dismiss`: cases for leads,
SMEs (who act on them), ops and the policy team (who read them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import typer

from modqa_client import api, session
from modqa_client.commands.shared import Json
from modqa_client.output import console, emit_json
from modqa_client.views import case_panel, cases_table

Kind = Literal["critical_miss", "moderator_performance", "policy_gap", "dispute", "sla_breach"]
Status = Literal["open", "acknowledged", "investigating", "resolved", "dismissed"]
Severity = Literal["p0", "p1", "p2", "p3"]
RootCause = Literal[
    "policy_unclear", "localisation", "training_gap", "tooling", "workload", "model_error", "other"
]
Revision = Annotated[
    int | None, typer.Option(help="refuse if the case changed since this revision")
]


def register(app: typer.Typer, friendly: Callable[[Any], Any]) -> None:
    cases = typer.Typer(help="Escalation cases: list, show, acknowledge, resolve...")
    app.add_typer(cases, name="escalations")

    def act(escalation_id: str, action: str, as_json: bool, **fields: Any) -> None:
        with session.client() as client:
            case = client.call(api.act_on_escalation(escalation_id, action, **fields))
        if as_json:
            emit_json(case)
        else:
            console.print(
                f"{case.escalation_id}: {case.status} (revision {case.revision}, {case.severity})"
            )

    @cases.command("list")
    @friendly
    def list_cases(
        status: Annotated[Status | None, typer.Option(help="e.g. open")] = None,
        kind: Annotated[Kind | None, typer.Option()] = None,
        severity: Annotated[Severity | None, typer.Option()] = None,
        market: Annotated[str | None, typer.Option(help="e.g. KR")] = None,
        policy: Annotated[str | None, typer.Option(help="policy id")] = None,
        moderator: Annotated[str | None, typer.Option(help="moderator id")] = None,
        owner: Annotated[str | None, typer.Option()] = None,
        limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
        as_json: Json = False,
    ) -> None:
        """Cases you may see, newest first."""
        with session.client() as client:
            page = client.call(
                api.escalations(
                    limit=limit,
                    status=status,
                    kind=kind,
                    severity=severity,
                    market=market,
                    policy_id=policy,
                    moderator_id=moderator,
                    owner=owner,
                )
            )
        if as_json:
            emit_json(page)
        elif not page.items:
            console.print("No escalations match.")
        else:
            console.print(cases_table(page.items))
            if page.next_cursor:
                console.print(f"(more than {limit}: raise --limit or narrow the filters)")

    @cases.command("show")
    @friendly
    def show(escalation_id: str, as_json: Json = False) -> None:
        """One case with its history."""
        with session.client() as client:
            detail = client.call(api.escalation(escalation_id))
        if as_json:
            emit_json(detail)
        else:
            console.print(case_panel(detail.case, detail.history))

    @cases.command("ack")
    @friendly
    def ack(
        escalation_id: str,
        note: Annotated[str | None, typer.Option()] = None,
        revision: Revision = None,
        as_json: Json = False,
    ) -> None:
        """Acknowledge a case (you have seen it and own the response)."""
        act(escalation_id, "acknowledge", as_json, note=note, expected_revision=revision)

    @cases.command("investigate")
    @friendly
    def investigate(
        escalation_id: str,
        note: Annotated[str | None, typer.Option()] = None,
        revision: Revision = None,
        as_json: Json = False,
    ) -> None:
        """Mark a case as under investigation."""
        act(escalation_id, "investigate", as_json, note=note, expected_revision=revision)

    @cases.command("assign")
    @friendly
    def assign(escalation_id: str, owner: str, as_json: Json = False) -> None:
        """Give a case an owner."""
        act(escalation_id, "assign", as_json, owner=owner)

    @cases.command("note")
    @friendly
    def note(escalation_id: str, text: str, as_json: Json = False) -> None:
        """Add a note to a case's history."""
        act(escalation_id, "note", as_json, note=text)

    @cases.command("resolve")
    @friendly
    def resolve(
        escalation_id: str,
        resolution: Annotated[str, typer.Option(help="what was done")],
        root_cause: Annotated[
            RootCause | None, typer.Option(help="why it happened (unless set before)")
        ] = None,
        root_cause_note: Annotated[str | None, typer.Option()] = None,
        revision: Revision = None,
        as_json: Json = False,
    ) -> None:
        """Resolve a case with its resolution and root cause."""
        act(
            escalation_id,
            "resolve",
            as_json,
            resolution=resolution,
            root_cause=root_cause,
            root_cause_note=root_cause_note,
            expected_revision=revision,
        )

    @cases.command("dismiss")
    @friendly
    def dismiss(
        escalation_id: str,
        resolution: Annotated[str, typer.Option(help="why no action is needed")],
        revision: Revision = None,
        as_json: Json = False,
    ) -> None:
        """Close a case that needs no action."""
        act(escalation_id, "dismiss", as_json, resolution=resolution, expected_revision=revision)
