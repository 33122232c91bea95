"""`modqa plan show|diff|apply`: sampling plans for leads. `diff` and `apply` show the sampler's
dry-run forecast (expected tasks per day and interval widths, the plan in force against the
file) before anything changes."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from modqa_client import api, session
from modqa_client.commands.shared import Json
from modqa_client.models import DryRun
from modqa_client.output import console, emit_json, section, table, when

PlanFile = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="JSON or YAML plan")
]
PlanId = Annotated[
    str | None, typer.Option("--plan", help="the plan's id (default: the file's name)")
]
Days = Annotated[int, typer.Option(min=1, max=28, help="days of recent traffic to forecast on")]
Horizon = Annotated[
    int, typer.Option(min=1, max=365, help="period the interval half-widths are for")
]


def register(app: typer.Typer, friendly: Callable[[Any], Any]) -> None:
    plans = typer.Typer(help="Sampling plans: the one in force, a forecast of a file, apply it.")
    app.add_typer(plans, name="plan")

    @plans.command("show")
    @friendly
    def show(
        plan_id: Annotated[
            str | None, typer.Argument(help="a stored plan (default: the one in force)")
        ] = None,
        version: Annotated[int | None, typer.Option(min=1, help="that plan's version")] = None,
        as_json: Json = False,
    ) -> None:
        """The plan in force; a stored plan's versions; or one version's document."""
        with session.client() as client:
            if plan_id is None:
                current = client.call(api.current_plan())
                coming = [
                    r
                    for r in client.call(api.plan_revisions())
                    if r.effective_from and r.effective_from > dt.datetime.now(dt.UTC)
                ]
                stored = client.call(api.plans())
                if as_json:
                    emit_json({"current": current, "coming": coming, "plans": stored})
                    return
                since = (
                    f"since {when(current.effective_from)}"
                    if current.effective_from
                    else "(the service settings' default: no plan applied yet)"
                )
                console.print(
                    f"In force: [bold]{current.plan_id}[/] version {current.version} "
                    f"(base rate {current.rate:g}) {since}"
                )
                for revision in sorted(coming, key=lambda r: r.seq):
                    console.print(
                        f"Coming: [bold]{revision.plan_id}[/] version {revision.version} "
                        f"from {when(revision.effective_from)}"
                    )
                _document(current.document)
                section(
                    "Stored plans",
                    ["plan", "latest version", "updated"],
                    [[p.plan_id, p.latest_version, when(p.updated_at)] for p in stored],
                )
            elif version is None:
                versions = client.call(api.plan_versions(plan_id))
                if as_json:
                    emit_json(versions)
                    return
                table(
                    f"Versions of {plan_id}",
                    ["version", "by", "at"],
                    [[v.version, v.created_by, when(v.created_at)] for v in versions],
                )
            else:
                found = client.call(api.plan_version(plan_id, version))
                if as_json:
                    emit_json(found)
                    return
                console.print(
                    f"[bold]{found.plan_id}[/] version {found.version} by {found.created_by}, "
                    f"{when(found.created_at)}"
                )
                _document(found.document)

    @plans.command("diff")
    @friendly
    def diff(
        file: PlanFile,
        plan_id: PlanId = None,
        days: Days = 7,
        horizon_days: Horizon = 28,
        as_json: Json = False,
    ) -> None:
        """What would change: the plan's fields and the forecast, in force against the file."""
        with session.client() as client:
            forecast = client.call(_dry_run(file, plan_id, days, horizon_days))
        if as_json:
            emit_json(forecast)
        else:
            show_forecast(forecast)

    @plans.command("apply")
    @friendly
    def apply(
        file: PlanFile,
        plan_id: PlanId = None,
        yes: Annotated[
            bool, typer.Option("--yes", "-y", help="do not ask for confirmation")
        ] = False,
        days: Days = 7,
        horizon_days: Horizon = 28,
        as_json: Json = False,
    ) -> None:
        """Show the forecast, then store the file as the plan's next version and put it in force."""
        name = plan_id or plan_id_of(file)
        raw, yaml = _read(file)
        with session.client() as client:
            forecast = client.call(_dry_run(file, name, days, horizon_days))
            if not as_json:
                show_forecast(forecast)
            if not yes and not typer.confirm(f"Apply {file.name} as plan {name}?", default=False):
                console.print("Nothing changed.")
                raise typer.Exit(1)
            stored = client.call(api.store_plan(raw, yaml=yaml, plan_id=name))
            applied = client.call(api.apply_plan(stored.plan_id, stored.version))
        if as_json:
            emit_json({"stored": stored, "applied": applied, "forecast": forecast})
            return
        novelty = "stored as" if stored.created else "unchanged, already"
        console.print(
            f"{file.name}: {novelty} {stored.plan_id} version {stored.version}; in force from "
            f"{when(applied.effective_from)}."
        )


