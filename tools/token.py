"""`python -m tools.token --subject NAME --role ROLE [--role ROLE]`: mint a development token."""

from __future__ import annotations

import argparse
import datetime as dt

from shared.auth import Role, issue_token
from shared.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subject", default=None, help="who the token is for (default: the role)")
    parser.add_argument("--role", action="append", choices=[r.value for r in Role], required=True)
    parser.add_argument("--hours", type=float, default=12)
    args = parser.parse_args()
    settings = Settings()
    print(
        issue_token(
            settings.auth_secret,
            subject=args.subject or args.role[0],
            roles=[Role(r) for r in args.role],
            ttl=dt.timedelta(hours=args.hours),
        )
    )


if __name__ == "__main__":
    main()
