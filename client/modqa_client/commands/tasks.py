"""`modqa tasks next|mine|release|extend|pending` and `modqa verdict`: an auditor's work, one
command at a time (for scripts; `modqa review` is the interactive loop)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

import typer

from modqa_client import api, judgement, pending, session
from modqa_client.commands.shared import Json, send_pending, taxonomy
from modqa_client.output import console, emit_json, errors, table, when
from modqa_client.views import task_panel, verdict_line

Outcome = Literal["correct", "incorrect", "unsure"]
Severity = Literal["critical", "major", "minor"]


def register(app: typer.Typer, friendly: Callable[[Any], Any]) -> None:
    tasks = typer.Typer(help="Your tasks: claim the next, list, release, extend, pending verdicts.")
    app.add_typer(tasks, name="tasks")

    @tasks.command("next")
    @friendly
    def next_task(as_json: Json = False) -> None:
        """Claim your next task (saved verdicts are sent first) and show it."""
        with session.client() as client:
            if send_pending(client, quiet=as_json).waiting:
                raise typer.Exit(1)
            claimed = client.call(api.claim_task())
            if as_json:
                emit_json(claimed)
                return
            if claimed is None:
                console.print("No task for you right now.")
                return
            console.print(task_panel(claimed, taxonomy(client)))

    @tasks.command("mine")
    @friendly
    def mine(as_json: Json = False) -> None:
        """The tasks leased to you now."""
        with session.client() as client:
            held = client.call(api.my_tasks())
        if as_json:
            emit_json(held)
            return
        table(
            "Your tasks",
            ["task", "blind", "content", "queue", "market", "lease until"],
            [
                [
                    t.task_id,
                    "yes" if t.blind else "",
                    t.decision.get("content_ref"),
                    t.decision.get("queue"),
                    t.decision.get("market"),
                    when(t.lease_expires_at),
                ]
                for t in held
            ],
        )

    @tasks.command("release")
    @friendly
    def release(task_id: str) -> None:
        """Hand a task back to the pool (it will not be offered to you again)."""
        with session.client() as client:
            client.call(api.release_task(task_id))
        console.print(f"Released {task_id}.")

    @tasks.command("extend")
    @friendly
    def extend(task_id: str) -> None:
        """Keep a task for another full lease time."""
        with session.client() as client:
            lease = client.call(api.extend_lease(task_id))
        console.print(f"{task_id} is yours until {when(lease.lease_expires_at)}.")

    @tasks.command("pending")
    @friendly
    def show_pending(
        send: Annotated[bool, typer.Option(help="send them now")] = False, as_json: Json = False
    ) -> None:
        """Verdicts saved locally while the audit service was away."""
        if send:
            with session.client() as client:
                if send_pending(client, quiet=as_json).waiting:
                    raise typer.Exit(1)
        waiting = pending.load(session.profile_name())
        if as_json:
            emit_json([item.__dict__ for item in waiting])
            return
        if not waiting:
            console.print("No saved verdicts: everything you judged was recorded.")
            return
        table(
            f"Saved verdicts ({pending.path(session.profile_name())})",
            ["task", "saved at", "verdict", "why"],
            [[p.task_id, p.saved_at, p.verdict, p.reason] for p in waiting],
        )

    @app.command("verdict")
    @friendly
    def verdict(
        task_id: str,
        outcome: Annotated[
            Outcome | None, typer.Option(help="correct, incorrect or unsure (blind: omit)")
        ] = None,
        action: Annotated[
            str | None, typer.Option(help="the expected action (incorrect, or a blind label)")
        ] = None,
        policy: Annotated[
            str | None, typer.Option(help="the expected policy (default: the decision's)")
        ] = None,
        severity: Annotated[
            Severity | None, typer.Option(help="override the derived severity")
        ] = None,
        notes: Annotated[str, typer.Option(help="why, for the moderator and the SME")] = "",
        score: Annotated[
            list[str] | None,
            typer.Option(help="scorecard answer criterion=pass|fail|na (repeat per criterion)"),
        ] = None,
        key: Annotated[
            str | None, typer.Option(help="idempotency key (default: a new one); reuse to retry")
        ] = None,
        as_json: Json = False,
    ) -> None:
        """Record a verdict on a task leased to you.

        Blind tasks take a label: --action (and --policy unless approve), or --outcome unsure.
        """
        profile = session.profile_name()
        with session.client() as client:
            send_pending(client, quiet=True)
            task = client.call(api.task(task_id))
            body = label(client, task, outcome, action, policy, severity, notes)
            if task.scorecard:
                body["scorecard"] = judgement.scorecard_answers(
                    [c.id for c in task.scorecard.criteria], _pairs(score or [])
                )
            idempotency_key = key or str(uuid.uuid4())
            result = pending.submit(client, profile, task_id, body, idempotency_key)
        if isinstance(result, pending.Kept):
            errors.print(
                f"[yellow]The audit service cannot take the verdict now[/] ({result.reason}); "
                f"it is saved in {result.path} and sent before your next claim "
                "(or `modqa tasks pending --send`)."
            )
            raise typer.Exit(1)
        if as_json:
            emit_json(result)
        else:
            console.print(f"Recorded {verdict_line(result, blind=task.blind)}")


def label(
    client: Any,
    task: Any,
    outcome: str | None,
    action: str | None,
    policy: str | None,
    severity: str | None,
    notes: str,
) -> dict[str, Any]:
    """The verdict body for a task, checked against the taxonomy before it is sent."""
    today = dt.datetime.now(dt.UTC).date()
    policies = taxonomy(client)
    if task.blind:
        if outcome not in (None, "unsure"):
            raise judgement.InvalidChoice(
                "this task is blind: label the content with --action (and --policy), or "
                "--outcome unsure; the outcome is derived"
            )
        return judgement.blind_label(
            policies,
            task.decision,
            expected_action=action,
            expected_policy_id=policy,
            unsure=outcome == "unsure",
            notes=notes,
            on=today,
        )
    if outcome is None:
        raise judgement.InvalidChoice("--outcome: correct, incorrect or unsure")
    return judgement.review_label(
        policies,
        task.decision,
        outcome=outcome,
        expected_action=action,
        expected_policy_id=policy,
        severity=severity,
        notes=notes,
        on=today,
    )


def _pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, sep, answer = item.partition("=")
        if not sep:
            raise judgement.InvalidChoice(f"--score {item!r}: write criterion=pass|fail|na")
        pairs[name.strip()] = answer.strip().lower()
    return pairs
