"""`modqa me`: who you are to modqa, and your own figures (throughput, gold, calibration)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from modqa_client import api, session
from modqa_client.commands.shared import Json
from modqa_client.output import console, emit_json, interval, table


def register(app: typer.Typer, friendly: Callable[[Any], Any]) -> None:
    @app.command("me")
    @friendly
    def me(as_json: Json = False) -> None:
        """Your registry record, throughput, accuracy on gold items and calibration agreement."""
        with session.client() as client:
            record = client.call(api.me())
            stats = client.call(api.my_stats())
        if as_json:
            emit_json({"auditor": record, "stats": stats})
            return
        scope = ", ".join(
            f"{name} {'/'.join(values) if values else 'any'}"
            for name, values in (
                ("languages", record.languages),
                ("markets", record.markets),
                ("policy areas", record.policy_areas),
            )
        )
        console.print(f"[bold]{record.name}[/] ({record.auditor_id}): {scope}")
        handle = stats.median_handle_seconds
        table(
            None,
            ["figure", "value"],
            [
                ["verdicts in the last 24 h", stats.verdicts_last_24h],
                ["verdicts in the last 7 days", stats.verdicts_last_7d],
                ["verdicts in all", stats.verdicts_total],
                ["median time per task", "-" if handle is None else f"{handle:.0f} s"],
                ["accuracy on gold items", interval(stats.gold_accuracy)],
                ["agreement in calibration", interval(stats.calibration_agreement)],
                ["your verdicts disputed", stats.disputed],
                ["of which overturned", stats.overturned],
            ],
        )