def plan_id_of(file: Path) -> str:
    """A plan id from a file name: `KR plan.yaml` -> `kr-plan`."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", file.stem.lower()).strip("-._")
    return slug[:64] or "plan"


def _read(file: Path) -> tuple[bytes, bool]:
    return file.read_bytes(), file.suffix.lower() in (".yaml", ".yml")


def _dry_run(file: Path, plan_id: str | None, days: int, horizon_days: int) -> Any:
    raw, yaml = _read(file)
    return api.dry_run(
        raw, yaml=yaml, plan_id=plan_id or plan_id_of(file), days=days, horizon_days=horizon_days
    )


def _document(document: dict[str, Any]) -> None:
    console.print_json(json.dumps(document, default=str))


UNCOMPARED = frozenset({"plan_id", "description"})
"""Names, not sampling: the table's title says which plans are compared."""


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """`{"risk": {"severity": {"critical": 0.5}}}` -> `{"risk.severity.critical": 0.5}`;
    empty sections and unset fields are left out (they sample nothing)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {} if value is None else {prefix: value}


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The fields that differ between two plan documents (lists compared whole)."""
    old, new = (
        {k: v for k, v in flatten(doc).items() if k not in UNCOMPARED} for doc in (before, after)
    )
    return [
        (key, old.get(key), new.get(key))
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _cell(value: Any) -> str:
    return "-" if value is None else json.dumps(value, default=str)


def _half(value: float | None) -> str:
    return "-" if value is None else f"±{value:.1%}"


def show_forecast(forecast: DryRun) -> None:
    """The fields that change, then the expected tasks and interval widths per stratum."""
    current, proposed = forecast.current, forecast.proposed
    delta = changes(current.document, proposed.document)
    table(
        f"Plan {current.plan_id} v{current.version} (in force) -> {proposed.plan_id} (proposed)",
        ["field", "in force", "proposed"],
        [[key, _cell(old), _cell(new)] for key, old, new in delta]
        or [["(no field changes)", "", ""]],
    )
    console.print(
        f"Forecast on {forecast.days} day(s) of traffic ({forecast.decisions_per_day:,.0f} "
        f"decisions/day): [bold]{forecast.current_tasks_per_day:,.1f}[/] tasks/day in force -> "
        f"[bold]{forecast.proposed_tasks_per_day:,.1f}[/] proposed; interval half-widths over "
        f"{forecast.horizon_days} days."
    )
    section(
        "Strata",
        ["stratum", "decisions/day", "error rate", "tasks/day", "95% half-width"],
        [
            [
                s.stratum,
                f"{s.decisions_per_day:,.1f}",
                f"{s.error_rate:.1%} ({s.error_rate_source})"
                if s.error_rate_source
                else f"{s.error_rate:.1%}",
                f"{s.current_tasks_per_day:,.1f} -> {s.proposed_tasks_per_day:,.1f}",
                f"{_half(s.current_half_width)} -> {_half(s.proposed_half_width)}",
            ]
            for s in forecast.strata
        ],
    )
    if forecast.pools:
        table(
            "Pools",
            ["pool", "daily budget", "tasks/day"],
            [
                [
                    p.pool,
                    "-" if p.daily_budget is None else p.daily_budget,
                    f"{p.current_tasks_per_day:,.1f} -> {p.proposed_tasks_per_day:,.1f}",
                ]
                for p in forecast.pools
            ],
        )
