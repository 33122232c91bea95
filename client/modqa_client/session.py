"""The SDK client of the active profile, for CLI commands."""

from __future__ import annotations

from modqa_client import config
from modqa_client.sdk import ModqaClient, ServiceUrls

_state: dict[str, str | None] = {"profile": None}


def use_profile(name: str | None) -> None:
    _state["profile"] = name


def profile_name() -> str:
    """The profile this command uses (`--profile`, else the current one)."""
    return _state["profile"] or config.load().current


def client(*, token_required: bool = True) -> ModqaClient:
    """A client for the active profile (`--profile`, else the current one)."""
    profile = config.load().profile(_state["profile"])
    if token_required and not profile.token:
        raise config.ConfigError(f"no token in profile '{profile_name()}'")
    return ModqaClient(profile.token, ServiceUrls(**profile.urls))
