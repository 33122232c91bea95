"""What several command groups need: the taxonomy, sending the pending verdicts, options."""

from __future__ import annotations

from typing import Annotated

import typer

from modqa_client import api, pending, session
from modqa_client.judgement import Taxonomy
from modqa_client.output import console, errors
from modqa_client.sdk import ModqaClient

Json = Annotated[bool, typer.Option("--json", help="print the answer as JSON (for scripts)")]


def taxonomy(client: ModqaClient) -> Taxonomy:
    """The policy taxonomy the audit service validates verdicts against."""
    return Taxonomy.of(client.call(api.policies()))


def send_pending(client: ModqaClient, *, quiet: bool = False) -> pending.Flushed:
    """Send the verdicts kept while the service was away; say what happened (on stderr when
    quiet, so `--json` output stays clean)."""
    result = pending.send_pending(client, session.profile_name())
    out = errors if quiet else console
    if result.sent:
        out.print(
            f"Sent {len(result.sent)} saved verdict(s): "
            + ", ".join(f"{v.task_id} -> {v.verdict_id}" for v in result.sent)
        )
    for item, reason in result.refused:
        out.print(
            f"[red]The audit service refused the saved verdict on {item.task_id}:[/] {reason} "
            f"(kept under 'refused' in {pending.path(session.profile_name())})"
        )
    if result.waiting:
        out.print(
            f"[yellow]{result.waiting} saved verdict(s) still waiting[/] ({result.error}); "
            "they are sent before your next claim"
        )
    return result
