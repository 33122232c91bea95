"""Profiles: where the services are and the token to use, kept in a 0600 file."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_URLS = {
    "sampler": "http://127.0.0.1:8001",
    "audit": "http://127.0.0.1:8002",
    "escalation": "http://127.0.0.1:8003",
    "metrics": "http://127.0.0.1:8004",
}


def config_dir() -> Path:
    """`$MODQA_CONFIG_DIR`, else `$XDG_CONFIG_HOME/modqa`, else `~/.config/modqa`."""
    explicit = os.environ.get("MODQA_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "modqa"


@dataclass
class Profile:
    urls: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_URLS))
    token: str | None = None


@dataclass
class Config:
    current: str = "default"
    profiles: dict[str, Profile] = field(default_factory=lambda: {"default": Profile()})

    def profile(self, name: str | None = None) -> Profile:
        """The named (or current) profile; an unknown name gives a fresh one."""
        return self.profiles.setdefault(name or self.current, Profile())


def path() -> Path:
    return config_dir() / "profiles.json"


def load() -> Config:
    """The saved configuration, or the defaults."""
    try:
        raw = json.loads(path().read_text())
    except FileNotFoundError:
        return Config()
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read {path()}: {error}", "fix or remove the file") from error
    if not isinstance(raw, dict) or not isinstance(raw.get("profiles", {}), dict):
        raise ConfigError(f"{path()} is not a modqa profiles file", "fix or remove the file")
    profiles = {
        name: Profile(urls={**DEFAULT_URLS, **p.get("urls", {})}, token=p.get("token"))
        for name, p in raw.get("profiles", {}).items()
    }
    return Config(
        current=raw.get("current", "default"), profiles=profiles or {"default": Profile()}
    )


def save(config: Config) -> Path:
    """Write the configuration readable by its owner only (it holds tokens)."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = target.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(
            {
                "current": config.current,
                "profiles": {n: asdict(p) for n, p in config.profiles.items()},
            },
            handle,
            indent=2,
        )
    os.chmod(temporary, 0o600)
    temporary.replace(target)
    return target


class ConfigError(Exception):
    """The profile lacks what the command needs (e.g. a token), or the file is unreadable;
    `hint` says what to do."""

    def __init__(self, message: str, hint: str | None = "run `modqa login`") -> None:
        super().__init__(message)
        self.hint = hint
