"""What the CLI prints: Rich tables for people, JSON for scripts, one-line errors for both."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def plain(data: Any) -> Any:
    """Models, lists and dicts of them as plain JSON values."""
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    if isinstance(data, list | tuple):
        return [plain(item) for item in data]
    if isinstance(data, dict):
        return {key: plain(value) for key, value in data.items()}
    return data


def emit_json(data: Any) -> None:
    """Machine-readable output on stdout (models included)."""
    sys.stdout.write(json.dumps(plain(data), indent=2, default=str) + "\n")


def new_table(title: str | None, columns: Sequence[str]) -> Table:
    """An empty Rich table whose cells wrap rather than cut (ids must stay whole to copy)."""
    view = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        view.add_column(column, overflow="fold")
    return view


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A Rich table on stdout."""
    view = new_table(title, columns)
    for row in rows:
        view.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    console.print(view)


def section(title: str, columns: Sequence[str], rows: list[list[Any]]) -> None:
    """A table, or one line saying there is nothing to show."""
    if rows:
        table(title, columns, rows)
    else:
        console.print(f"[bold]{escape(title)}[/]: none")


def figure(value: dict[str, Any] | None) -> str:
    """`93.1% (91.0-94.8%, n=812)`; small samples are marked, missing ones said so."""
    if not value or value.get("rate") is None:
        return f"no data (n={(value or {}).get('n', 0)})"
    text = f"{value['rate']:.1%} ({value['low']:.1%}-{value['high']:.1%}, n={value['n']})"
    return text if value.get("firm", True) else f"{text} (small sample)"


def fail(message: str, hint: str | None = None) -> None:
    """One line saying what went wrong and, when known, what to do."""
    errors.print(
        f"[bold red]error:[/] {escape(message)}" + (f" [dim]({escape(hint)})[/]" if hint else ""),
        soft_wrap=True,
    )


def when(
    moment: dt.datetime | None, now: dt.datetime | None = None, *, compact: bool = False
) -> str:
    """`2026-11-20 12:00 UTC (in 9 min)`: the time, and how far it is from now (compact:
    `11-20 12:00 (in 9 min)`, for tables)."""
    if moment is None:
        return "-"
    now = now or dt.datetime.now(dt.UTC)
    seconds = (moment - now).total_seconds()
    span = abs(seconds)
    if span < 90:
        distance = f"{span:.0f} s"
    elif span < 90 * 60:
        distance = f"{span / 60:.0f} min"
    elif span < 48 * 3600:
        distance = f"{span / 3600:.0f} h"
    else:
        distance = f"{span / 86400:.0f} days"
    relative = f"in {distance}" if seconds >= 0 else f"{distance} ago"
    if compact:
        return f"{moment.astimezone(dt.UTC):%m-%d %H:%M} ({relative})"
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC ({relative})"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def interval(proportion: Any) -> str:
    """`92.0% (85.1-96.0%, 46 of 50)` for a proportion with its Wilson interval."""
    if proportion is None or not proportion.n:
        return "no data yet"
    return (
        f"{percent(proportion.rate)} ({percent(proportion.low)}-{percent(proportion.high)}, "
        f"{proportion.successes} of {proportion.n})"
    )
