"""`modqa dispute VERDICT` (team leads, the moderation tool) and `modqa disputes
list|show|resolve` (SMEs arbitrate: uphold, or overturn with the correct label)."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, Literal

import typer

from modqa_client import api, judgement, session
from modqa_client.commands.shared import Json
from modqa_client.output import console, emit_json
from modqa_client.views import dispute_panel, disputes_table, verdict_line


class Status(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    OVERTURNED = "overturned"


Outcome = Literal["correct", "incorrect", "unsure"]


def register(app: typer.Typer, friendly: Callable[[Any], Any]) -> None:
    @app.command("dispute")
    @friendly
    def dispute(
        verdict_id: str,
        reason: Annotated[str, typer.Option(help="why the verdict is wrong")],
        for_moderator: Annotated[
            str | None,
            typer.Option("--for", help="the moderator the moderation tool acts for (system role)"),
        ] = None,
        as_json: Json = False,
    ) -> None:
        """Dispute a final verdict, as the lead of the moderator's team or for the moderator."""
        with session.client() as client:
            raised = client.call(api.raise_dispute(verdict_id, reason, for_moderator))
        if as_json:
            emit_json(raised)
            return
        console.print(
            f"Dispute [bold]{raised.dispute_id}[/] opened on {raised.verdict_id}; an SME rules "
            f"on it by {raised.due_at:%Y-%m-%d %H:%M} UTC."
        )

    disputes = typer.Typer(help="Disputes of verdicts: list, show, and the SME's ruling.")
    app.add_typer(disputes, name="disputes")

    @disputes.command("list")
    @friendly
    def list_disputes(
        status: Annotated[
            list[Status] | None, typer.Option(help="repeat for several (default: open)")
        ] = None,
        limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
        as_json: Json = False,
    ) -> None:
        """Disputes, the soonest due first."""
        with session.client() as client:
            found = client.call(api.disputes([s.value for s in status or []], limit))
        if as_json:
            emit_json(found)
        elif not found:
            console.print("No disputes.")
        else:
            console.print(disputes_table(found))

    @disputes.command("show")
    @friendly
    def show(dispute_id: str, as_json: Json = False) -> None:
        """One dispute and the verdict it challenges."""
        with session.client() as client:
            found = client.call(api.dispute(dispute_id))
            challenged = client.call(api.verdict(found.verdict_id))
        if as_json:
            emit_json({"dispute": found, "verdict": challenged})
            return
        console.print(dispute_panel(found))
        console.print(f"Disputed verdict: {verdict_line(challenged)}")
        if challenged.notes:
            console.print(f"Auditor's notes: {challenged.notes}")

    @disputes.command("resolve")
    @friendly
    def resolve(
        dispute_id: str,
        note: Annotated[str, typer.Option(help="the ruling's reason, for the record")],
        uphold: Annotated[
            bool | None,
            typer.Option("--uphold/--overturn", help="keep the verdict, or overturn it"),
        ] = None,
        outcome: Annotated[
            Outcome | None, typer.Option(help="overturn: the correct outcome")
        ] = None,
        action: Annotated[str | None, typer.Option(help="overturn: the expected action")] = None,
        policy: Annotated[str | None, typer.Option(help="overturn: the expected policy")] = None,
        as_json: Json = False,
    ) -> None:
        """Rule on a dispute (SMEs): --uphold, or --overturn with the correct label.

        An overturn takes the correct --outcome (for incorrect, also --action and --policy)
        and emits an amended verdict that supersedes the disputed one.
        """
        label: dict[str, Any] | None = None
        if uphold is None:
            raise judgement.InvalidChoice("say --uphold or --overturn")
        if uphold:
            if outcome or action or policy:
                raise judgement.InvalidChoice("an upheld verdict stands: no label to give")
        else:
            if outcome is None:
                raise judgement.InvalidChoice("--overturn needs the correct --outcome")
            label = judgement.reference_label(outcome, action, policy, note)
        with session.client() as client:
            ruled = client.call(
                api.arbitrate(dispute_id, "uphold" if uphold else "overturn", note, label)
            )
        if as_json:
            emit_json(ruled)
            return
        console.print(f"Dispute {ruled.dispute.dispute_id} {ruled.dispute.status}.")
        if ruled.amended_verdict:
            console.print(f"Amended verdict: {verdict_line(ruled.amended_verdict)}")
