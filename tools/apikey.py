"""`python -m tools.apikey --subject NAME --role ROLE [--days N] [--file PATH]`: create an API key.

The key is printed once; only its SHA-256 goes into the key file the services read
(`MODQA_API_KEYS_FILE`).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from shared import apikeys
from shared.auth import Role
from shared.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subject", required=True, help="who uses the key, e.g. moderation-tool")
    parser.add_argument("--role", action="append", choices=[r.value for r in Role], required=True)
    parser.add_argument("--days", type=int, default=365, help="validity (0: no expiry)")
    parser.add_argument("--file", default=None, help="key file (default: MODQA_API_KEYS_FILE)")
    args = parser.parse_args()
    target = args.file or Settings().api_keys_file
    if not target:
        parser.error("give --file or set MODQA_API_KEYS_FILE")
    key_id, key = apikeys.new_key()
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=args.days) if args.days else None
    apikeys.append(
        Path(target),
        apikeys.StoredKey(
            key_id=key_id,
            subject=args.subject,
            roles=tuple(args.role),
            sha256=apikeys.digest(key),
            expires_at=expires,
        ),
    )
    print(key)


if __name__ == "__main__":
    main()
