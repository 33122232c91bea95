"""`python -m tools.export_schemas [--check]`: write (or verify) the events' JSON Schemas."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shared.events import EVENT_TYPES

SCHEMAS_DIR = Path(__file__).resolve().parents[1] / "docs" / "schemas"


def rendered() -> dict[str, str]:
    """File name to JSON text for every event type (named after its `schema` tag)."""
    out = {}
    for model in EVENT_TYPES:
        tag = model.model_fields["schema_"].default
        schema = model.model_json_schema(by_alias=True, mode="serialization")
        schema["$id"] = f"https://modqa.dev/schemas/{tag}.json"
        out[f"{tag}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the files are out of date")
    args = parser.parse_args()
    SCHEMAS_DIR.mkdir(parents=True, exist_ok=True)
    stale = []
    for name, text in rendered().items():
        path = SCHEMAS_DIR / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"out of date: {', '.join(stale)}; run `make schemas`", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
