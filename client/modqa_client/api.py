"""The calls of the modqa HTTP APIs, as data: which service, which path, how to read the answer."""

from __future__ import annotations

from typing import Any

import httpx

from modqa_client.transport import Call


def _json(response: httpx.Response) -> Any:
    return response.json()


def _text(response: httpx.Response) -> str:
    return response.text


def _optional_json(response: httpx.Response) -> Any:
    return None if response.status_code == 204 else response.json()


def ingest_decisions(decisions: list[dict[str, Any]], key: str | None = None) -> Call[Any]:
    """Send up to 1,000 decisions; the answer lists the refused ones (HTTP 422 when any)."""
    return Call(
        "POST",
        "sampler",
        "/v1/decisions",
        _json,
        json={"decisions": decisions},
        write=True,
        idempotency_key=key,
        answers=frozenset({422}),
    )


def quality(**params: Any) -> Call[Any]:
    """Accuracy and error rates per group, with intervals."""
    return Call("GET", "metrics", "/v1/quality", _json, params=_clean(params))


def report(kind: str, fmt: str = "json", **params: Any) -> Call[Any]:
    """A daily, weekly or DSA report as JSON, CSV or Markdown."""
    parse = _json if fmt == "json" else _text
    return Call(
        "GET", "metrics", f"/v1/reports/{kind}", parse, params=_clean({**params, "format": fmt})
    )


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}
