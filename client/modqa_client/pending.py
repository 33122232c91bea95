"""Verdicts not yet recorded: kept in a local file (0600) while the audit service is away, and
sent, with the idempotency key they were first sent with, before the next claim.

A verdict leaves the file only when the service recorded it (or refused it for good, which is
then said and kept in `refused`): nothing an auditor judged is ever dropped silently.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modqa_client import api, config
from modqa_client.models import Verdict
from modqa_client.sdk import ModqaClient
from modqa_client.transport import ModqaError, ServiceUnavailable


def is_final(error: ModqaError) -> bool:
    """A 404, 409 or 422 is the service's last word on a verdict; an unreachable service, a
    token or role problem or a server error says nothing about it (it stays pending)."""
    if isinstance(error, ServiceUnavailable):
        return False
    return error.status not in (401, 403, 408, 429) and error.status < 500


@dataclass(frozen=True)
class PendingVerdict:
    task_id: str
    key: str
    verdict: dict[str, Any]
    saved_at: str
    reason: str = ""


@dataclass
class Flushed:
    """What sending the pending verdicts did."""

    sent: list[Verdict] = field(default_factory=list)
    refused: list[tuple[PendingVerdict, str]] = field(default_factory=list)
    waiting: int = 0
    error: str | None = None


def path(profile: str) -> Path:
    return config.config_dir() / "pending" / f"{profile}.json"


def load(profile: str) -> list[PendingVerdict]:
    """The verdicts waiting to be sent for a profile."""
    try:
        raw = json.loads(path(profile).read_text())
    except FileNotFoundError:
        return []
    return [PendingVerdict(**item) for item in raw.get("pending", [])]


def _write(profile: str, pending: list[PendingVerdict], refused: list[dict[str, Any]]) -> None:
    target = path(profile)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = target.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"pending": [asdict(p) for p in pending], "refused": refused}, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(target)


def _refused(profile: str) -> list[dict[str, Any]]:
    try:
        return list(json.loads(path(profile).read_text()).get("refused", []))
    except FileNotFoundError:
        return []


def keep(profile: str, task_id: str, key: str, verdict: dict[str, Any], reason: str) -> Path:
    """Save a verdict the service could not take now (the same key is used when it is sent)."""
    pending = [p for p in load(profile) if p.key != key]
    saved_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    pending.append(PendingVerdict(task_id, key, verdict, saved_at, reason))
    _write(profile, pending, _refused(profile))
    return path(profile)


def flush(profile: str, send: Callable[[PendingVerdict], Verdict]) -> Flushed:
    """Send every pending verdict in the order they were saved; stop at the first one the
    service cannot take now (it stays, with those after it)."""
    pending = load(profile)
    result = Flushed()
    refused = _refused(profile)
    remaining = list(pending)
    for item in pending:
        try:
            result.sent.append(send(item))
        except ModqaError as error:
            if not is_final(error):
                result.error = str(error)
                break
            result.refused.append((item, error.message))
            refused.append({**asdict(item), "refused": error.message})
        remaining.remove(item)
    result.waiting = len(remaining)
    if result.sent or result.refused:
        _write(profile, remaining, refused)
    return result


@dataclass(frozen=True)
class Kept:
    """A verdict saved locally because the service could not take it now."""

    path: Path
    reason: str


def submit(
    client: ModqaClient, profile: str, task_id: str, verdict: dict[str, Any], key: str
) -> Verdict | Kept:
    """Send a verdict (the SDK retries with the same key); if the service stays away, keep it
    for later. A refusal of the verdict itself (404, 409, 422) is raised."""
    try:
        return client.call(api.submit_verdict(task_id, verdict, key))
    except ModqaError as error:
        if is_final(error):
            raise
        return Kept(keep(profile, task_id, key, verdict, str(error)), str(error))


def send_pending(client: ModqaClient, profile: str) -> Flushed:
    """Send the profile's pending verdicts, each with its own idempotency key."""
    return flush(
        profile, lambda item: client.call(api.submit_verdict(item.task_id, item.verdict, item.key))
    )
