"""`modqa ingest FILE`: send decisions from JSON Lines or a DSA statements-of-reasons CSV."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from modqa_client import api, dsa, session
from modqa_client.output import console, emit_json, errors, table

Format = Literal["auto", "jsonl", "dsa"]
SHOWN_REFUSALS = 50


def jsonl(lines: Iterator[str]) -> Iterator[dsa.Mapped | dsa.Refused]:
    """One decision per line; a line that is not a JSON object is refused."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            yield dsa.Refused(number, None, f"not JSON: {error.msg}")
            continue
        if not isinstance(value, dict):
            yield dsa.Refused(number, None, "not a JSON object")
            continue
        yield dsa.Mapped(number, value)


def register(app: typer.Typer, friendly: Callable[[Any], Any]) -> None:
    @app.command("ingest")
    @friendly
    def ingest(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
        fmt: Annotated[
            Format,
            typer.Option("--format", help="jsonl, dsa (CSV), or auto by the file's extension"),
        ] = "auto",
        queue: Annotated[str | None, typer.Option(help="queue for DSA rows")] = None,
        market: Annotated[str | None, typer.Option(help="market for DSA rows")] = None,
        language: Annotated[
            str | None, typer.Option(help="language for DSA rows without one")
        ] = None,
        batch: Annotated[int, typer.Option(min=1, max=1000, help="decisions per request")] = 500,
        as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    ) -> None:
        """Send decisions to the sampler; say which rows were refused and why (exit 1 if any)."""
        kind = fmt if fmt != "auto" else ("dsa" if file.suffix.lower() == ".csv" else "jsonl")
        total = sum(1 for _ in file.open(encoding="utf-8", errors="replace")) - (kind == "dsa")
        accepted, refused = 0, []
        with (
            file.open(encoding="utf-8", errors="replace", newline="") as lines,
            session.client() as client,
            _progress(as_json) as progress,
        ):
            task = progress.add_task(f"ingesting {file.name}", total=max(total, 0))
            rows = (
                dsa.statements(lines, queue=queue, market=market, language=language)
                if kind == "dsa"
                else jsonl(lines)
            )
            pending: list[dsa.Mapped] = []
            for item in rows:
                if isinstance(item, dsa.Refused):
                    refused.append(item)
                    progress.advance(task)
                    continue
                pending.append(item)
                if len(pending) == batch:
                    accepted += _send(client, pending, refused)
                    progress.advance(task, len(pending))
                    pending = []
            if pending:
                accepted += _send(client, pending, refused)
                progress.advance(task, len(pending))
        refused.sort(key=lambda r: r.row)
        _report(file, kind, accepted, refused, as_json)
        if refused:
            raise typer.Exit(1)


def _send(client: Any, items: list[dsa.Mapped], refused: list[dsa.Refused]) -> int:
    answer = client.call(api.ingest_decisions([item.decision for item in items]))
    if "accepted" not in answer:
        for item in items:
            refused.append(
                dsa.Refused(
                    item.row,
                    item.decision.get("decision_id"),
                    f"refused by the sampler: {answer.get('detail')}",
                )
            )
        return 0
    for rejection in answer.get("rejected", []):
        item = items[rejection["index"]]
        refused.append(dsa.Refused(item.row, item.decision.get("decision_id"), rejection["error"]))
    return int(answer["accepted"])


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        disable=quiet,
        transient=True,
    )


def _report(
    file: Path, kind: str, accepted: int, refused: list[dsa.Refused], as_json: bool
) -> None:
    if as_json:
        emit_json(
            {
                "file": str(file),
                "format": kind,
                "accepted": accepted,
                "refused": [r.__dict__ for r in refused],
            }
        )
        return
    console.print(
        f"[bold]{accepted}[/] decision(s) accepted from {file.name} ({kind}); "
        f"[bold]{len(refused)}[/] refused."
    )
    if refused:
        table(
            "Refused rows",
            ["row", "id", "reason"],
            [[r.row, r.statement, r.reason] for r in refused[:SHOWN_REFUSALS]],
        )
        if len(refused) > SHOWN_REFUSALS:
            console.print(f"... and {len(refused) - SHOWN_REFUSALS} more (use --json for all).")
