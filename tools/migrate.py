"""`python -m tools.migrate [--revision SERVICE MSG]`: upgrade all schemas, or add a revision."""

from __future__ import annotations

import argparse

from alembic import command

from shared.db.migrations import alembic_config, upgrade_all
from shared.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--revision",
        nargs=2,
        metavar=("SERVICE", "MESSAGE"),
        help="autogenerate a new revision for one service instead of upgrading",
    )
    args = parser.parse_args()
    url = Settings().database_url
    if args.revision:
        service, message = args.revision
        command.revision(alembic_config(service, url), message=message, autogenerate=True)
        return
    upgrade_all(url)
    print("migrations applied")


if __name__ == "__main__":
    main()
