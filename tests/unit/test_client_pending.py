"""Verdicts the audit service could not take are kept in a 0600 file and sent later with the
key they were first sent with; only the service's final word takes one out of the file."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from modqa_client import ModqaClient, pending
from modqa_client.transport import ModqaError, RetryPolicy, ServiceUnavailable

FAST = RetryPolicy(attempts=2, base_delay_s=0.001, max_delay_s=0.001)


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MODQA_CONFIG_DIR", str(tmp_path))
    return tmp_path


def a_verdict(task_id: str, key: str) -> dict[str, object]:
    return {
        "verdict_id": f"v-{key}",
        "task_id": task_id,
        "auditor_id": "ana",
        "outcome": "correct",
        "submitted_at": "2026-11-20T12:00:00Z",
    }


def test_a_kept_verdict_is_readable_by_its_owner_only() -> None:
    path = pending.keep("ana", "t-1", "k-1", {"outcome": "correct"}, "audit unreachable")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [(p.task_id, p.key) for p in pending.load("ana")] == [("t-1", "k-1")]
    assert pending.load("bo") == []


def test_flush_sends_in_order_with_the_first_key_and_stops_while_the_service_is_away() -> None:
    for n in (1, 2, 3):
        pending.keep("ana", f"t-{n}", f"k-{n}", {"outcome": "correct"}, "away")
    sent: list[str] = []

    def send(item: pending.PendingVerdict) -> object:
        if item.task_id == "t-2":
            raise ServiceUnavailable(0, "cannot reach audit", service="audit")
        sent.append(item.key)
        return a_verdict(item.task_id, item.key)

    result = pending.flush("ana", send)  # type: ignore[arg-type]
    assert sent == ["k-1"]
    assert result.waiting == 2 and "cannot reach audit" in (result.error or "")
    assert [p.task_id for p in pending.load("ana")] == ["t-2", "t-3"]


@pytest.mark.parametrize(
    ("status", "final"), [(409, True), (422, True), (401, False), (503, False)]
)
def test_only_the_services_last_word_on_a_verdict_removes_it(status: int, final: bool) -> None:
    pending.keep("ana", "t-1", "k-1", {"outcome": "correct"}, "away")

    def send(item: pending.PendingVerdict) -> object:
        raise ModqaError(status, "no", service="audit")

    result = pending.flush("ana", send)  # type: ignore[arg-type]
    assert (len(result.refused), result.waiting) == ((1, 0) if final else (0, 1))
    assert len(pending.load("ana")) == (0 if final else 1)


def test_submit_keeps_the_verdict_when_the_service_stays_away_and_sends_it_later() -> None:
    up = {"now": False}
    keys: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if not up["now"]:
            raise httpx.ConnectError("refused")
        keys.append(request.headers.get("Idempotency-Key"))
        return httpx.Response(200, json=a_verdict("t-1", "x"))

    with ModqaClient("t", retry=FAST, transport=httpx.MockTransport(handler)) as client:
        kept = pending.submit(client, "ana", "t-1", {"outcome": "correct"}, "k-7")
        assert isinstance(kept, pending.Kept)
        up["now"] = True
        result = pending.send_pending(client, "ana")
    assert len(result.sent) == 1 and result.waiting == 0
    assert keys == ["k-7"]
    assert pending.load("ana") == []
