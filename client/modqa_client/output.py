"""What the CLI prints: Rich tables for people, JSON for scripts, one-line errors for both."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def emit_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A Rich table on stdout."""
    view = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        view.add_column(column)
    for row in rows:
        view.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(view)


def figure(value: dict[str, Any] | None) -> str:
    """`93.1% (91.0-94.8%, n=812)`; small samples are marked, missing ones said so."""
    if not value or value.get("rate") is None:
        return f"no data (n={(value or {}).get('n', 0)})"
    text = f"{value['rate']:.1%} ({value['low']:.1%}-{value['high']:.1%}, n={value['n']})"
    return text if value.get("firm", True) else f"{text} [small sample]"


def fail(message: str, hint: str | None = None) -> None:
    """One line saying what went wrong and, when known, what to do."""
    errors.print(f"[bold red]error:[/] {message}" + (f" [dim]({hint})[/]" if hint else ""))
