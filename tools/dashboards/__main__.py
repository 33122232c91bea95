"""`python -m tools.dashboards [--check]`: write (or verify) the Grafana dashboards' JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from grafanalib._gen import DashboardEncoder

from tools.dashboards.definitions import all_dashboards

OUT = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"


def rendered() -> dict[str, str]:
    """File name to the dashboard's JSON text, stable across runs."""
    return {
        name: json.dumps(board.to_json_data(), cls=DashboardEncoder, indent=2, sort_keys=True)
        + "\n"
        for name, board in all_dashboards().items()
    }


def panel_queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query of every panel of a dashboard's JSON."""
    return [
        (panel["title"], target["expr"])
        for panel in board.get("panels", [])
        for target in panel.get("targets", [])
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    stale = []
    for name, text in rendered().items():
        path = OUT / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"stale dashboards: {', '.join(stale)}; run `make dashboards`", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
