"""Generated files are checked in and current: regenerating them changes nothing."""

from __future__ import annotations

from tools.dashboards.__main__ import OUT, rendered


def test_dashboards_json_matches_its_generator() -> None:
    for name, text in rendered().items():
        path = OUT / name
        assert path.exists(), f"{name} missing: run `make dashboards`"
        assert path.read_text() == text, f"{name} is stale: run `make dashboards`"
