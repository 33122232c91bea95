"""`modqa review`: the auditor's keyboard loop. Claim, show the decision and its content
reference, take the verdict (only choices the taxonomy allows; blind tasks are labelled),
record it, next.

A verdict is never lost: the lease is extended while the auditor thinks (up to an hour), the
SDK retries the verdict with one idempotency key, and if the audit service stays away it is
saved locally and sent (with the same key) before the next claim. Tasks already leased to you
are picked up first, so an interrupted session resumes where it stopped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer

from modqa_client import api, pending, session
from modqa_client.commands.shared import send_pending, taxonomy
from modqa_client.dialogue import Dialogue, Quit, Skip
from modqa_client.keys import Keys
from modqa_client.lease import LeaseKeeper
from modqa_client.models import Task
from modqa_client.output import console, when
from modqa_client.sdk import ModqaClient
from modqa_client.transport import ModqaError
from modqa_client.views import task_panel, verdict_line


@dataclass
class Tally:
    recorded: int = 0
    saved: int = 0
    skipped: int = 0

    def summary(self) -> str:
        return (
            f"This session: {self.recorded} verdict(s) recorded, {self.saved} saved to send "
            f"later, {self.skipped} task(s) handed back."
        )


@dataclass
class Review:
    client: ModqaClient
    profile: str
    dialogue: Dialogue
    keys: Keys
    limit: int | None = None
    tally: Tally = field(default_factory=Tally)
    held: list[Task] = field(default_factory=list)

    def run(self) -> None:
        """Until no task is left, the limit is reached, or the auditor quits."""
        if not self._pending_sent():
            console.print(self.tally.summary())
            return
        waiting = {item.task_id for item in pending.load(self.profile)}
        self.held = [t for t in self.client.call(api.my_tasks()) if t.task_id not in waiting]
        if self.held:
            console.print(f"Resuming {len(self.held)} task(s) already leased to you.")
        while self.limit is None or self.tally.recorded + self.tally.saved < self.limit:
            if not self._pending_sent():
                break
            task = self.held.pop(0) if self.held else self.client.call(api.claim_task())
            if task is None:
                console.print("No more tasks for you right now.")
                break
            if not self._judge(task):
                break
        console.print(self.tally.summary())

    def _pending_sent(self) -> bool:
        """Send saved verdicts before claiming; while they cannot go, offer to retry or stop."""
        while send_pending(self.client).waiting:
            if self.keys.key("[bold]\\[r][/] retry now  [bold]\\[q][/] quit >", "rq") == "q":
                return False
        return True

    def _judge(self, task: Task) -> bool:
        """Show a task and record its verdict; False when the auditor quits."""
        console.print(task_panel(task, self.dialogue.taxonomy))
        key = str(uuid.uuid4())
        while True:
            try:
                with LeaseKeeper(
                    lambda: self.client.call(api.extend_lease(task.task_id)).lease_expires_at,
                    task.lease_expires_at,
                ):
                    body = self.dialogue.verdict(task)
            except Skip:
                self.client.call(api.release_task(task.task_id))
                self.tally.skipped += 1
                console.print(f"Handed {task.task_id} back.")
                return True
            except Quit:
                console.print(
                    f"Stopped. {task.task_id} stays yours until {when(task.lease_expires_at)}; "
                    "`modqa review` picks it up again."
                )
                return False
            try:
                self._submit(task, body, key)
                return True
            except ModqaError as refusal:
                console.print(f"[red]audit refused the verdict:[/] {refusal.message}")
                if refusal.status != 422:
                    return True  # the task is gone (lease lapsed, cancelled): move on
                key = str(uuid.uuid4())  # a new judgement of the same task

    def _submit(self, task: Task, body: dict[str, Any], key: str) -> None:
        try:
            result = pending.submit(self.client, self.profile, task.task_id, body, key)
        except KeyboardInterrupt:
            pending.keep(self.profile, task.task_id, key, body, "interrupted while sending")
            console.print("Interrupted: the verdict is saved and sent before your next claim.")
            raise
        if isinstance(result, pending.Kept):
            self.tally.saved += 1
            console.print(
                f"[yellow]The audit service cannot take it now[/] ({result.reason}). "
                f"Saved in {result.path}; it is sent before your next claim."
            )
            return
        self.tally.recorded += 1
        console.print(f"[green]Recorded[/] {verdict_line(result, blind=task.blind)}")


def register(app: typer.Typer, friendly: Callable[[Any], Any]) -> None:
    @app.command("review")
    @friendly
    def review(
        limit: Annotated[
            int | None, typer.Option(min=1, help="stop after this many verdicts")
        ] = None,
    ) -> None:
        """Review tasks from the keyboard: claim, judge, next (q quits, s hands a task back)."""
        keys = Keys()
        with session.client() as client:
            loop = Review(
                client=client,
                profile=session.profile_name(),
                dialogue=Dialogue(keys, taxonomy(client)),
                keys=keys,
                limit=limit,
            )
            try:
                loop.run()
            except EOFError:  # the input ended (a pipe, or Ctrl-D): stop like `q`
                console.print()
                console.print(loop.tally.summary())
            except KeyboardInterrupt:
                console.print()
                console.print(loop.tally.summary())
                raise typer.Exit(130) from None
