"""`modqa calibration pending|show|adjudicate|agreement`: calibration rounds for SMEs and leads.

A calibration task goes to several auditors; when they disagree the round waits for an SME's
label (the reference every review is then scored against).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import typer

from modqa_client import api, judgement, session
from modqa_client.commands.shared import Json
from modqa_client.output import console, emit_json, figure, table, when
from modqa_client.views import verdict_line, verdicts_table

Outcome = Literal["correct", "incorrect", "unsure"]


def register(app: typer.Typer, friendly: Callable[[Any], Any]) -> None:
    calibration = typer.Typer(help="Calibration rounds: disagreements to adjudicate, agreement.")
    app.add_typer(calibration, name="calibration")

    @calibration.command("pending")
    @friendly
    def pending(
        limit: Annotated[int, typer.Option(min=1, max=1000)] = 100, as_json: Json = False
    ) -> None:
        """Rounds whose reviewers disagreed, waiting for an SME's label."""
        with session.client() as client:
            waiting = client.call(api.tasks(status="adjudicating", limit=limit))
        if as_json:
            emit_json(waiting)
            return
        if not waiting:
            console.print("No calibration round is waiting for adjudication.")
            return
        table(
            "Waiting for adjudication",
            ["task", "decision", "queue", "market", "reviews", "due"],
            [
                [
                    t.task_id,
                    t.decision.get("decision_id"),
                    t.decision.get("queue"),
                    t.decision.get("market"),
                    f"{t.reviews_done}/{t.required_reviews}",
                    when(t.due_at),
                ]
                for t in waiting
            ],
        )

    @calibration.command("show")
    @friendly
    def show(task_id: str, as_json: Json = False) -> None:
        """A calibration task, its decision and every review."""
        with session.client() as client:
            task = client.call(api.task_summary(task_id))
            reviews = client.call(api.task_verdicts(task_id))
        if as_json:
            emit_json({"task": task, "verdicts": reviews})
            return
        d = task.decision
        console.print(
            f"[bold]{task.task_id}[/] ({task.status}, {task.reviews_done}/{task.required_reviews} "
            f"reviews): {d.get('action')} under {d.get('policy_id')} v{d.get('policy_version')} "
            f"by {d.get('moderator_id')}; content {d.get('content_ref')}"
        )
        if task.reference:
            console.print(f"Reference label: {task.reference}")
        console.print(verdicts_table("Reviews", reviews))

    @calibration.command("adjudicate")
    @friendly
    def adjudicate(
        task_id: str,
        outcome: Annotated[Outcome, typer.Option(help="the reference outcome")],
        action: Annotated[str | None, typer.Option(help="incorrect: the expected action")] = None,
        policy: Annotated[str | None, typer.Option(help="incorrect: the expected policy")] = None,
        notes: Annotated[str, typer.Option(help="why")] = "",
        as_json: Json = False,
    ) -> None:
        """Give the reference label of a round that disagreed (SMEs); it closes the round."""
        if outcome != "incorrect" and (action or policy):
            raise judgement.InvalidChoice("--action and --policy go with --outcome incorrect")
        label = judgement.reference_label(outcome, action, policy, notes)
        with session.client() as client:
            closing = client.call(api.adjudicate(task_id, label))
        if as_json:
            emit_json(closing)
            return
        console.print(f"Round closed: {verdict_line(closing)}")

    @calibration.command("agreement")
    @friendly
    def agreement(
        date_from: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
        date_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
        market: Annotated[str | None, typer.Option(help="market, e.g. KR")] = None,
        policy: Annotated[str | None, typer.Option(help="policy id")] = None,
        queue: Annotated[str | None, typer.Option(help="queue")] = None,
        as_json: Json = False,
    ) -> None:
        """How far auditors agree: kappa per pair and round, per auditor vs the reference.

        Also each auditor's accuracy on gold items.
        """
        with session.client() as client:
            found = client.call(
                api.agreement(
                    **{"from": date_from, "to": date_to},
                    market=market,
                    policy_id=policy,
                    queue=queue,
                )
            )
        if as_json:
            emit_json(found)
            return
        table(
            "Auditors",
            ["auditor", "agreement with the reference", "accuracy on gold"],
            [
                [
                    a.auditor_id,
                    figure(a.agreement_with_reference.model_dump()),
                    figure(a.gold_accuracy.model_dump()),
                ]
                for a in found.auditors
            ],
        )
        table(
            "Pairs (Cohen's kappa)",
            ["auditors", "kappa", "items"],
            [
                [" & ".join(p.auditors), _kappa(p.cohen_kappa.value), p.cohen_kappa.items]
                for p in found.pairs
            ],
        )
        table(
            "Rounds (Fleiss' kappa)",
            ["reviewers", "kappa", "items"],
            [
                [r.reviewers, _kappa(r.fleiss_kappa.value), r.fleiss_kappa.items]
                for r in found.rounds
            ],
        )


def _kappa(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
