"""API keys for moderation systems and ops automation, stored hashed.

A key reads `mqk_<key id>_<secret>`. The key file (`MODQA_API_KEYS_FILE`, JSON) holds for each
key id its subject, roles, expiry and the SHA-256 of the whole key, never the key itself: a
leaked file does not let anyone call the services. Keys are shown once, when created
(`python -m tools.apikey`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

PREFIX = "mqk_"


@dataclass(frozen=True)
class StoredKey:
    key_id: str
    subject: str
    roles: tuple[str, ...]
    sha256: str
    expires_at: dt.datetime | None


def is_api_key(token: str) -> bool:
    """True for a string shaped like an API key (rather than a signed token)."""
    return token.startswith(PREFIX)


def digest(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh (key id, key)."""
    key_id = secrets.token_hex(6)
    return key_id, f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def key_id_of(key: str) -> str | None:
    """The key id part of a key, if the key is well formed."""
    parts = key[len(PREFIX) :].split("_", 1) if is_api_key(key) else []
    return parts[0] if len(parts) == 2 and parts[0] else None


def load(path: Path) -> dict[str, StoredKey]:
    """The stored keys of a key file (empty when the file does not exist)."""
    if not path.exists():
        return {}
    entries = json.loads(path.read_text() or "[]")
    return {
        entry["key_id"]: StoredKey(
            key_id=entry["key_id"],
            subject=entry["subject"],
            roles=tuple(entry["roles"]),
            sha256=entry["sha256"],
            expires_at=dt.datetime.fromisoformat(entry["expires_at"])
            if entry.get("expires_at")
            else None,
        )
        for entry in entries
    }


def check(stored: dict[str, StoredKey], key: str, *, now: dt.datetime) -> StoredKey:
    """The stored key a presented key matches; raises ValueError saying why not."""
    key_id = key_id_of(key)
    entry = stored.get(key_id or "")
    if entry is None or not hmac.compare_digest(entry.sha256, digest(key)):
        raise ValueError("unknown API key")
    if entry.expires_at is not None and entry.expires_at <= now:
        raise ValueError("API key expired; ask for a new one")
    return entry


def append(path: Path, entry: StoredKey) -> None:
    """Add a key's stored form to a key file (created readable by its owner only)."""
    entries = json.loads(path.read_text() or "[]") if path.exists() else []
    entries.append(
        {
            "key_id": entry.key_id,
            "subject": entry.subject,
            "roles": list(entry.roles),
            "sha256": entry.sha256,
            "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entries, indent=2) + "\n")
    path.chmod(0o600)
