"""API keys are stored hashed and checked in constant time; expired and unknown keys fail."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from shared import apikeys

NOW = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


def entry(key: str, key_id: str, *, expires: dt.datetime | None = None) -> apikeys.StoredKey:
    return apikeys.StoredKey(
        key_id=key_id,
        subject="moderation-tool",
        roles=("system",),
        sha256=apikeys.digest(key),
        expires_at=expires,
    )


def test_a_key_file_never_holds_the_key(tmp_path: Path) -> None:
    key_id, key = apikeys.new_key()
    path = tmp_path / "keys.json"
    apikeys.append(path, entry(key, key_id))
    text = path.read_text()
    assert key not in text and key.split("_", 2)[2] not in text
    assert json.loads(text)[0]["sha256"] == apikeys.digest(key)
    assert path.stat().st_mode & 0o777 == 0o600
    assert apikeys.check(apikeys.load(path), key, now=NOW).subject == "moderation-tool"


def test_unknown_tampered_and_expired_keys_are_refused() -> None:
    key_id, key = apikeys.new_key()
    stored = {key_id: entry(key, key_id, expires=NOW + dt.timedelta(days=1))}
    with pytest.raises(ValueError, match="unknown"):
        apikeys.check(stored, key[:-1] + ("A" if key[-1] != "A" else "B"), now=NOW)
    with pytest.raises(ValueError, match="unknown"):
        apikeys.check(stored, "mqk_nope_secret", now=NOW)
    with pytest.raises(ValueError, match="expired"):
        apikeys.check(stored, key, now=NOW + dt.timedelta(days=2))
    assert not apikeys.is_api_key("eyJhbGciOi.x.y")
